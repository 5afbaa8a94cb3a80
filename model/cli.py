"""`tps train` and `tps export`. torch and the data readers are imported inside the handlers."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from model.data.arguments import add_data_arguments


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    train = sub.add_parser("train", help="train the point model on point annotations")
    add_data_arguments(train, "microns per pixel of the images; resampled to the model's mpp",
                       several=True)
    train.add_argument("--backbone", choices=("small", "vgg16_bn"))
    train.add_argument("--config", default="",
                       help="config overrides 'key=value;key=value' (values as JSON), "
                            "e.g. 'epochs=50;pfa=false;cls_loss=\"ce\"'")
    train.add_argument("--out", type=Path, required=True, help="folder for checkpoint.pt")
    train.add_argument("--resume", action="store_true",
                       help="continue from OUT/checkpoint.pt with its saved config")
    train.set_defaults(handler=run_train)

    export = sub.add_parser("export", help="export a checkpoint to ONNX (checked with onnxruntime)")
    export.add_argument("checkpoint", type=Path)
    export.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    export.add_argument("--fp16", action="store_true",
                        help="fp16 weights and arithmetic (for GPUs); input and outputs keep "
                             "their types")
    export.add_argument("--float-input", action="store_true",
                        help="take float32 images (the older kind) instead of uint8")
    export.set_defaults(handler=run_export)

    quantize = sub.add_parser(
        "quantize", help="write MODEL.int8.onnx beside an exported model, calibrated on real "
                         "images and checked against it; the CPU runs it only if the check holds")
    quantize.add_argument("model", type=Path, help="the exported float model")
    quantize.add_argument("--calibrate", type=Path, required=True,
                          help="folder of real image tiles (PNG/JPEG/TIFF) for the int8 ranges")
    quantize.add_argument("--check", type=Path, required=True,
                          help="annotated points (CSV, as for tps evaluate) to compare F1 on")
    quantize.add_argument("--mpp", type=float, help="microns per pixel of the --check images")
    quantize.add_argument("--label-map", help="labels of --check to model classes")
    quantize.set_defaults(handler=run_quantize)


def run_train(args: argparse.Namespace) -> int:
    from model.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint
    from model.config import ConfigError, TrainConfig, parse_overrides
    from model.data.dataset import Augmentation, PointDataset
    from model.data.errors import DatasetError
    from model.data.he_render import negatives_of
    from model.train import train

    try:
        if args.resume:
            saved = load_checkpoint(args.out / CHECKPOINT_NAME)["config"]
            config = TrainConfig.from_dict(saved)
        else:
            overrides = parse_overrides(args.config)
            if args.backbone:
                overrides["backbone"] = f'"{args.backbone}"'
            config = TrainConfig().with_overrides(overrides)
        samples = training_samples(args, config.classes, config.mpp)
    except (ConfigError, CheckpointError, DatasetError) as exc:
        print(f"tps train: {exc}", file=sys.stderr)
        return 2
    augmentation = Augmentation(crop_size=config.crop_size, scale_range=config.scale_range,
                                flips=config.flips, stain_sigma=config.stain_sigma,
                                stain_bias=config.stain_bias, he_render=config.he_render,
                                he_tint=config.he_tint,
                                without_dab=negatives_of(config.classes) if config.he_render else ())
    dataset = PointDataset(samples, augmentation, multiple=config.stride)
    print(f"training {config.backbone} (pfa={config.pfa}, ic={config.independent_cls}, "
          f"{config.cls_loss}) on {len(samples)} images -> {args.out}")
    train(config, dataset, args.out, resume=args.resume)
    return 0


def training_samples(args: argparse.Namespace, classes: tuple[str, ...],
                     model_mpp: float) -> list[Any]:
    """Every --data, with its own format, mpp, label map and repeat count."""
    from model.data.arguments import per_dataset
    from model.data.errors import DatasetError
    from model.data.label_map import parse_label_map
    from model.data.samples import load_samples

    n = len(args.data)
    options = zip(args.data, per_dataset(args.data_format, n, "--data-format"),
                  per_dataset(args.mpp, n, "--mpp"), per_dataset(args.label_map, n, "--label-map"),
                  per_dataset(args.repeat, n, "--repeat"))
    samples: list[Any] = []
    for path, data_format, mpp, label_map, repeat in options:
        if repeat is not None and repeat < 1:
            raise DatasetError(f"--repeat must be at least 1, got {repeat}")
        loaded = load_samples(path, parse_label_map(label_map, classes), data_format, mpp,
                              model_mpp)
        samples += loaded * (repeat or 1)
    return samples


def run_export(args: argparse.Namespace) -> int:
    from model.checkpoint import CheckpointError, model_from_checkpoint
    from model.export import (
        FP16_TOLERANCE,
        FP32_TOLERANCE,
        ExportError,
        check_export,
        export_onnx,
    )

    try:
        model, state = model_from_checkpoint(args.checkpoint)
        export_onnx(model, args.out, state, uint8_input=not args.float_input, fp16=args.fp16)
        errors = check_export(model, args.out, FP16_TOLERANCE if args.fp16 else FP32_TOLERANCE)
    except (CheckpointError, ExportError) as exc:
        print(f"tps export: {exc}", file=sys.stderr)
        return 2
    worst = max(errors.values())
    print(f"wrote {args.out} (onnxruntime matches torch within {worst:.2e})")
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from model.quantize import QuantizeError, quantize_and_check
    from scoring.quantized_variant import MAX_F1_CHANGE

    try:
        report = quantize_and_check(args.model, args.calibrate, args.check, args.mpp,
                                    args.label_map)
    except QuantizeError as exc:
        print(f"tps quantize: {exc}", file=sys.stderr)
        return 2
    check = report["check"]
    for name in ("float", "int8"):
        figures = ", ".join(f"{k} {v if v is None else round(v, 4)}"
                            for k, v in check[name].items())
        print(f"{name:>5}: {figures}")
    verdict = ("holds: the CPU runs the int8 variant" if report["holds"] else
               "does not hold: the CPU keeps the float model")
    print(f"wrote {report['path']}; the check (every F1 within {MAX_F1_CHANGE}) {verdict}")
    return 0
