"""Whole-slide figures on a GPU host, unattended, in under 8 minutes; a smoke run on a CPU.

Generates a synthetic IHC slide with `tps synth slide --mpp 0.25` (the reference is 80,000 x
60,000 px, about 40 % tissue; --scale shrinks both sides, and the area factor is printed), then
scores it with each model in a child process of its own and prints, as it goes: end-to-end
seconds, model-only Mpx/s, decode Mpx/s (the reader processes alone), GPU busy fraction and
peak GPU memory sampled with NVML (nvidia-ml-py; n/a without it or without a GPU) and peak
host RSS (main process; largest reader). Models: the shipped small model with uint8 input, in
fp32 and (on a GPU) fp16; and a VGG16-bn export in fp32 and fp16, *randomly initialised* (no
trained VGG16 weights exist here: its figures are for timing only), exported when torch is
importable or given with --vgg16. Usage:
    python benchmarks/gpu_slide.py [--scale 0.35] [--budget-s 420] [--vgg16 VGG.onnx]
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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REFERENCE = (80_000, 60_000)
SLIDE_MPP = 0.25


def say(text: str) -> None:
    print(text, flush=True)


def child(model: Path, slide: Path, out: Path) -> dict[str, Any]:
    """Score the slide, then time the model alone and the readers alone on its tiles."""
    from benchmarks.nvml_sampler import GpuSampler
    from scoring.inference import get_runner
    from scoring.pipeline import ScoreParams, score_slide
    from scoring.prefetch import TileReaders
    from scoring.slide_reader import SlideReader
    from scoring.tiling import plan_tiles
    from scoring.tissue import detect_tissue

    runner = get_runner(model)
    with GpuSampler() as gpu:
        started = time.perf_counter()
        result = score_slide(slide, out, ScoreParams(model))
        total_s = time.perf_counter() - started
    params = result["params"]
    tile, batch = params["tile_size"], params["batch_size"]
    with SlideReader(slide) as reader:
        grid = plan_tiles(reader.info.width, reader.info.height, runner.info.mpp / SLIDE_MPP,
                          tile, params["halo"], runner.info.input_multiple,
                          detect_tissue(reader))
        with TileReaders(reader.info, params["read_workers"]) as readers:
            started, tiles = time.perf_counter(), 0
            for tiles_batch in readers.batches(grid, batch):
                tiles += len(tiles_batch)
            decode_s = time.perf_counter() - started
            reader_rss_mb = readers.peak_rss_mb()
    runner.run_tiles(tiles_batch[:1].repeat(batch, axis=0))  # warm-up at the loop's shape
    started, repeats = time.perf_counter(), 0
    while time.perf_counter() - started < 5.0 or repeats < 3:
        runner.run_tiles(tiles_batch[:1].repeat(batch, axis=0))
        repeats += 1
    model_mpx_s = repeats * batch * tile**2 / 1e6 / (time.perf_counter() - started)
    return {"provider": params["provider"], "tiles": params["tiles"], "tile": tile,
            "batch": batch, "readers": params["read_workers"], "total_s": total_s,
            **result["timings"], "model_mpx_s": model_mpx_s,
            "decode_mpx_s": tiles * tile**2 / 1e6 / decode_s, **gpu.figures(),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "reader_rss_mb": reader_rss_mb}


def models(work: Path, on_gpu: bool, vgg16: Path | None,
           every: bool) -> list[tuple[str, Path]]:
    import onnx

    from model.precision import to_fp16, with_uint8_input

    small = with_uint8_input(onnx.load(str(REPO / "models" / "default.onnx")))
    onnx.save(small, str(work / "small.onnx"))
    found = [("small fp32", work / "small.onnx")]
    if on_gpu:  # fp16 runs slower than fp32 on a CPU: it is measured where it pays
        onnx.save(to_fp16(small), str(work / "small-fp16.onnx"))
        found.append(("small fp16", work / "small-fp16.onnx"))
    if vgg16 is None and not (on_gpu or every):
        say("VGG16-bn skipped on the CPU smoke run (about 0.1 Mpx/s here); --all runs it")
        return found
    if vgg16 is None:
        try:
            from model.config import TrainConfig
            from model.export import export_onnx
            from model.network import PointNet
        except ImportError as exc:
            say(f"VGG16-bn skipped: torch is not importable here ({exc}); give --vgg16")
            return found
        vgg16 = work / "vgg16.onnx"
        export_onnx(PointNet(TrainConfig(backbone="vgg16_bn")), vgg16)  # random weights
    found.append(("VGG16-bn fp32 (random weights)", vgg16))
    if on_gpu:
        onnx.save(to_fp16(onnx.load(str(vgg16))), str(work / "vgg16-fp16.onnx"))
        found.append(("VGG16-bn fp16 (random weights)", work / "vgg16-fp16.onnx"))
    return found


def _fmt(value: float | None, unit: str, scale: float = 1.0) -> str:
    return "n/a (no GPU/NVML)" if value is None else f"{value * scale:.1f}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, help="side factor of the reference slide "
                        "(default 0.35 with a GPU, 0.05 without)")
    parser.add_argument("--budget-s", type=float, default=420.0, help="no new run after this")
    parser.add_argument("--vgg16", type=Path, help="a VGG16-bn ONNX export to time")
    parser.add_argument("--all", action="store_true", help="VGG16-bn on the CPU too")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "SLIDE", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*map(Path, args.child))))
        return
    import onnxruntime

    from scoring.providers import GPU_PROVIDERS, cuda_driver_present, provider_order

    started = time.perf_counter()
    # Asked, not started: a session here would hold a CUDA context (and GPU memory) all along.
    on_gpu = provider_order(onnxruntime.get_available_providers(),
                            cuda_driver_present())[0] in GPU_PROVIDERS
    scale = args.scale or (0.35 if on_gpu else 0.05)
    width, height = (round(side * scale) for side in REFERENCE)
    say(f"{'GPU' if on_gpu else 'no GPU: CPU smoke run'}; slide {width} x {height} px at "
        f"{SLIDE_MPP} um/px = {scale**2:.4f} of the reference {REFERENCE[0]} x {REFERENCE[1]} "
        f"(multiply slide-sized figures by {1 / scale**2:.1f} for the reference)")
    work = Path(tempfile.mkdtemp(prefix="gpu-slide-"))
    slide = work / "slide.tiff"
    subprocess.run([sys.executable, "-m", "tps", "synth", "slide", "--out", str(slide),
                    "--width", str(width), "--height", str(height), "--tps", "40",
                    "--mpp", str(SLIDE_MPP)], check=True, cwd=REPO, capture_output=True)
    say(f"slide generated in {time.perf_counter() - started:.0f} s")
    for name, model in models(work, on_gpu, args.vgg16, args.all):
        if time.perf_counter() - started > args.budget_s:
            say(f"{name}: skipped, the {args.budget_s:.0f} s budget is spent")
            continue
        done = subprocess.run([sys.executable, __file__, "--child", str(model), str(slide),
                               str(work / "out")], check=True, capture_output=True, text=True)
        f = json.loads(done.stdout.splitlines()[-1])
        say(f"{name}: {f['provider']}, {f['tiles']} tiles of {f['tile']} in batches of "
            f"{f['batch']}, {f['readers']} readers\n"
            f"  end to end {f['total_s']:.1f} s (tissue {f['tissue_s']:.1f}, tile loop "
            f"{f['detect_s']:.1f}, model in loop {f['model_s']:.1f}); model only "
            f"{f['model_mpx_s']:.1f} Mpx/s; decode {f['decode_mpx_s']:.1f} Mpx/s\n"
            f"  GPU busy {_fmt(f['gpu_busy'], ' %', 100)}; peak GPU memory "
            f"{_fmt(f['gpu_memory_mb'], ' MB')}; peak RSS {f['rss_mb']:.0f} MB "
            f"(largest reader {f['reader_rss_mb']:.0f} MB)")
    say(f"done in {time.perf_counter() - started:.0f} s; peak RSS is the scoring process's "
        "own (its tile readers are separate processes, measured in the decode pass)")


if __name__ == "__main__":
    main()
