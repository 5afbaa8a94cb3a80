"""A pyramidal tiled TIFF written band by band: level 0 is never whole in memory.

Each level is streamed to tifffile as tiles; while a level is written, its 2x reduction is
spooled row band by row band to a raw temporary file, which becomes the next level's source.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import tifffile

TILE = 256
SMALLEST_LEVEL = 512  # stop reducing once the larger side is at most this

BandSource = Callable[[int, int], np.ndarray]  # (y0, y1) -> (y1 - y0, width, 3) uint8


def halve(band: np.ndarray) -> np.ndarray:
    """2x2 mean with rounding; an odd last row or column is dropped (floor sizes, like OpenSlide)."""
    h, w = band.shape[0] // 2, band.shape[1] // 2
    rows = band[0 : 2 * h : 2, : 2 * w].astype(np.uint16) + band[1 : 2 * h : 2, : 2 * w]
    total = rows[:, 0::2] + rows[:, 1::2] + 2
    mean: np.ndarray = (total >> 2).astype(np.uint8)
    return mean


def _tiles(bands: Iterator[np.ndarray], spool: BinaryIO | None) -> Iterator[np.ndarray]:
    for band in bands:
        if spool is not None:
            spool.write(halve(band).tobytes())
        for x0 in range(0, band.shape[1], TILE):
            yield band[:, x0 : x0 + TILE]


def _spooled_bands(spool: BinaryIO, width: int, height: int) -> Iterator[np.ndarray]:
    row_bytes = width * 3
    for y0 in range(0, height, TILE):
        rows = min(TILE, height - y0)
        spool.seek(y0 * row_bytes)
        data = np.frombuffer(spool.read(rows * row_bytes), dtype=np.uint8)
        yield data.reshape(rows, width, 3)


def write_pyramid(path: Path, width: int, height: int, source: BandSource, mpp: float,
                  lossless: bool) -> int:
    """Write the slide; returns the number of levels."""
    compression: dict[str, object] = (
        {"compression": "zlib", "compressionargs": {"level": 6}, "photometric": "rgb"}
        if lossless
        else {"compression": "jpeg", "compressionargs": {"level": 90}, "photometric": "rgb"}
    )
    bigtiff = width * height * 3 * 4 // 3 > 2**31
    bands: Iterator[np.ndarray] = (source(y0, min(height, y0 + TILE)) for y0 in range(0, height, TILE))
    level, spool_in = 0, None
    with tifffile.TiffWriter(path, bigtiff=bigtiff) as tif, tempfile.TemporaryDirectory(
        dir=path.parent
    ) as scratch:
        while True:
            last = max(width, height) <= SMALLEST_LEVEL
            # Closed by hand: it outlives this pass, as the next level's source.
            next_path = Path(scratch) / f"level{level + 1}.raw"
            spool_out = None if last else open(next_path, "w+b")  # noqa: SIM115
            level_mpp = mpp * 2**level
            tif.write(
                _tiles(bands, spool_out),
                shape=(height, width, 3),
                dtype=np.uint8,
                tile=(TILE, TILE),
                subfiletype=0 if level == 0 else 1,
                resolution=(1e4 / level_mpp, 1e4 / level_mpp),
                resolutionunit="CENTIMETER",
                metadata=None,
                maxworkers=1,
                **compression,  # type: ignore[arg-type]
            )
            if spool_in is not None:
                spool_in.close()
            if spool_out is None:
                return level + 1
            width, height, level, spool_in = width // 2, height // 2, level + 1, spool_out
            bands = _spooled_bands(spool_out, width, height)
