"""One tile at the model's mpp, read from an open slide: the best pyramid level, then a resize."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from scoring.slide_reader import SlideReader


class TileSource:
    """Reads one tile at the model's mpp: the best pyramid level, then a resize."""

    def __init__(self, reader: SlideReader, scale: float, tile: int) -> None:
        self.reader, self.scale, self.tile = reader, scale, tile
        self.level = reader.best_level(scale)
        self.level_ds = reader.level_downsamples[self.level]

    def read(self, origin: np.ndarray) -> np.ndarray:
        """(tile, tile, 3) uint8 for a tile whose input origin is `origin` (model frame)."""
        tile, ds = self.tile, self.level_ds
        span = tile * self.scale / ds  # tile side in level pixels, maybe fractional
        fx, fy = origin[0] * self.scale / ds, origin[1] * self.scale / ds
        lx, ly = math.floor(fx), math.floor(fy)
        width, height = math.ceil(fx + span) - lx, math.ceil(fy + span) - ly
        region = self.reader.read_rgb(self.level, round(lx * ds), round(ly * ds), width, height)
        box = (fx - lx, fy - ly, fx - lx + span, fy - ly + span)
        if box == (0, 0, tile, tile) and region.shape[:2] == (tile, tile):
            return region  # the slide is already at the model's mpp on a pixel-aligned grid
        image = Image.fromarray(region).resize((tile, tile), Image.Resampling.BILINEAR, box=box)
        return np.asarray(image)

    def read_batch(self, origins: np.ndarray) -> np.ndarray:
        """(B, 2) origins -> (B, tile, tile, 3) uint8."""
        batch = np.empty((len(origins), self.tile, self.tile, 3), np.uint8)
        for i, origin in enumerate(origins):
            batch[i] = self.read(origin)
        return batch
