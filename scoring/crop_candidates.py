"""Candidate review crops, with their reasons: the densest tumour of each fragment whose TPS is
near a cutoff, where the model and the stain disagree most, the densest tumour, the most PD-L1
positive tumour (and the most cells, on a slide without tumour cells). Cells are counted in one streaming pass on bins an eighth
of a crop wide; a window is 8 x 8 bins, so windows slide by an eighth of a crop."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scoring.aggregate import Fragments, SlideCounts, TumorClassIds, mask_pixel_of
from scoring.cells import read_cells
from scoring.crop_choice import CROP_COUNT, CropCandidate
from scoring.slide_info import SlideInfo
from scoring.stain_rule import CellDab, StainRule
from scoring.tissue_mask import TissueMask
from scoring.tps import score_counts

BINS_PER_SIDE = 8
NEAR_CUTOFF = "near a cutoff"
DENSEST = "densest tumour"
MOST_POSITIVE = "most PD-L1 positive tumour"
MOST_CELLS = "most cells"  # only on a slide with cells but no tumour cells
DISAGREE = "model and stain disagree"  # tumour cells the model and the stain rule call apart
MIN_DISAGREEING = 5  # fewer is the stain rule's own noise
# A fragment is near a cutoff when its 95 % interval straddles one, or its TPS lies within
# a fifth of the cutoff of it (at least 1 point): 0-2 % for 1 %, 40-60 % for 50 %.
NEAR_FRACTION, NEAR_MIN_POINTS = 0.2, 1.0
MIN_FRAGMENT_TUMOUR = 20  # fewer tumour cells make a fragment's TPS too rough to call near
MakeCandidate = Callable[[int, int, str, float], CropCandidate]  # window row, column, ...


@dataclass(frozen=True)
class CellBins:
    pos: np.ndarray  # (gh, gw) int64 tumour positive cells per bin
    neg: np.ndarray  # (gh, gw) int64 tumour negative cells per bin
    cells: np.ndarray  # (gh, gw) int64 cells of any class per bin
    bin_px: float  # level-0 edge of a bin
    disagree: np.ndarray  # (gh, gw) int64 tumour cells whose stain call differs from the model's


def count_bins(cells_path: Path, slide: SlideInfo, tumor: TumorClassIds, side: float) -> CellBins:
    bin_px = side / BINS_PER_SIDE
    gh, gw = math.ceil(slide.height / bin_px), math.ceil(slide.width / bin_px)
    pos, neg, cells, disagree = (np.zeros(gh * gw, np.int64) for _ in range(4))
    rule = StainRule()
    for chunk in read_cells(cells_path):
        gy = np.clip((chunk["y"] // bin_px).astype(np.int64), 0, gh - 1)
        gx = np.clip((chunk["x"] // bin_px).astype(np.int64), 0, gw - 1)
        index, cls = gy * gw + gx, chunk["cls"]
        pos += np.bincount(index[np.isin(cls, tumor.pos)], minlength=gh * gw)
        neg += np.bincount(index[np.isin(cls, tumor.neg)], minlength=gh * gw)
        cells += np.bincount(index, minlength=gh * gw)
        stain_pos = CellDab(chunk["dab_nucleus"], chunk["dab_membrane"]).positive(rule)
        apart = (np.isin(cls, tumor.pos) & ~stain_pos) | (np.isin(cls, tumor.neg) & stain_pos)
        disagree += np.bincount(index[apart], minlength=gh * gw)
    return CellBins(pos.reshape(gh, gw), neg.reshape(gh, gw), cells.reshape(gh, gw), bin_px,
                    disagree.reshape(gh, gw))


def window_sums(bins: np.ndarray, n: int = BINS_PER_SIDE) -> np.ndarray:
    """Sums over n x n windows of bins, one per window origin; a grid smaller than a window
    is one window holding it all."""
    gh, gw = bins.shape
    padded = np.zeros((max(gh, n), max(gw, n)), np.int64)
    padded[:gh, :gw] = bins
    s = np.zeros((padded.shape[0] + 1, padded.shape[1] + 1), np.int64)
    s[1:, 1:] = padded.cumsum(axis=0).cumsum(axis=1)
    return np.asarray(s[n:, n:] - s[:-n, n:] - s[n:, :-n] + s[:-n, :-n])


def top_windows(sums: np.ndarray, k: int, n: int = BINS_PER_SIDE) -> list[tuple[int, int, int]]:
    """Up to k (row, column, sum) of windows with a positive sum, largest first (ties:
    top-most, then left-most), none overlapping another."""
    left = sums.copy()
    found: list[tuple[int, int, int]] = []
    while len(found) < k:
        flat = int(np.argmax(left))
        i, j = divmod(flat, left.shape[1])
        if left[i, j] <= 0:
            break
        found.append((i, j, int(left[i, j])))
        left[max(0, i - n + 1):i + n, max(0, j - n + 1):j + n] = 0
    return found


def _origin(index: int, bin_px: float, extent: int, side: int) -> int:
    """Level-0 edge of window `index`, kept on the slide where the slide is wide enough."""
    return int(min(round(index * bin_px), max(0, extent - side)))


def crop_candidates(bins: CellBins, slide: SlideInfo, side: int, counts: SlideCounts,
                    fragments: Fragments, tissue: TissueMask, tumor: TumorClassIds,
                    cutoffs: tuple[float, ...]) -> list[CropCandidate]:
    """Every reason's candidates, in the order the reasons are offered to choose_crops."""
    def candidate(i: int, j: int, reason: str, score: float) -> CropCandidate:
        return CropCandidate(_origin(j, bins.bin_px, slide.width, side),
                             _origin(i, bins.bin_px, slide.height, side), reason, score)

    tumour = window_sums(bins.pos + bins.neg)
    out = _near_cutoff(tumour, bins, slide, side, counts, fragments, tissue, tumor, cutoffs,
                       candidate)
    out += [candidate(i, j, DISAGREE, v)
            for i, j, v in top_windows(window_sums(bins.disagree), CROP_COUNT)
            if v >= MIN_DISAGREEING]
    out += [candidate(i, j, DENSEST, v) for i, j, v in top_windows(tumour, CROP_COUNT)]
    out += [candidate(i, j, MOST_POSITIVE, v)
            for i, j, v in top_windows(window_sums(bins.pos), CROP_COUNT)]
    if not out:
        out = [candidate(i, j, MOST_CELLS, v)
               for i, j, v in top_windows(window_sums(bins.cells), CROP_COUNT)]
    return out


def near_cutoff_distance(pos: int, neg: int, cutoffs: tuple[float, ...]) -> float | None:
    """Points between a fragment's TPS and its nearest cutoff, when it is near one."""
    if pos + neg < MIN_FRAGMENT_TUMOUR:
        return None
    score = score_counts(pos, neg, cutoffs)
    assert score.tps is not None
    distance = min(abs(score.tps - c) for c in cutoffs)
    near = any(abs(score.tps - c) <= max(NEAR_MIN_POINTS, NEAR_FRACTION * c) for c in cutoffs)
    return distance if near or score.near_cutoff else None


def _near_cutoff(tumour: np.ndarray, bins: CellBins, slide: SlideInfo, side: int,
                 counts: SlideCounts, fragments: Fragments, tissue: TissueMask,
                 tumor: TumorClassIds, cutoffs: tuple[float, ...],
                 candidate: MakeCandidate) -> list[CropCandidate]:
    """Per fragment near a cutoff, its window with the most tumour cells (a window belongs to
    the fragment nearest its centre); the nearer the cutoff, the higher the score."""
    rows, cols = np.indices(tumour.shape)
    centre_x = np.minimum(cols * bins.bin_px + side / 2, slide.width - 1)
    centre_y = np.minimum(rows * bins.bin_px + side / 2, slide.height - 1)
    label = fragments.nearest[mask_pixel_of(centre_x, centre_y, tissue)]
    out: list[CropCandidate] = []
    for f in range(fragments.count):
        distance = near_cutoff_distance(*tumor.split(counts.fragment_counts[f]), cutoffs)
        if distance is None:
            continue
        mine = np.where(label == f + 1, tumour, 0)
        i, j = np.unravel_index(int(np.argmax(mine)), mine.shape)
        if mine[i, j] > 0:
            out.append(candidate(int(i), int(j), NEAR_CUTOFF, -distance))
    return out
