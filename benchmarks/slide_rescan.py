"""How much a model's tumour cells and TPS move when one synthetic slide is rescanned at another
resolution and scored through the engine, tiles, halo and all.

The EndoNuke rescan lines of benchmarks/scale_stability.py read 200 px tiles alone, so a cell's
context stops at the tile's edge, and cutting a few pixels off a tile moves the tumour count by
up to 7 % (MODEL_CARD.md, "A tile's edge moves its cells' kind"): they measure edge context as
much as pixels. Here the slide's level 0 is resized by 1 / factor (bicubic, a stand-in for a
scanner at factor x 0.5 um/px), written as a pyramid that states that scale, and scored as a
lab's slide would be: within 3 % of the model's scale the engine reads it as it is, beyond it
resamples it back. The tissue is synthetic, so this measures the engine and the model's
reaction to pixels, not its accuracy on real tissue.

    .venv/bin/python benchmarks/slide_rescan.py [--model M.onnx] [--side 3000] [--seed 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FACTORS = (0.9, 0.95, 0.98, 0.99, 1.0, 1.01, 1.02, 1.05, 1.1)


def rescan_slide(slide: Path, out: Path, factor: float, mpp: float) -> tuple[int, int]:
    """Write `slide`'s level 0 resized by 1 / factor (bicubic) as a pyramid at mpp x factor;
    returns its (width, height)."""
    from synth.pyramid import write_pyramid

    level0 = tifffile.imread(slide, key=0)  # the first page: level 0
    height, width = level0.shape[:2]
    size = (round(width / factor), round(height / factor))
    pixels = level0 if size == (width, height) else np.asarray(
        Image.fromarray(level0).resize(size, Image.Resampling.BICUBIC))
    write_pyramid(out, size[0], size[1], lambda y0, y1: pixels[y0:y1], mpp * factor,
                  lossless=True)
    return size


def main() -> int:
    from scoring.bundled_model import bundled_model_path
    from scoring.pipeline import ScoreParams, score_slide
    from synth.slide import write_slide

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=bundled_model_path())
    parser.add_argument("--side", type=int, default=3000, help="slide width; height is 3/4")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--tps", type=float, default=30.0, help="the slide's true TPS")
    args = parser.parse_args()
    mpp, height = 0.5, args.side * 3 // 4
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.tiff"
        truth = write_slide(source, args.side, height, args.tps, args.seed, mpp)
        print(f"slide {args.side} x {height} at {mpp} um/px, seed {args.seed}: "
              f"{truth.tumour_cells} tumour cells, true TPS {truth.tps:.2f}")
        print(f"{'factor':>7} {'mpp':>7} {'tumour':>7} {'change':>7} {'positive':>8} "
              f"{'change':>7} {'TPS':>6} {'moved':>6}")
        rows = {}
        for factor in FACTORS:
            slide = Path(tmp) / f"rescan-{factor}.tiff"
            rescan_slide(source, slide, factor, mpp)
            result = score_slide(slide, Path(tmp) / f"out-{factor}", ScoreParams(args.model))
            rows[factor] = (result["tumor_cells"], result["counts"]["tumor_pos"], result["tps"])
        base_t, base_p, base_tps = rows[1.0]
        for factor, (t, p, tps) in rows.items():
            print(f"{factor:>7} {mpp * factor:>7.4f} {t:>7} {100 * (t / base_t - 1):>+6.1f}% "
                  f"{p:>8} {100 * (p / max(base_p, 1) - 1):>+6.1f}% {tps:>6.2f} "
                  f"{tps - base_tps:>+6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
