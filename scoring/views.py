"""Test-time views: the model run on the tile flipped and transposed, its cells fused.

A model that states `views` (metadata; 1 when absent) is run on that many of the eight
symmetries of the square (flips and transposition: tissue has no up or left). Each view's
points are mapped back to the tile; then, surest point first, each point not yet claimed gathers
the surest unclaimed point of each other view within `view_radius_um`, the nearest among equals
(weighted point fusion, after Solovyev et al.'s weighted boxes fusion, with points for boxes;
taking the nearest instead lost 0.01-0.02 F1 on every real set: a sure cell took a faint
double from a view and left that view's own point to make a second cell). A fused cell's p_obj is the
sum of its members' p_obj over the number of views, so a cell only one view sees counts for
one eighth; its position and class probabilities are the p_obj-weighted means.

Why: on real tissue it has not seen, one pass's points sit 2-3 um off the nuclei and differ
between views by as much; a borderline cell is found in some views and not in others, and its
sign flips with them. Fused over eight views, 0.5.4's network found more of the annotated
nuclei and called their sign better on every set measured (MODEL_CARD.md, 0.6.0).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from scoring.inference import ModelRunner, Outputs

# (flip left-right, flip top-bottom, transpose), applied in that order. The first two are the
# tile itself and its half-turn, the first four need no transposition.
SYMMETRIES = ((False, False, False), (True, True, False), (True, False, False),
              (False, True, False), (False, False, True), (True, True, True),
              (True, False, True), (False, True, True))
# An anchor below this p_obj joins no cell: at most 0.1 / views of a fused p_obj is left out
FLOOR = 0.1
Cells = tuple[np.ndarray, np.ndarray, np.ndarray]  # (K, 2) xy, (K,) p_obj, (K, C) p_class


def viewed(tiles: np.ndarray, symmetry: tuple[bool, bool, bool]) -> np.ndarray:
    """(B, H, W, 3) tiles as the view sees them: (B, W, H, 3) when transposed."""
    flip_x, flip_y, transpose = symmetry
    out = tiles[:, :, ::-1] if flip_x else tiles
    out = out[:, ::-1] if flip_y else out
    return np.ascontiguousarray(out.transpose(0, 2, 1, 3) if transpose else out)


def unviewed(xy: np.ndarray, symmetry: tuple[bool, bool, bool], width: int,
             height: int) -> np.ndarray:
    """(..., 2) points of a view of a width x height tile, in the tile's own frame."""
    flip_x, flip_y, transpose = symmetry
    out = xy[..., ::-1].copy() if transpose else xy.copy()
    if flip_y:
        out[..., 1] = (height - 1) - out[..., 1]
    if flip_x:
        out[..., 0] = (width - 1) - out[..., 0]
    return out


def fuse(per_view: list[Cells], radius: float) -> Cells:
    """One tile's cells from each view's outputs (tile frame; radius in its pixels)."""
    views = len(per_view)
    sure = [p_obj >= FLOOR for _, p_obj, _ in per_view]
    xy = np.concatenate([v[0][s] for v, s in zip(per_view, sure)])  # (N, 2)
    p_obj = np.concatenate([v[1][s] for v, s in zip(per_view, sure)])  # (N,)
    p_class = np.concatenate([v[2][s] for v, s in zip(per_view, sure)])  # (N, C)
    source = np.concatenate([np.full(int(s.sum()), i) for i, s in enumerate(sure)])  # (N,)
    order = np.argsort(-p_obj, kind="stable")
    xy, p_obj, p_class, source = xy[order], p_obj[order], p_class[order], source[order]
    near = cKDTree(xy).query_ball_point(xy, radius) if len(xy) else []
    claimed = np.zeros(len(xy), bool)
    cell = np.empty(len(xy), np.int64)  # the fused cell each point joined
    count = 0
    for i in range(len(xy)):  # surest first
        if claimed[i]:
            continue
        best: dict[int, tuple[float, float, int]] = {}  # view -> (-p_obj, distance, point)
        for j in near[i]:
            if not claimed[j] and source[j] != source[i]:
                key = (-float(p_obj[j]), float(np.hypot(*(xy[j] - xy[i]))), j)
                best[int(source[j])] = min(best.get(int(source[j]), key), key)
        members = [i, *(j for *_, j in best.values())]
        claimed[members] = True
        cell[members] = count
        count += 1
    weight = np.bincount(cell, p_obj, count)  # (K,) sum of the members' p_obj
    fused_xy = np.stack([np.bincount(cell, p_obj * xy[:, k], count) for k in (0, 1)], 1)
    fused_class = np.stack([np.bincount(cell, p_obj * p_class[:, c], count)
                            for c in range(p_class.shape[1])], 1)
    safe = np.maximum(weight, 1e-12)[:, None]
    return (fused_xy / safe, (weight / views).astype(np.float32),
            (fused_class / safe).astype(np.float32))


def run_views(runner: ModelRunner, tiles: np.ndarray) -> list[Cells]:
    """(B, H, W, 3) uint8 tiles at the model's mpp -> each tile's raw outputs: every anchor
    of one pass for a one-view model, else the cells fused over the model's views."""
    info = runner.info
    if info.views == 1:
        points, p_obj, p_class = runner.run_tiles(tiles)
        return [(points[b], p_obj[b], p_class[b]) for b in range(len(tiles))]
    height, width = tiles.shape[1:3]
    passes: list[Outputs] = []
    for symmetry in SYMMETRIES[:info.views]:
        points, p_obj, p_class = runner.run_tiles(viewed(tiles, symmetry))
        passes.append((unviewed(points, symmetry, width, height), p_obj, p_class))
    radius = info.view_radius_um / info.mpp
    return [fuse([(p[0][b], p[1][b], p[2][b]) for p in passes], radius)
            for b in range(len(tiles))]
