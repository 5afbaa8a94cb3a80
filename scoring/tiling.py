"""Tile geometry, pure numpy. Frames: `model` pixels (the slide resampled to the model's mpp),
`tile` pixels (one tile's input), `level0` pixels (the slide's full resolution).

Tiles overlap by a halo so every cell is seen with context, but each tile owns only its core,
and the cores partition the model frame: every cell is counted by exactly one tile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scoring.tissue_mask import TissueMask


@dataclass(frozen=True)
class TileGrid:
    scale: float  # level-0 pixels per model pixel
    tile: int  # tile side, model pixels
    halo: int  # context on each side, model pixels
    origins: np.ndarray  # (N, 2) int64, x, y of each kept tile's input origin, model frame
    total_cores: int  # tiles the slide would need with no tissue filter

    @property
    def core(self) -> int:
        return self.tile - 2 * self.halo

    def __len__(self) -> int:
        return len(self.origins)

    def in_core(self, tile_xy: np.ndarray) -> np.ndarray:
        """(K, 2) tile-frame points -> (K,) bool: the points this tile owns.

        The core is the area of its pixels, whose centres are integers: [halo - 0.5, ...).
        """
        shifted = tile_xy + 0.5
        inside = (shifted >= self.halo) & (shifted < self.halo + self.core)
        return np.asarray(inside.all(axis=1))

    def to_level0(self, tile_xy: np.ndarray, origin: np.ndarray) -> np.ndarray:
        """(K, 2) tile-frame pixel centres -> level-0 pixel centres."""
        model_xy = tile_xy.astype(np.float64) + origin  # (K, 2)
        return np.asarray((model_xy + 0.5) * self.scale - 0.5)


def _mask_hits(mask: TissueMask, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray,
               y1: np.ndarray) -> np.ndarray:
    """For level-0 rectangles [x0, x1) x [y0, y1): does any mask pixel inside hold tissue?"""
    h, w = mask.mask.shape
    summed = np.zeros((h + 1, w + 1), np.int64)  # integral image: O(1) per rectangle
    summed[1:, 1:] = mask.mask.astype(np.int64).cumsum(0).cumsum(1)
    c0 = np.clip(np.floor(x0 / mask.downsample), 0, w).astype(np.int64)
    r0 = np.clip(np.floor(y0 / mask.downsample), 0, h).astype(np.int64)
    c1 = np.clip(np.ceil(x1 / mask.downsample), 0, w).astype(np.int64)
    r1 = np.clip(np.ceil(y1 / mask.downsample), 0, h).astype(np.int64)
    counts = summed[r1, c1] - summed[r0, c1] - summed[r1, c0] + summed[r0, c0]
    return counts > 0


def plan_tiles(width0: int, height0: int, scale: float, tile: int, halo: int, multiple: int,
               tissue: TissueMask | None) -> TileGrid:
    """Cover a width0 x height0 level-0 slide with tiles whose cores touch tissue.

    Tile and halo are multiples of the model's input multiple, so tile origins fall on that
    grid of the model frame (and of level 0 when the scales match).
    """
    if tile % multiple or halo % multiple:
        raise ValueError(f"tile {tile} and halo {halo} must be multiples of {multiple}")
    core = tile - 2 * halo
    if core <= 0:
        raise ValueError(f"tile {tile} leaves no core with halo {halo}")
    cols = math.ceil(width0 / scale / core)
    rows = math.ceil(height0 / scale / core)
    ys, xs = np.mgrid[0:rows, 0:cols]
    core_xy = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.int64) * core  # (N, 2)
    if tissue is not None:
        x0, y0 = core_xy[:, 0] * scale, core_xy[:, 1] * scale
        keep = _mask_hits(tissue, x0, y0, x0 + core * scale, y0 + core * scale)
        core_xy = core_xy[keep]
    return TileGrid(scale=scale, tile=tile, halo=halo, origins=core_xy - halo,
                    total_cores=rows * cols)


@dataclass(frozen=True)
class LoopShape:
    """How the tile loop runs on this host: tile side, halo, batch and reader processes."""

    tile: int
    halo: int
    batch: int
    readers: int
    reader_nice: int  # added to the readers' niceness (os.nice)


def loop_shape(on_gpu: bool, cores: int) -> LoopShape:
    """Defaults for a provider and a core count; the caller's explicit values win.

    A tile of side t with halo h spends (t / (t - 2h))^2 model pixels per core pixel: 1.78 at
    512 / 64, 1.31 at 1024 / 64. A GPU has memory and parallelism to spare, so it gets large
    tiles in large batches and every core but the feeding one reads tiles. On the CPU the model
    owns the cores and one reader process keeps ahead of it; 768 px tiles spend 1.46. There the
    model is the critical path, so the readers run at a lower priority and fill its idle gaps
    (on 2 shared cores the model ran 20-27 % faster inside the loop, the loop 4-10 %).
    """
    if on_gpu:
        return LoopShape(tile=1024, halo=64, batch=8, readers=max(1, cores - 1), reader_nice=0)
    return LoopShape(tile=768, halo=64, batch=2, readers=max(1, cores // 2), reader_nice=10)
