"""The one decode from raw model outputs to cells, used by every caller of the model."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

# (K, 2) cell centres in the image's pixel frame -> (K,) mean DAB in each nucleus
# (scoring.stain_rule.nucleus_dab bound to the image the cells came from)
NucleusDab = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class DecodedCells:
    """Cells of one image, in that image's pixel frame (pixel (i, j) has its centre at (i, j))."""

    xy: np.ndarray  # (K, 2) float64, x right, y down
    cls: np.ndarray  # (K,) int16, index into the model's `classes`
    p_obj: np.ndarray  # (K,) float32
    p_class: np.ndarray  # (K,) float32, the probability of the chosen class

    def __len__(self) -> int:
        return len(self.cls)

    @classmethod
    def empty(cls) -> DecodedCells:
        return cls(np.zeros((0, 2)), np.zeros(0, np.int16), np.zeros(0, np.float32),
                   np.zeros(0, np.float32))

    def select(self, keep: np.ndarray) -> DecodedCells:
        return DecodedCells(self.xy[keep], self.cls[keep], self.p_obj[keep], self.p_class[keep])


@dataclass(frozen=True)
class SignCall:
    """How a tumour cell's sign is called: positive when p(pos) / (p(pos) + p(neg)) reaches
    `threshold`. At 0.5 that is the argmax; a model calibrated to an unbiased positive share
    states its own (ONNX metadata `positive_threshold`).

    With `nucleus_dab` (metadata `positive_nucleus_dab`), a tumour cell whose nucleus holds
    more DAB than that is positive whatever the network says: brown is what makes a cell
    positive, and on real IHC it has not seen the network misses brown nuclei (MODEL_CARD.md).
    The stain never makes a cell negative: a membrane stain's positive cell has a blue nucleus.
    """

    pos: int  # class id of the positive tumour class
    neg: int  # class id of the negative tumour class
    threshold: float
    nucleus_dab: float | None = None  # natural-log OD along the DAB unit vector


def kept_anchors(points: np.ndarray, p_obj: np.ndarray, threshold: float,
                 min_distance: float = 0.0) -> np.ndarray:
    """(K,) indices, ascending, of the anchors that are cells: p_obj >= threshold and, when
    `min_distance` (pixels) is given, no surer cell closer than that. On large nuclei of real
    tissue it has not seen the network puts two points on one nucleus (two in three of its
    unmatched positive calls on DeepLIIF had another call within 5 um); two real nuclei's
    centres are not that close."""
    kept = np.flatnonzero(p_obj >= threshold)
    if min_distance <= 0 or len(kept) < 2:
        return kept
    pairs = cKDTree(points[kept]).query_pairs(min_distance, output_type="ndarray")  # (P, 2)
    if len(pairs) == 0:
        return kept
    neighbours: dict[int, list[int]] = {}
    for a, b in pairs.tolist():
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    close = np.unique(pairs)  # only cells with a neighbour can go: a few per tile, not all
    alive = np.ones(len(kept), bool)
    for i in close[np.argsort(-p_obj[kept[close]], kind="stable")].tolist():  # surest first
        if alive[i]:
            alive[neighbours[i]] = False
    return kept[alive]


def decode(points: np.ndarray, p_obj: np.ndarray, p_class: np.ndarray,
           threshold: float, sign: SignCall | None = None,
           nucleus_dab: NucleusDab | None = None, min_distance: float = 0.0) -> DecodedCells:
    """Keep the cells of `kept_anchors`; class = argmax p_class, reported with its value;
    a tumour cell's sign then by `sign` when given, measuring the stain with `nucleus_dab`
    where the sign asks for it.

    points (A, 2), p_obj (A,), p_class (A, C), all for one image; min_distance in its pixels.
    """
    if points.ndim != 2 or points.shape[1] != 2 or p_obj.shape != points.shape[:1] \
            or p_class.ndim != 2 or p_class.shape[0] != points.shape[0]:
        raise ValueError(
            f"model outputs do not fit the contract: points {points.shape}, "
            f"p_obj {p_obj.shape}, p_class {p_class.shape}")
    keep = kept_anchors(points, p_obj, threshold, min_distance)  # (K,)
    kept_class = p_class[keep]  # (K, C)
    cls = kept_class.argmax(axis=1)  # (K,)
    if sign is not None:
        tumour = (cls == sign.pos) | (cls == sign.neg)  # (K,)
        pos, neg = kept_class[:, sign.pos], kept_class[:, sign.neg]
        positive = pos >= sign.threshold * np.maximum(pos + neg, 1e-12)  # ratio, no division
        if sign.nucleus_dab is not None:
            if nucleus_dab is None:
                raise ValueError("this model calls brown nuclei positive: decode needs the "
                                 "image's nucleus_dab")
            doubt = np.flatnonzero(tumour & ~positive)  # only these can change
            positive[doubt] = nucleus_dab(points[keep][doubt]) > sign.nucleus_dab
        cls = np.where(tumour, np.where(positive, sign.pos, sign.neg), cls)
    return DecodedCells(
        xy=points[keep].astype(np.float64),
        cls=cls.astype(np.int16),
        p_obj=p_obj[keep].astype(np.float32),
        p_class=kept_class[np.arange(len(cls)), cls].astype(np.float32),
    )
