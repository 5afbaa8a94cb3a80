"""Whole-slide pipeline figures on a synthetic markers slide.

Prints end-to-end Mpx/s, model-only Mpx/s on the same tiles, the pipeline efficiency
(model-only time / tile-loop time) and peak RSS for a slide and one 4x larger (each scored in
its own subprocess, so ru_maxrss is that slide's alone).

    .venv/bin/python benchmarks/worker_pipeline.py [--model M.onnx] [--side 3072]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def score_once(slide: Path, model: Path, out: Path, tile: int) -> dict[str, float]:
    from scoring.pipeline import ScoreParams, score_slide

    started = time.perf_counter()
    result = score_slide(slide, out, ScoreParams(model, tile_size=tile))
    total = time.perf_counter() - started
    return {"total_s": total, **result["timings"], "tiles": result["params"]["tiles"],
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def model_only(slide: Path, model: Path, tile: int, batch: int) -> tuple[float, int]:
    """Seconds to run the model alone over the same tiles, read into memory beforehand."""
    from scoring.inference import get_runner
    from scoring.prefetch import TileSource
    from scoring.resample import to_model_input
    from scoring.slide_reader import SlideReader
    from scoring.tiling import plan_tiles
    from scoring.tissue import detect_tissue

    runner = get_runner(model)
    info = runner.info
    with SlideReader(slide) as reader:
        grid = plan_tiles(reader.info.width, reader.info.height, info.mpp / reader.info.mpp,
                          tile, 64, info.input_multiple, detect_tissue(reader))
        source = TileSource(reader, grid)
        tiles = np.stack([source.read(o) for o in grid.origins])
    runner.run(to_model_input(tiles[:batch]))  # warm-up
    started = time.perf_counter()
    for i in range(0, len(tiles), batch):
        runner.run(to_model_input(tiles[i:i + batch]))
    return time.perf_counter() - started, len(tiles)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, help="ONNX model (default: the marker model)")
    parser.add_argument("--side", type=int, default=3072, help="small slide side, level-0 px")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--child", nargs=2, metavar=("SLIDE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="worker-bench-"))
    model = args.model or _marker_model(work)
    if args.child:
        print(json.dumps(score_once(Path(args.child[0]), model, Path(args.child[1]), args.tile)))
        return
    from synth.slide import write_slide

    figures = {}
    for name, side in (("small", args.side), ("4x", args.side * 2)):
        slide = work / f"{name}.tiff"
        write_slide(slide, side, side, tps=40.0, seed=1, style="markers")
        child = subprocess.run([sys.executable, __file__, "--model", str(model), "--tile",
                                str(args.tile), "--child", str(slide), str(work / name)],
                               capture_output=True, text=True, check=True)
        figures[name] = json.loads(child.stdout.splitlines()[-1])
        figures[name]["mpx"] = side * side / 1e6
    small = figures["small"]
    tile_mpx = small["tiles"] * args.tile**2 / 1e6
    model_s, _ = model_only(work / "small.tiff", model, args.tile, 4)
    loop_s = small["detect_s"]
    print(f"slide {args.side}x{args.side}: {small['tiles']} tiles of {args.tile}, "
          f"{tile_mpx:.1f} Mpx through the model")
    print(f"end to end    : {small['mpx'] / small['total_s']:.2f} slide Mpx/s "
          f"({small['total_s']:.2f} s; tile loop {loop_s:.2f} s = {tile_mpx / loop_s:.2f} Mpx/s)")
    print(f"model only    : {tile_mpx / model_s:.2f} Mpx/s ({model_s:.2f} s)")
    print(f"efficiency    : {model_s / loop_s:.2f} (model-only / tile loop), "
          f"{model_s / small['total_s']:.2f} (model-only / end to end)")
    print(f"stages (s)    : tissue {small['tissue_s']:.2f}, tile loop {loop_s:.2f}, "
          f"outputs {small.get('outputs_s', 0.0):.2f}")
    print(f"peak RSS      : small {small['rss_mb']:.0f} MB, 4x {figures['4x']['rss_mb']:.0f} MB, "
          f"ratio {figures['4x']['rss_mb'] / small['rss_mb']:.2f}")


def _marker_model(work: Path) -> Path:
    from tests.marker_model import build_marker_model

    return build_marker_model(work / "markers.onnx")


if __name__ == "__main__":
    main()
