"""The stain rule on drawn nuclei whose place and stain are known."""
from __future__ import annotations

import numpy as np
import pytest

from scoring.optical_density import UNIT_STAINS, rgb_from_density
from scoring.stain_rule import TUMOR_NEG, TUMOR_POS, StainRule, cell_dab, detect_by_stain

MPP = 0.5
GLASS = (245, 245, 243)


def _draw(nuclei: list[tuple[int, int, str]], size: int = 160) -> np.ndarray:
    """Discs of 3 um radius: 'H' haematoxylin alone, 'D' haematoxylin under strong DAB."""
    image = np.full((size, size, 3), GLASS, np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for x, y, stain in nuclei:
        density = 1.2 * UNIT_STAINS[0] + (2.2 * UNIT_STAINS[2] if stain == "D" else 0.0)
        image[(xx - x) ** 2 + (yy - y) ** 2 <= (3.0 / MPP) ** 2] = rgb_from_density(density)
    return image


def _found(image: np.ndarray, rule: StainRule | None = None) -> dict[tuple[int, int], int]:
    cells = detect_by_stain(image, MPP, rule or StainRule())
    return {(round(x), round(y)): int(c) for (x, y), c in zip(cells.xy, cells.cls)}


def test_each_nucleus_is_found_once_at_its_centre_with_its_sign() -> None:
    nuclei = [(30, 30, "H"), (80, 30, "D"), (130, 30, "H"), (30, 100, "D"), (100, 110, "D")]
    found = _found(_draw(nuclei))
    assert len(found) == len(nuclei)
    for x, y, stain in nuclei:
        (fx, fy), cls = min(found.items(), key=lambda f: abs(f[0][0] - x) + abs(f[0][1] - y))
        assert abs(fx - x) <= 1 and abs(fy - y) <= 1
        assert cls == (TUMOR_POS if stain == "D" else TUMOR_NEG)


def test_glass_and_faint_stain_give_no_cells() -> None:
    assert _found(np.full((80, 80, 3), GLASS, np.uint8)) == {}
    faint = _draw([(40, 40, "H")], size=80)
    assert _found(faint, StainRule(min_peak_od=5.0)) == {}  # above any density drawn


def test_the_rule_works_in_microns_whatever_the_pixel_size() -> None:
    image = _draw([(40, 40, "D"), (110, 100, "H")])
    half = image[::2, ::2]  # the same tissue at 1.0 um/px
    at_1um = detect_by_stain(half, 1.0)
    assert sorted(at_1um.cls.tolist()) == [TUMOR_POS, TUMOR_NEG]
    assert np.allclose(sorted(at_1um.xy[:, 0] * 2), [40, 110], atol=2)


def test_a_brown_membrane_makes_a_blue_nucleus_positive() -> None:
    """PD-L1 stains the membrane, not the nucleus: a ring of DAB 4-5 um out is positive."""
    size = 60
    image = np.full((size, size, 3), GLASS, np.uint8)
    yy, xx = np.mgrid[:size, :size]
    distance = np.hypot(xx - 30, yy - 30) * MPP  # um from the centre
    image[distance <= 3.0] = rgb_from_density(1.2 * UNIT_STAINS[0])
    ring = (distance >= 4.0) & (distance <= 5.0)
    rule = StainRule()
    bare = cell_dab(image, np.array([[30.0, 30.0]]), MPP, rule)
    image[ring] = rgb_from_density(3.0 * UNIT_STAINS[2])
    ringed = cell_dab(image, np.array([[30.0, 30.0]]), MPP, rule)
    assert bare.nucleus[0] < 0.05 and ringed.nucleus[0] < 0.05  # the nucleus stays blue
    assert bare.membrane[0] < 0.05 and ringed.membrane[0] == pytest.approx(3.0, abs=0.05)
    assert not bare.positive(rule)[0] and ringed.positive(rule)[0]
