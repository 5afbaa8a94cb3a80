"""The model's TPS beside what the stain says about the same tumour cells.

For every tumour cell the model found, the stain rule (scoring/stain_rule.py) measured DAB in
its nucleus and on its membrane ring in the tile loop. Here the two calls are compared: the
share of those cells the stain calls positive, against the model's TPS. A wide gap, or the two
on opposite sides of a cutoff, tells a pathologist to look twice before trusting the number.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from scoring.stain_rule import StainRule
from scoring.tps import category_of

# Percentage points between the model's TPS and the stain's positive share beyond which the
# slide is flagged. The stain rule's own positive share is off by 2.7 points on DeepLIIF and
# 1.2 on BCData, its detection by far more per cell; 10 points is well outside that noise.
MARGIN_POINTS = 10.0


def cross_check(agreement: np.ndarray, model_tps: float | None,
                cutoffs: tuple[float, ...]) -> dict[str, Any]:
    """`agreement`: (2, 2) tumour cells by model call (row: pos, neg) and stain call (column:
    pos, neg). With no TPS (no tumour cells, or withheld) there is nothing to check."""
    (both_pos, model_only), (stain_only, both_neg) = agreement.tolist()
    total = both_pos + model_only + stain_only + both_neg
    share = 100.0 * (both_pos + stain_only) / total if total else None
    report: dict[str, Any] = {
        "stain_positive_share": share,
        "difference": None, "opposite_categories": False, "disagrees": False,
        "margin": MARGIN_POINTS,
        "cells": {"both_positive": both_pos, "model_only": model_only,
                  "stain_only": stain_only, "both_negative": both_neg},
        "rule": asdict(StainRule()),
    }
    if share is None or model_tps is None:
        return report
    opposite = category_of(model_tps, cutoffs) != category_of(share, cutoffs)
    difference = model_tps - share
    report.update(difference=difference, opposite_categories=opposite,
                  disagrees=abs(difference) > MARGIN_POINTS or opposite)
    return report
