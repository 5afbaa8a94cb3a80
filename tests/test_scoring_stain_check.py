from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
import pytest
from PIL import Image

from scoring.optical_density import rgb_from_density
from scoring.stain_check import (
    MAX_EOSIN_SHARE,
    MIN_BRIGHTFIELD_LUMINANCE,
    StainReading,
    read_stain,
    stain_shares,
)
from scoring.tissue_mask import TissueMask


def _pixel_of(stain_od: tuple[float, float, float]) -> np.ndarray:
    """The RGB pixel whose optical density is the given (R, G, B) vector."""
    return rgb_from_density(np.asarray(stain_od)).reshape(1, 3)


@pytest.mark.parametrize(("vector", "index"), [
    ((0.65, 0.70, 0.29), 0), ((0.07, 0.99, 0.11), 1), ((0.27, 0.57, 0.78), 2)])
def test_a_pure_stain_is_all_of_its_own_kind(vector: tuple[float, float, float],
                                             index: int) -> None:
    shares = stain_shares(_pixel_of(vector))
    assert shares is not None
    assert [shares.haematoxylin, shares.eosin, shares.dab][index] > 0.97


def test_glass_alone_has_no_stain() -> None:
    assert stain_shares(np.full((4, 4, 3), 250, np.uint8)) is None


def test_synthetic_ihc_tiles_look_like_ihc(tmp_path: Path) -> None:
    from synth.tiles import write_tiles

    write_tiles(tmp_path, count=2, size=256, seed=0)
    for png in sorted((tmp_path / "images").glob("*.png")):
        shares = stain_shares(np.asarray(Image.open(png).convert("RGB")))
        assert shares is not None and shares.looks_like_ihc, (png.name, shares)


def test_real_ihc_looks_like_ihc_and_real_he_does_not(shared_data: Path) -> None:
    for png in sorted((shared_data / "bcdata-sample" / "images" / "test").glob("*.png"))[:6]:
        shares = stain_shares(np.asarray(Image.open(png).convert("RGB")))
        assert shares is not None and shares.looks_like_ihc, (png.name, shares)
    slide = openslide.OpenSlide(shared_data / "slides" / "CMU-1-Small-Region.svs")
    he = stain_shares(np.asarray(slide.get_thumbnail((800, 800)).convert("RGB")))
    assert he is not None and he.eosin > MAX_EOSIN_SHARE and not he.looks_like_ihc


def _reading(rgb: np.ndarray, tissue: np.ndarray | None = None) -> StainReading:
    mask = np.ones(rgb.shape[:2], bool) if tissue is None else tissue
    return read_stain(TissueMask(mask=mask, downsample=1.0, thumbnail=rgb))


def _nuclei(background: tuple[int, int, int], nucleus: tuple[int, int, int]) -> np.ndarray:
    image = np.full((120, 120, 3), background, np.uint8)
    for y in range(6, 120, 15):
        for x in range(6, 120, 15):
            image[y:y + 6, x:x + 6] = nucleus
    return image


def test_blue_nuclei_on_black_are_refused_as_fluorescence() -> None:
    reading = _reading(_nuclei((0, 0, 0), (30, 60, 220)))
    assert reading.background_luminance < MIN_BRIGHTFIELD_LUMINANCE
    problem = reading.problem()
    assert problem is not None and "fluorescence" in problem


def test_ihc_nuclei_on_glass_pass_and_read_as_ihc() -> None:
    brown = tuple(_pixel_of((0.27, 0.57, 0.78))[0].tolist())
    blue = tuple(_pixel_of((0.65, 0.70, 0.29))[0].tolist())
    glass = (240, 240, 238)
    image = np.concatenate([_nuclei(glass, brown), _nuclei(glass, blue)])  # (240, 120, 3)
    reading = _reading(image, tissue=(image != glass).any(axis=2))
    assert reading.problem() is None and reading.stain == "ihc"
    assert reading.shares is not None and 0.4 < reading.shares.dab < 0.6
    assert reading.report()["modality"] == "brightfield"


def test_a_greyscale_scan_is_refused_for_having_no_colour(shared_data: Path) -> None:
    png = min((shared_data / "bcdata-sample" / "images" / "test").glob("*.png"))
    colour = np.asarray(Image.open(png).convert("RGB"))
    grey = np.asarray(Image.open(png).convert("L").convert("RGB"))
    assert _reading(colour).problem() is None
    problem = _reading(grey).problem()
    assert problem is not None and "no colour" in problem
