"""Training images/s and inference Mpx/s of the point model, for both backbones.

Runs on the CPU, and on the GPU when torch sees one. Training steps include the Hungarian
matching and the loss, as in model/train.py. Inference is measured twice: in torch, and as
the worker runs it, the ONNX export (uint8 input; fp32, and fp16 where onnxruntime has a GPU)
through scoring.inference on the provider it picks. Usage:
    python benchmarks/model_throughput.py [--crop 256] [--batch 8] [--steps 5] [--tile 512]
                                          [--device cpu|cuda] [--onnx M.onnx ...]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from model.config import TrainConfig
from model.criterion import PointCriterion
from model.matcher import match_batch
from model.network import PointNet


def synthetic_batch(batch: int, size: int, cells: int,
                    device: torch.device) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    generator = torch.Generator().manual_seed(0)
    images = (torch.rand(batch, 3, size, size, generator=generator) * 255).to(device)
    targets = [{"points": (torch.rand(cells, 2, generator=generator) * size).to(device),
                "labels": torch.randint(0, 4, (cells,), generator=generator).to(device)}
               for _ in range(batch)]
    return images, targets


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def training_rate(config: TrainConfig, device: torch.device, batch: int, steps: int) -> float:
    model = PointNet(config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    criterion = PointCriterion(config)
    images, targets = synthetic_batch(batch, config.crop_size, 60, device)
    for step in range(steps + 1):  # the first step warms up and is not timed
        if step == 1:
            synchronize(device)
            start = time.perf_counter()
        outputs = model(images)
        loss = criterion.total(criterion.terms(outputs, targets,
                                               match_batch(outputs, targets, config.alpha)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]  # untyped in torch's stubs
        optimizer.step()
    synchronize(device)
    return batch * steps / (time.perf_counter() - start)


@torch.no_grad()
def inference_rate(config: TrainConfig, device: torch.device, tile: int, batch: int,
                   repeats: int) -> float:
    model = PointNet(config).to(device).eval()
    images = torch.rand(batch, 3, tile, tile, device=device) * 255
    model(images)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        model(images)
    synchronize(device)
    return batch * tile * tile * repeats / (time.perf_counter() - start) / 1e6


def onnx_rates(config: TrainConfig, tile: int, batch: int, repeats: int) -> dict[str, float]:
    """Mpx/s of the exported model in the worker's engine, per precision."""
    from model.export import export_onnx
    from scoring.inference import get_runner
    from scoring.providers import GPU_PROVIDERS

    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("fp32", "fp16"):
            path = Path(tmp) / f"{precision}.onnx"
            export_onnx(PointNet(config), path, fp16=precision == "fp16")
            if precision == "fp16" and get_runner(path).provider not in GPU_PROVIDERS:
                break  # fp16 pays on a GPU; on the CPU it runs slower than fp32
            provider, rate = engine_rate(path, tile, batch, repeats)
            rates[f"{precision} {provider}"] = rate
    return rates


def engine_rate(path: Path, tile: int, batch: int, repeats: int) -> tuple[str, float]:
    """(provider, median Mpx/s) of an ONNX file in the worker's engine on random uint8 tiles."""
    from scoring.inference import get_runner

    runner = get_runner(path)
    tiles = np.random.default_rng(0).integers(0, 256, (batch, tile, tile, 3), np.uint8)
    runner.run_tiles(tiles)  # warm-up: the provider plans this shape once
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        runner.run_tiles(tiles)
        seconds.append(time.perf_counter() - start)
    rate = batch * tile * tile / statistics.median(seconds) / 1e6
    return runner.provider.removesuffix("ExecutionProvider"), rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "cuda"), help="only this one")
    parser.add_argument("--onnx", type=Path, nargs="+",
                        help="only time these ONNX files in the engine (batch / 2 tiles)")
    args = parser.parse_args()
    for path in args.onnx or []:
        provider, rate = engine_rate(path, args.tile, args.batch // 2 or 1, args.repeats)
        print(f"{path.name}: {rate:.2f} Mpx/s on {provider} ({args.tile} px tiles)")
    if args.onnx:
        return
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    if args.device:
        devices = [torch.device(args.device)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    for device in devices:
        name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
        scale = 8 if device.type == "cuda" else 1  # longer runs where steps are fast
        for backbone in ("small", "vgg16_bn"):
            config = TrainConfig(backbone=backbone, crop_size=args.crop)
            train = training_rate(config, device, args.batch, args.steps * scale)
            infer = inference_rate(config, device, args.tile, args.batch // 2 or 1,
                                   args.repeats * scale)
            print(f"{name:>24} {backbone:>9}: train {train:7.1f} images/s "
                  f"({args.crop}x{args.crop}, batch {args.batch}); "
                  f"inference {infer:7.2f} Mpx/s ({args.tile}x{args.tile} tiles)")
    for backbone in ("small", "vgg16_bn"):
        config = TrainConfig(backbone=backbone)
        rates = onnx_rates(config, args.tile, args.batch // 2 or 1, args.repeats)
        print(f"{'onnxruntime':>24} {backbone:>9}: " + ", ".join(
            f"{name} {rate:.2f} Mpx/s" for name, rate in rates.items()))


if __name__ == "__main__":
    main()
