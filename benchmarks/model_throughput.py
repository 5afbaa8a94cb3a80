"""Training images/s and inference Mpx/s of the point model, for both backbones.

Runs on the CPU, and on the GPU when torch sees one. Training steps include the Hungarian
matching and the loss, as in model/train.py. Usage:
    python benchmarks/model_throughput.py [--crop 256] [--batch 8] [--steps 5] [--tile 512]
                                          [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "cuda"), help="only this one")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
