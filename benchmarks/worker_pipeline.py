"""Whole-slide pipeline figures on a synthetic markers slide.

Prints end-to-end Mpx/s, model-only Mpx/s on the same tiles, the pipeline efficiency
(model-only time / tile-loop time) and peak RSS for a slide and one 4x larger (each scored in
its own subprocess, so ru_maxrss is that slide's alone). The tile loop's shape is the engine's own choice for this host unless given.

    .venv/bin/python benchmarks/worker_pipeline.py [--model M.onnx] [--side 3072] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def score_once(slide: Path, model: Path, out: Path, tile: int | None,
               batch: int | None) -> dict[str, float]:
    from scoring.pipeline import ScoreParams, score_slide

    started = time.perf_counter()
    result = score_slide(slide, out, ScoreParams(model, tile_size=tile, batch_size=batch))
    total = time.perf_counter() - started
    params = result["params"]
    return {"total_s": total, **result["timings"], "tiles": params["tiles"],
            "tile": params["tile_size"], "halo": params["halo"], "batch": params["batch_size"],
            "readers": params["read_workers"], "provider": params["provider"],
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def model_only(slide: Path, model: Path, tile: int, halo: int, batch: int) -> float:
    """Seconds to run the model alone over the same tiles, read into memory beforehand."""
    from scoring.inference import get_runner
    from scoring.resample import snapped_scale
    from scoring.slide_reader import SlideReader
    from scoring.tile_source import TileSource
    from scoring.tiling import plan_tiles
    from scoring.tissue import detect_tissue

    runner = get_runner(model)
    info = runner.info
    with SlideReader(slide) as reader:
        scale = snapped_scale(info.mpp / reader.info.mpp, reader.level_downsamples)
        grid = plan_tiles(reader.info.width, reader.info.height, scale, tile, halo,
                          info.input_multiple, detect_tissue(reader))
        tiles = TileSource(reader, scale, tile).read_batch(grid.origins)
    runner.run_tiles(tiles[:batch])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(tiles), batch):
        runner.run_tiles(tiles[i:i + batch])
    return time.perf_counter() - started


def _child(model: Path, slide: Path, out: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--model", str(model), "--child", str(slide), str(out)]
    command += ["--tile", str(args.tile)] if args.tile else []
    command += ["--batch", str(args.batch)] if args.batch else []
    child = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(child.stdout.splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, help="ONNX model (default: the marker model)")
    parser.add_argument("--side", type=int, default=3072, help="small slide side, level-0 px")
    parser.add_argument("--tile", type=int, help="tile side (default: the engine's choice)")
    parser.add_argument("--batch", type=int, help="batch size (default: the engine's choice)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the small slide")
    parser.add_argument("--child", nargs=2, metavar=("SLIDE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="worker-bench-"))
    model = args.model or _marker_model(work)
    if args.child:
        out = score_once(Path(args.child[0]), model, Path(args.child[1]), args.tile, args.batch)
        print(json.dumps(out))
        return
    from synth.slide import write_slide

    for name, side in (("small", args.side), ("4x", args.side * 2)):
        write_slide(work / f"{name}.tiff", side, side, tps=40.0, seed=1, style="markers")
    runs = [_child(model, work / "small.tiff", work / f"small{i}", args)
            for i in range(args.repeat)]
    big = _child(model, work / "4x.tiff", work / "4x", args)
    small = runs[0]
    tile, halo, batch = int(small["tile"]), int(small["halo"]), int(small["batch"])
    tile_mpx = small["tiles"] * tile**2 / 1e6
    model_s = statistics.median(model_only(work / "small.tiff", model, tile, halo, batch)
                                for _ in range(args.repeat))
    loop_s = statistics.median(r["detect_s"] for r in runs)
    total_s = statistics.median(r["total_s"] for r in runs)
    slide_mpx = args.side**2 / 1e6
    print(f"slide {args.side}x{args.side}: {small['tiles']} tiles of {tile} (halo {halo}), "
          f"batch {batch}, {small['readers']} reader process(es), {small['provider']}; "
          f"{tile_mpx:.1f} Mpx through the model; median of {args.repeat}")
    print(f"end to end    : {slide_mpx / total_s:.2f} slide Mpx/s "
          f"({total_s:.2f} s; tile loop {loop_s:.2f} s = {tile_mpx / loop_s:.2f} Mpx/s)")
    rates = ", ".join(f"{tile_mpx / r['detect_s']:.2f}" for r in runs)
    print(f"tile loops    : {rates} Mpx/s")
    print(f"model only    : {tile_mpx / model_s:.2f} Mpx/s ({model_s:.2f} s)")
    print(f"efficiency    : {model_s / loop_s:.2f} (model-only / tile loop), "
          f"{model_s / total_s:.2f} (model-only / end to end)")
    print(f"stages (s)    : tissue {small['tissue_s']:.2f}, tile loop {small['detect_s']:.2f}, "
          f"outputs {small.get('outputs_s', 0.0):.2f}")
    print(f"peak RSS      : small {small['rss_mb']:.0f} MB, 4x {big['rss_mb']:.0f} MB, "
          f"ratio {big['rss_mb'] / small['rss_mb']:.2f} (the scoring process; its tile readers "
          "are processes of their own, see benchmarks/gpu_slide.py)")


def _marker_model(work: Path) -> Path:
    from tests.marker_model import build_marker_model

    return build_marker_model(work / "markers.onnx")


if __name__ == "__main__":
    main()
