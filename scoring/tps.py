"""The TPS arithmetic, in one place: counts in, score, interval, category and flags out.

Counts are summed over the whole slide (or fragment) first and divided once; per-tile
percentages are never averaged, because tiles hold very different numbers of tumour cells.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

# Cutoffs are the lower bounds (in %) of each category above the first. They differ by assay
# and by the drug the assay is a companion to, so they are configurable; these are defaults.
# - 22C3 (pembrolizumab, NSCLC): <1 %, 1-49 %, >=50 % (FDA companion diagnostic).
# - 28-8 (nivolumab): 1 % is the cutoff used in labelling (CheckMate 227); trials also reported
#   5 % and 10 %. 1/50 is kept so that results compare with 22C3, as the issue asks.
# - SP263 (durvalumab): tumour-cell staining >=25 % was the trial cutoff (ATLANTIC); SP263 is
#   also CE-marked against the 1/50 pembrolizumab categories. Pass cutoffs=(1, 50) for that use.
# SP142 is scored on tumour and immune cells (TC/IC), not TPS, so it is deliberately absent.
ASSAY_CUTOFFS: dict[str, tuple[float, ...]] = {
    "22C3": (1.0, 50.0),
    "28-8": (1.0, 50.0),
    "SP263": (25.0,),
}
DEFAULT_ASSAY = "22C3"

# Guidelines for 22C3 ask for at least 100 viable tumour cells before a TPS is reported.
MIN_VIABLE_TUMOR_CELLS = 100

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


@dataclass(frozen=True)
class TpsScore:
    tumor_pos: int
    tumor_neg: int
    tps: float | None  # percent; None when there are no tumour cells (undefined, not 0)
    # Wilson 95 % interval, percent, widened by the model's measured error margin (see
    # score_counts) when the model states one
    ci95: tuple[float, float] | None
    category: str | None
    near_cutoff: bool  # the interval straddles a cutoff, so the category is uncertain
    inadequate: bool  # fewer than MIN_VIABLE_TUMOR_CELLS tumour cells

    @property
    def tumor_cells(self) -> int:
        return self.tumor_pos + self.tumor_neg


def cutoffs_for_assay(assay: str) -> tuple[float, ...]:
    try:
        return ASSAY_CUTOFFS[assay]
    except KeyError:
        known = ", ".join(sorted(ASSAY_CUTOFFS))
        raise ValueError(f"unknown assay {assay!r}; known: {known}; or give cutoffs") from None


def check_cutoffs(cutoffs: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    values = tuple(float(c) for c in cutoffs)
    if not values or any(not 0.0 < c <= 100.0 for c in values):
        raise ValueError(f"cutoffs must be percentages in (0, 100], got {cutoffs}")
    if any(b <= a for a, b in pairwise(values)):
        raise ValueError(f"cutoffs must increase strictly, got {cutoffs}")
    return values


def resolve_cutoffs(assay: str, cutoffs: tuple[float, ...] | list[float] | None) -> tuple[float, ...]:
    """The cutoffs a score uses: explicit ones, else the assay's. The one check of both, made
    where a request enters (the API's job body, `tps score`'s arguments, ScoreParams)."""
    return check_cutoffs(cutoffs) if cutoffs else cutoffs_for_assay(assay)


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion, as fractions in [0, 1].

    Chosen over the normal (Wald) interval because it stays inside [0, 1] and keeps its
    coverage at 0 % and 100 %, which is exactly where PD-L1 scores pile up.
    """
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0: {successes}/{trials}")
    p = successes / trials
    z2_n = z * z / trials
    centre = (p + z2_n / 2.0) / (1.0 + z2_n)
    half = z / (1.0 + z2_n) * math.sqrt(p * (1.0 - p) / trials + z2_n / (4.0 * trials))
    # Clamp rounding noise (e.g. 1 - 1e-17) so 0/n and n/n give exact bounds.
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return lo, hi


def _fmt(value: float) -> str:
    return f"{value:g}"


def category_labels(cutoffs: tuple[float, ...]) -> list[str]:
    """Labels for the len(cutoffs) + 1 categories, e.g. <1%, 1-49%, >=50% for (1, 50)."""
    labels = [f"<{_fmt(cutoffs[0])}%"]
    for lo, hi in pairwise(cutoffs):
        # Whole-number cutoffs read the clinical way (1-49% means 1 <= TPS < 50).
        top = _fmt(hi - 1) if lo.is_integer() and hi.is_integer() else f"<{_fmt(hi)}"
        labels.append(f"{_fmt(lo)}-{top}%")
    labels.append(f">={_fmt(cutoffs[-1])}%")
    return labels


def category_of(tps: float, cutoffs: tuple[float, ...]) -> str:
    index = sum(1 for c in cutoffs if tps >= c)
    return category_labels(cutoffs)[index]


def crosses_cutoff(ci95: tuple[float, float], cutoffs: tuple[float, ...]) -> bool:
    """True when the two ends of the interval fall in different categories."""
    lo, hi = ci95
    return any(lo < c <= hi for c in cutoffs)


def interval_covers(margin: float) -> str:
    """What the interval of score_counts covers, in words for result.json."""
    if margin <= 0:
        return ("counting noise only (Wilson 95 %); the model's own errors are not in it: the "
                "model states no measured error margin")
    return (f"counting noise (Wilson 95 %) widened by {margin:g} points each way: the model's "
            "95th-percentile TPS error on its validation slides (see its model card); errors on "
            "tissue unlike those slides are not covered")


def score_counts(tumor_pos: int, tumor_neg: int, cutoffs: tuple[float, ...],
                 margin: float = 0.0) -> TpsScore:
    """`cutoffs` as resolve_cutoffs returned them. `margin` (TPS points, the model's
    `tps_margin`) widens the counting-noise interval by the model's measured error: with a
    thousand cells Wilson's interval is a few points wide, and a model that is 5 points off on
    some slides would otherwise be reported as sure of a wrong category."""
    if tumor_pos < 0 or tumor_neg < 0:
        raise ValueError(f"counts cannot be negative: {tumor_pos}, {tumor_neg}")
    n = tumor_pos + tumor_neg
    inadequate = n < MIN_VIABLE_TUMOR_CELLS
    if n == 0:
        return TpsScore(tumor_pos, tumor_neg, None, None, None, False, inadequate)
    tps = 100.0 * tumor_pos / n
    lo, hi = wilson_interval(tumor_pos, n)
    ci95 = (max(0.0, 100.0 * lo - margin), min(100.0, 100.0 * hi + margin))
    return TpsScore(tumor_pos, tumor_neg, tps, ci95, category_of(tps, cutoffs),
                    crosses_cutoff(ci95, cutoffs), inadequate)
