"""Cell recognition metrics of the paper (eq. 8): one-to-one matching within a radius.

A prediction and a ground-truth point match when Hungarian matching on distance pairs them and
they lie within the radius. Detection counts matches; a class true positive is a match whose
classes agree. Counts are summed over images before any division. numpy and scipy only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

DEFAULT_RADIUS_PX = 12.0  # at the model's resolution, as in the paper


def radius_in_image_px(image_mpp: float, model_mpp: float, radius_px: float = DEFAULT_RADIUS_PX,
                       radius_um: float | None = None) -> float:
    """The matching radius in the evaluated image's pixels; radius_um wins when given."""
    if radius_um is not None:
        return radius_um / image_mpp
    return radius_px * model_mpp / image_mpp


def match_points(pred_xy: np.ndarray, gt_xy: np.ndarray,
                 radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices (pred_idx, gt_idx) of one-to-one matches within `radius`.

    Matching maximises the number of pairs, then minimises their total distance. Only points
    that can reach each other interact, so the work is split into connected groups.
    """
    n_pred, n_gt = len(pred_xy), len(gt_xy)
    if n_pred == 0 or n_gt == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    near = cKDTree(pred_xy).sparse_distance_matrix(cKDTree(gt_xy), radius, output_type="ndarray")
    graph = coo_matrix((np.ones(len(near)), (near["i"], n_pred + near["j"])),
                       shape=(n_pred + n_gt, n_pred + n_gt))
    _, group = connected_components(graph, directed=False)
    pair_group = group[near["i"]]  # (P,) the group of each reachable pair
    pred_idx: list[int] = []
    gt_idx: list[int] = []
    for g in np.unique(pair_group):
        preds = np.flatnonzero(group[:n_pred] == g)
        gts = np.flatnonzero(group[n_pred:] == g)
        pairs = near[pair_group == g]
        # A pair out of reach costs more than all real pairs together, so it is used last.
        out_of_reach = radius * (min(len(preds), len(gts)) + 1) + 1.0
        cost = np.full((len(preds), len(gts)), out_of_reach)  # (p, g)
        cost[np.searchsorted(preds, pairs["i"]), np.searchsorted(gts, pairs["j"])] = pairs["v"]
        rows, cols = linear_sum_assignment(cost)
        real = cost[rows, cols] <= radius
        pred_idx.extend(preds[rows[real]].tolist())
        gt_idx.extend(gts[cols[real]].tolist())
    return np.array(pred_idx, np.int64), np.array(gt_idx, np.int64)


@dataclass(frozen=True)
class ImageCounts:
    name: str
    matched: int
    pred_per_class: np.ndarray  # (C,) int64
    gt_per_class: np.ndarray  # (C,) int64
    confusion: np.ndarray  # (C, C) int64 matched pairs, rows ground truth, columns prediction

    @property
    def n_pred(self) -> int:
        return int(self.pred_per_class.sum())

    @property
    def n_gt(self) -> int:
        return int(self.gt_per_class.sum())


def count_image(pred_xy: np.ndarray, pred_cls: np.ndarray, gt_xy: np.ndarray, gt_cls: np.ndarray,
                radius: float, n_classes: int, name: str = "") -> ImageCounts:
    pred_idx, gt_idx = match_points(np.asarray(pred_xy, np.float64).reshape(-1, 2),
                                    np.asarray(gt_xy, np.float64).reshape(-1, 2), radius)
    pred_cls, gt_cls = np.asarray(pred_cls, np.int64), np.asarray(gt_cls, np.int64)
    confusion = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(confusion, (gt_cls[gt_idx], pred_cls[pred_idx]), 1)
    return ImageCounts(name, len(pred_idx), np.bincount(pred_cls, minlength=n_classes),
                       np.bincount(gt_cls, minlength=n_classes), confusion)


def summarize(images: Sequence[ImageCounts], classes: Sequence[str], tumor_pos: Sequence[str],
              tumor_neg: Sequence[str], radius_px: float) -> dict[str, Any]:
    """The JSON-able report: detection, per-class and macro classification, counts, TPS-like."""
    matched = sum(c.matched for c in images)
    n_pred = sum(c.n_pred for c in images)
    n_gt = sum(c.n_gt for c in images)
    confusion = sum((c.confusion for c in images), np.zeros((len(classes),) * 2, np.int64))
    pred_per_class = sum((c.pred_per_class for c in images), np.zeros(len(classes), np.int64))
    gt_per_class = sum((c.gt_per_class for c in images), np.zeros(len(classes), np.int64))
    per_class = {name: _prf(int(confusion[k, k]), int(pred_per_class[k]), int(gt_per_class[k]))
                 for k, name in enumerate(classes)}
    pos = [classes.index(name) for name in tumor_pos if name in classes]
    neg = [classes.index(name) for name in tumor_neg if name in classes]
    per_image = [_image_report(c, pos, neg) for c in images]
    fraction_errors = [r["positive_fraction_error"] for r in per_image
                       if r["positive_fraction_error"] is not None]
    return {
        "images": len(images),
        "radius_px": radius_px,
        "detection": _prf(matched, n_pred, n_gt),
        "classification": {"per_class": per_class, "macro": _macro(per_class),
                           "confusion": {"rows": "ground truth", "columns": "prediction",
                                         "classes": list(classes),
                                         "counts": confusion.tolist()}},
        "count": {"gt": n_gt, "pred": n_pred,
                  "mean_abs_error": _mean([abs(c.n_pred - c.n_gt) for c in images]),
                  "relative_error": _ratio(n_pred - n_gt, n_gt)},
        "positive_fraction": {
            "gt": _fraction(gt_per_class, pos, neg), "pred": _fraction(pred_per_class, pos, neg),
            "mean_abs_error": _mean([abs(e) for e in fraction_errors]),
            "images_defined": len(fraction_errors)},
        "per_image": per_image,
    }


def _prf(tp: int, n_pred: int, n_gt: int) -> dict[str, Any]:
    fp, fn = n_pred - tp, n_gt - tp
    return {"tp": tp, "fp": fp, "fn": fn, "precision": _ratio(tp, n_pred),
            "recall": _ratio(tp, n_gt), "f1": _ratio(2 * tp, 2 * tp + fp + fn)}


def _macro(per_class: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Means over the classes where each figure is defined (a class absent from both is skipped)."""
    return {key: _mean([m[key] for m in per_class.values() if m[key] is not None])
            for key in ("precision", "recall", "f1")} | {
        "classes": [name for name, m in per_class.items() if m["f1"] is not None]}


def _image_report(counts: ImageCounts, pos: list[int], neg: list[int]) -> dict[str, Any]:
    gt_fraction = _fraction(counts.gt_per_class, pos, neg)
    pred_fraction = _fraction(counts.pred_per_class, pos, neg)
    error = None if gt_fraction is None or pred_fraction is None else pred_fraction - gt_fraction
    return {"name": counts.name, "gt": counts.n_gt, "pred": counts.n_pred,
            "matched": counts.matched, "positive_fraction_gt": gt_fraction,
            "positive_fraction_pred": pred_fraction, "positive_fraction_error": error}


def _fraction(per_class: np.ndarray, pos: list[int], neg: list[int]) -> float | None:
    """Positive / (positive + negative) tumour cells, like the TPS; undefined without any."""
    n_pos, n_neg = int(per_class[pos].sum()), int(per_class[neg].sum())
    return _ratio(n_pos, n_pos + n_neg)


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else float(num) / float(den)


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None
