"""TPS arithmetic against hand-computed tables."""
from __future__ import annotations

import math

import pytest

from scoring.tps import (
    ASSAY_CUTOFFS,
    MIN_VIABLE_TUMOR_CELLS,
    category_labels,
    category_of,
    check_cutoffs,
    crosses_cutoff,
    cutoffs_for_assay,
    interval_covers,
    score_counts,
    wilson_interval,
)

# Wilson: with z = 1.959964, z^2 = 3.841459,
#   centre = (p + z^2/2n) / (1 + z^2/n),  half = z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2).
# 5/10:    z^2/n = 0.3841459; centre = (0.5 + 0.1920729)/1.3841459 = 0.5;
#          half = 1.959964/1.3841459 * sqrt(0.025 + 0.0096036) = 1.416008 * 0.186020 = 0.263406
#          -> (0.236594, 0.763406)
# 0/100:   centre = 0.0192073/1.0384146 = 0.018497; half = 1.887458 * sqrt(0.000096036)
#          = 1.887458 * 0.0097998 = 0.018497 -> (0, 0.036993)
# 100/100: mirror image of 0/100 -> (0.963007, 1)
# 1/1:     z^2/n = 3.841459; centre = (1 + 1.920729)/4.841459 = 0.603275;
#          half = 1.959964/4.841459 * sqrt(0 + 0.960365) = 0.404829 * 0.979982 = 0.396725
#          -> (0.206549, 1)
# 50/100:  z^2/n = 0.0384146; centre = 0.5; half = 1.887458 * sqrt(0.0025 + 0.00009604)
#          = 1.887458 * 0.0509513 = 0.096168 -> (0.403832, 0.596168)
WILSON_TABLE = [
    (5, 10, 0.236594, 0.763406),
    (0, 100, 0.0, 0.036993),
    (100, 100, 0.963007, 1.0),
    (1, 1, 0.206549, 1.0),
    (50, 100, 0.403832, 0.596168),
]


@pytest.mark.parametrize(("k", "n", "lo", "hi"), WILSON_TABLE)
def test_wilson_matches_hand_table(k: int, n: int, lo: float, hi: float) -> None:
    got_lo, got_hi = wilson_interval(k, n)
    assert got_lo == pytest.approx(lo, abs=2e-6)
    assert got_hi == pytest.approx(hi, abs=2e-6)


def test_wilson_bounds_are_exact_at_the_extremes() -> None:
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0


def test_wilson_is_symmetric_and_contains_the_estimate() -> None:
    for n in (1, 3, 10, 101, 5000):
        for k in range(0, n + 1, max(1, n // 7)):
            lo, hi = wilson_interval(k, n)
            mirror_lo, mirror_hi = wilson_interval(n - k, n)
            assert lo <= k / n <= hi
            assert lo == pytest.approx(1 - mirror_hi, abs=1e-12)
            assert hi == pytest.approx(1 - mirror_lo, abs=1e-12)


def test_wilson_rejects_impossible_counts() -> None:
    for k, n in [(0, 0), (3, 2), (-1, 5)]:
        with pytest.raises(ValueError):
            wilson_interval(k, n)


@pytest.mark.parametrize(
    ("tps", "expected"),
    [(0.0, "<1%"), (0.99, "<1%"), (1.0, "1-49%"), (49.99, "1-49%"), (50.0, ">=50%"),
     (100.0, ">=50%")],
)
def test_category_edges_22c3(tps: float, expected: str) -> None:
    assert category_of(tps, ASSAY_CUTOFFS["22C3"]) == expected


def test_category_edges_single_cutoff() -> None:
    cutoffs = cutoffs_for_assay("SP263")
    assert category_labels(cutoffs) == ["<25%", ">=25%"]
    assert category_of(24.99, cutoffs) == "<25%"
    assert category_of(25.0, cutoffs) == ">=25%"


def test_category_labels_for_fractional_cutoffs() -> None:
    assert category_labels((1.0, 5.0, 10.0)) == ["<1%", "1-4%", "5-9%", ">=10%"]
    assert category_labels((0.5, 50.0)) == ["<0.5%", "0.5-<50%", ">=50%"]


def test_bad_cutoffs_and_unknown_assay_are_refused() -> None:
    for bad in [(), (50.0, 1.0), (1.0, 1.0), (0.0,), (101.0,)]:
        with pytest.raises(ValueError):
            check_cutoffs(bad)
    with pytest.raises(ValueError, match="SP142"):
        cutoffs_for_assay("SP142")


def test_tps_is_null_not_zero_without_tumour_cells() -> None:
    score = score_counts(0, 0, (1.0, 50.0))
    assert score.tps is None and score.ci95 is None and score.category is None
    assert score.inadequate and not score.near_cutoff


def test_tps_divides_the_summed_counts() -> None:
    # 1 positive out of 3 and 99 out of 100: averaging tile percentages would give 66.2 %.
    score = score_counts(1 + 99, 2 + 1, (1.0, 50.0))
    assert score.tps == pytest.approx(100 * 100 / 103)
    assert score.category == ">=50%"


def test_category_from_exact_counts_at_the_edges() -> None:
    assert score_counts(99, 9901, (1.0, 50.0)).category == "<1%"  # 0.99 %
    assert score_counts(1, 99, (1.0, 50.0)).category == "1-49%"  # exactly 1 %
    assert score_counts(4999, 5001, (1.0, 50.0)).category == "1-49%"  # 49.99 %
    assert score_counts(50, 50, (1.0, 50.0)).category == ">=50%"  # exactly 50 %


def test_inadequate_below_one_hundred_tumour_cells() -> None:
    assert MIN_VIABLE_TUMOR_CELLS == 100
    assert score_counts(10, 89, (1.0, 50.0)).inadequate  # 99 cells
    assert not score_counts(10, 90, (1.0, 50.0)).inadequate  # 100 cells


def test_near_cutoff_when_the_interval_straddles_a_cutoff() -> None:
    # 5/10: 50 % with CI (23.7, 76.3) straddles 50.
    assert score_counts(5, 5, (1.0, 50.0)).near_cutoff
    # 500/10000 = 5 %: CI about (4.6, 5.4), far from 1 and 50.
    assert not score_counts(500, 9500, (1.0, 50.0)).near_cutoff
    # 0/100: CI (0, 3.7) straddles 1 %.
    assert score_counts(0, 100, (1.0, 50.0)).near_cutoff
    # 0/1000: CI (0, 0.38) stays below 1 %.
    assert not score_counts(0, 1000, (1.0, 50.0)).near_cutoff


def test_crosses_cutoff_edges() -> None:
    assert crosses_cutoff((0.5, 1.0), (1.0,))  # upper end lands in the next category
    assert not crosses_cutoff((1.0, 2.0), (1.0,))  # both ends in the same category
    assert not crosses_cutoff((0.1, 0.9), (1.0, 50.0))


def test_score_interval_is_in_percent_and_contains_tps() -> None:
    score = score_counts(5, 5, (1.0, 50.0))
    assert score.tps == 50.0
    assert score.ci95 is not None
    assert score.ci95[0] == pytest.approx(23.6594, abs=1e-3)
    assert score.ci95[1] == pytest.approx(76.3406, abs=1e-3)
    assert math.isclose(score.ci95[0] + score.ci95[1], 100.0)


def test_a_model_margin_widens_the_interval_by_its_points_and_stays_in_range() -> None:
    plain = score_counts(300, 700, (1.0, 50.0))
    wide = score_counts(300, 700, (1.0, 50.0), margin=4.0)
    assert wide.tps == plain.tps == 30.0
    assert wide.ci95 == pytest.approx((plain.ci95[0] - 4.0, plain.ci95[1] + 4.0))
    # clipped at 0 and 100, and a margin can make a category uncertain that counts alone did not
    assert score_counts(0, 1000, (1.0, 50.0), margin=3.0).ci95 == pytest.approx(
        (0.0, 100 * wilson_interval(0, 1000)[1] + 3.0))
    assert score_counts(1000, 0, (1.0, 50.0), margin=3.0).ci95[1] == 100.0
    assert score_counts(450, 550, (1.0, 50.0), margin=6.0).near_cutoff
    assert not score_counts(450, 550, (1.0, 50.0)).near_cutoff


def test_the_interval_says_what_it_covers() -> None:
    assert "counting noise only" in interval_covers(0.0)
    assert "widened by 4.5 points" in interval_covers(4.5)
