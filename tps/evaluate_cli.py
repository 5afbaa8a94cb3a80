"""`tps evaluate`: run an exported model over annotated images and report the paper's metrics."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from model.data.arguments import add_data_arguments
from model.evaluation import DEFAULT_RADIUS_PX


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "evaluate", help="score an ONNX model against point annotations (P/R/F1, counts, TPS-like)")
    parser.add_argument("--model", type=Path, required=True, help="exported ONNX model")
    add_data_arguments(parser, "microns per pixel of the images (default: the model's own mpp)")
    radius = parser.add_mutually_exclusive_group()
    radius.add_argument("--radius-px", type=float, default=DEFAULT_RADIUS_PX,
                        help="matching radius in pixels at the model's resolution (default 12)")
    radius.add_argument("--radius-um", type=float, help="matching radius in microns")
    parser.add_argument("--threshold", type=float,
                        help="p_obj threshold (default: the model's recommended one)")
    parser.add_argument("--out", type=Path, help="write the full metrics JSON here")
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from model.data.errors import DatasetError
    from scoring.errors import TpsError

    try:
        report = evaluate(args)
    except (DatasetError, TpsError) as exc:
        print(f"tps evaluate: {exc}", file=sys.stderr)
        return 2
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(format_report(report))
    return 0


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from model.data.label_map import parse_label_map
    from model.data.point_readers import read_annotations
    from model.data.samples import to_sample
    from model.evaluation import count_image, radius_in_image_px, summarize
    from scoring.model_info import ModelInfo
    from scoring.region_detect import detect_region

    info = ModelInfo.from_onnx(args.model)
    image_mpp = args.mpp if args.mpp is not None else info.mpp
    label_map = parse_label_map(args.label_map, info.classes)
    # Predictions come back in each image's own frame, so the truth is never resampled;
    # only the radius moves from the model's pixels (or microns) to the image's.
    radius = radius_in_image_px(image_mpp, info.mpp, args.radius_px, args.radius_um)
    counts = []
    for item in read_annotations(args.data, args.data_format):
        sample = to_sample(item, label_map)  # one image in memory at a time
        cells = detect_region(args.model, sample.image, image_mpp, args.threshold)
        counts.append(count_image(cells.xy, cells.cls, sample.xy, sample.labels, radius,
                                  len(info.classes), sample.name))
    report = summarize(counts, info.classes, info.tumor_pos, info.tumor_neg, radius)
    threshold = info.threshold if args.threshold is None else args.threshold
    return {"model": info.as_report(), "data": str(args.data), "image_mpp": image_mpp,
            "model_mpp": info.mpp, "threshold": threshold} | report


def format_report(report: dict[str, Any]) -> str:
    det = report["detection"]
    lines = [(f"{report['images']} images, radius {report['radius_px']:.2f} px "
              f"at {report['image_mpp']} um/px"),
             (f"detection       P {_fmt(det['precision'])}  R {_fmt(det['recall'])}  "
              f"F1 {_fmt(det['f1'])}  (tp {det['tp']}, fp {det['fp']}, fn {det['fn']})")]
    for name, m in report["classification"]["per_class"].items():
        if m["f1"] is not None:
            lines.append(f"  {name:<13} P {_fmt(m['precision'])}  R {_fmt(m['recall'])}  "
                         f"F1 {_fmt(m['f1'])}")
    macro = report["classification"]["macro"]
    lines.append(f"classification  P {_fmt(macro['precision'])}  R {_fmt(macro['recall'])}  "
                 f"F1 {_fmt(macro['f1'])}  (macro)")
    count, fraction = report["count"], report["positive_fraction"]
    lines.append(f"count           gt {count['gt']}  pred {count['pred']}  "
                 f"mean |error| per image {_fmt(count['mean_abs_error'], 1)}")
    lines.append(f"positive share  gt {_fmt(fraction['gt'])}  pred {_fmt(fraction['pred'])}  "
                 f"mean |error| per image {_fmt(fraction['mean_abs_error'])} "
                 f"over {fraction['images_defined']} images")
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
