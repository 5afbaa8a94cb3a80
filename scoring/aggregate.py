"""One streaming pass over the cell file: counts per class, per fragment, per heatmap tile.

Only integer counts are accumulated here; every percentage is computed afterwards by
scoring.tps from summed counts, so slide, fragment and grid scores all divide exactly once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from scoring.cells import read_cells
from scoring.model_info import ModelInfo
from scoring.slide_info import SlideInfo
from scoring.stain_rule import CellDab, StainRule
from scoring.tissue_mask import TissueMask

GRID_MM = 1.0  # count_cells' default grid square edge
# The heatmap's tiles adapt to the tissue: about HEATMAP_TILES along its longer side, with an
# edge of 1, 2, 2.5 or 5 times a power of ten (so the legend reads "per 0.25 mm tile"), never
# under MIN_TILE_MM: a 0.1 mm tile (0.01 mm^2) holds some 30-60 cells in solid tumour, fewer
# would make each tile's TPS noise.
HEATMAP_TILES = 40
MIN_TILE_MM = 0.1
NICE_STEPS = (1.0, 2.0, 2.5, 5.0)


@dataclass(frozen=True)
class TumorClassIds:
    pos: np.ndarray  # (P,) class ids counted as PD-L1 positive tumour cells
    neg: np.ndarray  # (N,) class ids counted as PD-L1 negative tumour cells

    @classmethod
    def from_model(cls, model: ModelInfo) -> TumorClassIds:
        index = {name: i for i, name in enumerate(model.classes)}
        unknown = [n for n in (*model.tumor_pos, *model.tumor_neg) if n not in index]
        if unknown:
            raise ValueError(f"tumour classes not among the model classes: {unknown}")
        return cls(np.array([index[n] for n in model.tumor_pos], dtype=np.int64),
                   np.array([index[n] for n in model.tumor_neg], dtype=np.int64))

    def split(self, class_counts: np.ndarray) -> tuple[int, int]:
        """(tumour positive, tumour negative) from counts indexed by class id (last axis)."""
        return int(class_counts[..., self.pos].sum()), int(class_counts[..., self.neg].sum())


@dataclass(frozen=True)
class Fragments:
    labels: np.ndarray  # (h, w) int32 on the mask grid; 0 = no tissue, 1..count = fragment
    nearest: np.ndarray  # (h, w) int32: label of the nearest tissue pixel, for every pixel
    count: int
    area_px: np.ndarray  # (count,) mask pixels per fragment
    bbox_mask: list[tuple[int, int, int, int]]  # per fragment: x0, y0, x1, y1 (exclusive)


def find_fragments(tissue: TissueMask) -> Fragments:
    # 8-connectivity: on a low-resolution mask, pieces touching at a corner are one piece.
    labels, count = ndimage.label(tissue.mask, structure=np.ones((3, 3), dtype=bool))
    labels = labels.astype(np.int32)
    if count == 0:
        nearest = np.zeros_like(labels)
    else:
        # Tiles are read where they touch tissue, so a few cells fall just off the coarse mask;
        # giving them to the nearest fragment makes fragment counts sum to the slide total.
        iy, ix = ndimage.distance_transform_edt(labels == 0, return_distances=False,
                                                return_indices=True)
        nearest = labels[iy, ix]
    area_px = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    bbox_mask = [(s[1].start, s[0].start, s[1].stop, s[0].stop)
                 for s in ndimage.find_objects(labels) if s is not None]
    return Fragments(labels, nearest, int(count), area_px, bbox_mask)


@dataclass(frozen=True)
class SlideCounts:
    class_counts: np.ndarray  # (C,) int64 over the whole slide
    fragment_counts: np.ndarray  # (F, C) int64; row f is fragment f + 1
    outside_counts: np.ndarray  # (C,) cells with no fragment at all (only when F == 0)
    grid_pos: np.ndarray  # (gh, gw) int64 tumour positive cells per grid square
    grid_neg: np.ndarray  # (gh, gw) int64 tumour negative cells per grid square
    grid_px: float  # edge of a grid square in level-0 pixels
    grid_mm: float = GRID_MM  # the same edge in mm
    # (2, 2) int64 tumour cells by the model's call (row: positive, negative) and the stain
    # rule's (column: positive, negative)
    stain_agreement: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), np.int64))


def nice_ceil(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (*NICE_STEPS, 10.0):
        if step * power >= value * (1.0 - 1e-9):
            return float(f"{step * power:.6g}")  # 0.30000000000000004 -> 0.3
    raise AssertionError("unreachable: 10 * power > value")


def heatmap_grid_mm(tissue: TissueMask, slide: SlideInfo) -> float:
    """Heatmap tile edge in mm for this slide: 20 to 40 tiles along the tissue's longer side
    (the slide's when there is no tissue), at least MIN_TILE_MM."""
    rows, cols = np.nonzero(tissue.mask)
    if rows.size:
        long_px = max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) * tissue.downsample
    else:
        long_px = max(slide.width, slide.height)
    long_mm = float(long_px) * slide.mpp / 1000.0
    return max(MIN_TILE_MM, nice_ceil(long_mm / HEATMAP_TILES))


def grid_shape(slide: SlideInfo, grid_mm: float = GRID_MM) -> tuple[tuple[int, int], float]:
    """(rows, columns) of grid squares covering the slide from its top-left corner, and the
    square's edge in level-0 pixels."""
    grid_px = grid_mm * 1000.0 / slide.mpp
    return (max(1, int(np.ceil(slide.height / grid_px))),
            max(1, int(np.ceil(slide.width / grid_px)))), grid_px


def mask_pixel_of(x: np.ndarray, y: np.ndarray, tissue: TissueMask) -> tuple[np.ndarray, np.ndarray]:
    """Mask row, column of level-0 points; a level-0 pixel's centre is its integer coordinate."""
    h, w = tissue.mask.shape
    col = np.clip(np.floor((x + 0.5) / tissue.downsample), 0, w - 1).astype(np.intp)
    row = np.clip(np.floor((y + 0.5) / tissue.downsample), 0, h - 1).astype(np.intp)
    return row, col


def count_cells(cells_path: Path, tissue: TissueMask, slide: SlideInfo, n_classes: int,
                tumor: TumorClassIds, fragments: Fragments,
                chunk_cells: int = 1 << 16, grid_mm: float = GRID_MM) -> SlideCounts:
    n_frag = fragments.count
    frag_counts = np.zeros((n_frag + 1) * n_classes, dtype=np.int64)  # row 0: no fragment
    (gh, gw), grid_px = grid_shape(slide, grid_mm)
    grid_pos = np.zeros(gh * gw, dtype=np.int64)
    grid_neg = np.zeros(gh * gw, dtype=np.int64)
    agreement = np.zeros(4, dtype=np.int64)
    rule = StainRule()
    for chunk in read_cells(cells_path, chunk_cells):
        cls = chunk["cls"].astype(np.int64)
        if cls.size and (cls.min() < 0 or cls.max() >= n_classes):
            raise ValueError(f"cell class ids outside 0..{n_classes - 1} in {cells_path}")
        row, col = mask_pixel_of(chunk["x"], chunk["y"], tissue)
        frag = fragments.nearest[row, col].astype(np.int64)
        frag_counts += np.bincount(frag * n_classes + cls, minlength=frag_counts.size)
        gy = np.clip((chunk["y"] // grid_px).astype(np.int64), 0, gh - 1)
        gx = np.clip((chunk["x"] // grid_px).astype(np.int64), 0, gw - 1)
        cell = gy * gw + gx
        grid_pos += np.bincount(cell[np.isin(cls, tumor.pos)], minlength=gh * gw)
        grid_neg += np.bincount(cell[np.isin(cls, tumor.neg)], minlength=gh * gw)
        tumour = np.isin(cls, tumor.pos) | np.isin(cls, tumor.neg)
        model_neg = ~np.isin(cls[tumour], tumor.pos)
        stain_neg = ~CellDab(chunk["dab_nucleus"][tumour],
                             chunk["dab_membrane"][tumour]).positive(rule)
        agreement += np.bincount(model_neg * 2 + stain_neg, minlength=4)
    per_fragment = frag_counts.reshape(n_frag + 1, n_classes)
    return SlideCounts(
        class_counts=per_fragment.sum(axis=0),
        fragment_counts=per_fragment[1:],
        outside_counts=per_fragment[0],
        grid_pos=grid_pos.reshape(gh, gw),
        grid_neg=grid_neg.reshape(gh, gw),
        grid_px=grid_px,
        grid_mm=grid_mm,
        stain_agreement=agreement.reshape(2, 2),
    )
