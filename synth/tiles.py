"""Point-annotated training tiles: DIR/images/NNNN.png and DIR/points.csv (image,x,y,label)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from synth.classes import CLASS_NAMES
from synth.layout import make_layout
from synth.population import Cells, SynthError, sample_ihc_cells, set_tumour_positive
from synth.render import make_painter, paint_window
from synth.stain import STAINS


@dataclass(frozen=True)
class SynthTile:
    rgb: np.ndarray  # (size, size, 3) uint8
    cells: Cells  # centres inside the tile, in tile pixels


def _tile_tps(rng: np.random.Generator) -> float:
    """Cover all three clinical categories (<1, 1-49, >=50) roughly equally."""
    bucket = rng.integers(3)
    low, high = ((0.0, 1.0), (1.0, 50.0), (50.0, 100.0))[bucket]
    return float(rng.uniform(low, high))


def _jpeg_round_trip(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scanners store JPEG; carry its block artefacts into the lossless PNG."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=int(rng.integers(70, 93)))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def make_tile(size: int, mpp: float, seed: int, index: int, stain: str = "ihc") -> SynthTile:
    """One tile; `stain="he"` paints H&E, where no cell is PD-L1 positive (there is no DAB)."""
    if stain not in STAINS:
        raise SynthError(f"stain must be one of {STAINS}, got {stain!r}")
    tile_seed = int(np.random.default_rng([seed, index]).integers(2**31))
    rng = np.random.default_rng([tile_seed, 1])
    layout = make_layout(size, size, mpp, rng, fragments=False)
    cells = sample_ihc_cells(layout, mpp, tile_seed)
    if stain == "he":
        cells.positive[:] = False
    elif np.any(cells.kind == 0):
        set_tumour_positive(cells, layout, _tile_tps(rng), tile_seed)
    painter = make_painter(mpp, tile_seed, stain)
    rgb = paint_window(painter, layout, cells, 0, size, 0, size)
    return SynthTile(_jpeg_round_trip(rgb, rng), cells)


def write_tiles(out_dir: Path, count: int, size: int = 512, seed: int = 0,
                mpp: float = 0.5, stain: str = "ihc") -> int:
    """Write `count` tiles and their points; returns the number of points written."""
    images = out_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(out_dir / "points.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "x", "y", "label"])
        for index in range(count):
            tile = make_tile(size, mpp, seed, index, stain)
            name = f"images/{index:04d}.png"
            Image.fromarray(tile.rgb).save(out_dir / name)
            labels = tile.cells.labels
            for x, y, label in zip(tile.cells.x, tile.cells.y, labels, strict=True):
                writer.writerow([name, int(x), int(y), CLASS_NAMES[label]])
            written += len(labels)
    return written
