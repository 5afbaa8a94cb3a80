"""A side-by-side PNG of a synthetic tile and a real IHC tile, for judging realism by eye."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from synth.tiles import make_tile

# The real DeepLIIF tiles are 40x scans (about 0.25 um/px), so the synthetic one matches that.
REAL_MPP = 0.25


def comparison_figure(real_tile: Path, out: Path, seed: int = 0, size: int = 512) -> None:
    with Image.open(real_tile) as opened:
        real = opened.convert("RGB").resize((size, size))
    synthetic = Image.fromarray(make_tile(size, REAL_MPP, seed, 0).rgb)
    canvas = Image.new("RGB", (2 * size + 16, size + 28), "white")
    canvas.paste(synthetic, (0, 28))
    canvas.paste(real, (size + 16, 28))
    draw = ImageDraw.Draw(canvas)
    draw.text((6, 8), f"synthetic (seed {seed}, {REAL_MPP} um/px)", fill="black")
    draw.text((size + 22, 8), f"real: {real_tile.name}", fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)


def synthetic_grid(out: Path, seed: int = 0, size: int = 384, mpp: float = 0.5) -> None:
    """Synthetic tiles only (safe to commit): one row at `mpp`, one at half of it."""
    rows = [[make_tile(size, m, seed, i).rgb for i in range(3)] for m in (mpp, mpp / 2)]
    Image.fromarray(np.concatenate([np.concatenate(r, axis=1) for r in rows], axis=0)).save(out)
