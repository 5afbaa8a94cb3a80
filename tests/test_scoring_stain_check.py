from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
import pytest
from PIL import Image

from scoring.optical_density import rgb_from_density
from scoring.stain_check import MAX_EOSIN_SHARE, stain_shares


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
