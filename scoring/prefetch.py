"""Tiles are read and resampled by a thread pool ahead of inference, through a bounded window,
so the model does not wait on I/O and memory holds at most `depth` tiles in flight."""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from PIL import Image

from scoring.slide_reader import SlideReader
from scoring.tiling import TileGrid

Item = TypeVar("Item")
Result = TypeVar("Result")


def prefetch(read: Callable[[Item], Result], items: Iterable[Item], workers: int,
             depth: int) -> Iterator[Result]:
    """read(item) for every item, in order, with up to `depth` reads running ahead."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tile-read") as pool:
        pending: deque[Future[Result]] = deque()
        for item in items:
            pending.append(pool.submit(read, item))
            if len(pending) >= depth:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
        # Leaving early (an error downstream) cancels the reads not yet started.
    return


class TileSource:
    """Reads one tile of the grid at the model's mpp: best pyramid level, then resize."""

    def __init__(self, reader: SlideReader, grid: TileGrid) -> None:
        self.reader = reader
        self.grid = grid
        self.level = reader.best_level(grid.scale)
        self.level_ds = reader.level_downsamples[self.level]

    def read(self, origin: np.ndarray) -> np.ndarray:
        """(tile, tile, 3) uint8 for a tile whose input origin is `origin` (model frame)."""
        tile, ds = self.grid.tile, self.level_ds
        span = tile * self.grid.scale / ds  # tile side in level pixels, maybe fractional
        fx, fy = origin[0] * self.grid.scale / ds, origin[1] * self.grid.scale / ds
        lx, ly = math.floor(fx), math.floor(fy)
        width, height = math.ceil(fx + span) - lx, math.ceil(fy + span) - ly
        region = self.reader.read_rgb(self.level, round(lx * ds), round(ly * ds), width, height)
        box = (fx - lx, fy - ly, fx - lx + span, fy - ly + span)
        if box == (0, 0, tile, tile) and region.shape[:2] == (tile, tile):
            return region  # the slide is already at the model's mpp on a pixel-aligned grid
        image = Image.fromarray(region).resize((tile, tile), Image.Resampling.BILINEAR, box=box)
        return np.asarray(image)
