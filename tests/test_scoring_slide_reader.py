from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from scoring.errors import MissingMppError, SlideError
from scoring.slide_reader import SlideReader
from tests.worker_slide_fixture import markers_image, write_pyramid_tiff


@pytest.fixture(scope="module")
def slide(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    image, _ = markers_image(640, 480, seed=1, tissue_box=(64, 64, 512, 400))
    path = write_pyramid_tiff(tmp_path_factory.mktemp("s") / "s.tiff", image, mpp=0.5)
    return path, image


def test_reads_size_mpp_vendor_and_hash(slide: tuple[Path, np.ndarray]) -> None:
    path, _ = slide
    with SlideReader(path) as reader:
        info = reader.info
        assert (info.width, info.height) == (640, 480)
        assert info.mpp == pytest.approx(0.5)
        assert info.vendor == "generic-tiff"
        assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert reader.level_downsamples[:2] == pytest.approx((1.0, 2.0))


def test_mpp_override_wins(slide: tuple[Path, np.ndarray]) -> None:
    with SlideReader(slide[0], mpp_override=0.25) as reader:
        assert reader.info.mpp == 0.25


def test_level0_pixels_are_exact_and_outside_is_glass(slide: tuple[Path, np.ndarray]) -> None:
    path, image = slide
    with SlideReader(path) as reader:
        np.testing.assert_array_equal(reader.read_rgb(0, 100, 50, 64, 32), image[50:82, 100:164])
        outside = reader.read_rgb(0, 620, 470, 40, 20)
        np.testing.assert_array_equal(outside[:10, :20], image[470:480, 620:640])
        assert (outside[10:] == 255).all() and (outside[:, 20:] == 255).all()


def test_best_level_is_coarsest_fine_enough(slide: tuple[Path, np.ndarray]) -> None:
    with SlideReader(slide[0]) as reader:
        assert reader.best_level(1.0) == 0
        assert reader.best_level(1.9) == 0
        assert reader.best_level(2.0) == 1
        assert reader.best_level(3.0) == 1
        assert reader.best_level(0.5) == 0


def test_no_mpp_and_no_override_says_so(tmp_path: Path) -> None:
    image, _ = markers_image(300, 300, seed=2, tissue_box=(0, 0, 300, 300))
    path = write_pyramid_tiff(tmp_path / "nompp.tiff", image, mpp=None)
    with pytest.raises(MissingMppError, match="--mpp"):
        SlideReader(path)
    with SlideReader(path, mpp_override=0.5) as reader:
        assert reader.info.mpp == 0.5


def test_non_slide_file_is_a_slide_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.svs"
    text.write_text("this is not a slide\n")
    with pytest.raises(SlideError, match="not a slide format"):
        SlideReader(text)
    with pytest.raises(SlideError, match="no such file"):
        SlideReader(tmp_path / "absent.svs")


def test_truncated_slide_is_a_slide_error(slide: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    data = slide[0].read_bytes()
    cut = tmp_path / "cut.tiff"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(SlideError), SlideReader(cut) as reader:
        reader.read_rgb(0, 0, 0, 640, 480)


def test_corrupt_header_is_a_slide_error(slide: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    data = bytearray(slide[0].read_bytes())
    data[4:8] = b"\xff\xff\xff\x7f"  # first IFD offset points past the end
    bad = tmp_path / "bad.tiff"
    bad.write_bytes(bytes(data))
    with pytest.raises(SlideError):
        SlideReader(bad)
