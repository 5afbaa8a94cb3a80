"""`tps evaluate`: run an exported model over annotated images and report the paper's metrics."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.data.arguments import add_data_arguments
from model.evaluation import DEFAULT_RADIUS_PX

if TYPE_CHECKING:
    import numpy as np

    from scoring.decode import DecodedCells

# The stain rule has no scale of its own; its matching radius in pixels refers to the models'.
REFERENCE_MPP = 0.5


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "evaluate", help="score an ONNX model (or the stain rule) against point annotations "
                         "(P/R/F1, counts, TPS-like)")
    parser.add_argument("--method", choices=("model", "stain"), default="model",
                        help="the ONNX model, or the classical stain rule (scoring/stain_rule.py),"
                             " the reference row of every evaluation")
    parser.add_argument("--model", type=Path, help="exported ONNX model (--method model)")
    add_data_arguments(parser, "microns per pixel of the images (default: the model's own mpp; "
                               "required with --method stain)")
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

    detector = _detector(args)
    image_mpp = args.mpp if args.mpp is not None else detector.mpp
    label_map = parse_label_map(args.label_map, detector.classes)
    # Predictions come back in each image's own frame, so the truth is never resampled;
    # only the radius moves from the model's pixels (or microns) to the image's.
    radius = radius_in_image_px(image_mpp, detector.mpp, args.radius_px, args.radius_um)
    counts = []
    for item in read_annotations(args.data, args.data_format):
        sample = to_sample(item, label_map)  # one image in memory at a time
        cells = detector.detect(sample.image, image_mpp)
        counts.append(count_image(cells.xy, cells.cls, sample.xy, sample.labels, radius,
                                  len(detector.classes), sample.name))
    report = summarize(counts, detector.classes, detector.tumor_pos, detector.tumor_neg, radius)
    return {"model": detector.report, "data": str(args.data), "image_mpp": image_mpp,
            "model_mpp": detector.mpp, "threshold": detector.threshold} | report


@dataclass(frozen=True)
class _Detector:
    classes: tuple[str, ...]
    tumor_pos: tuple[str, ...]
    tumor_neg: tuple[str, ...]
    mpp: float  # the scale the matching radius in pixels refers to
    threshold: float | None
    report: dict[str, str]
    detect: Callable[[np.ndarray, float], DecodedCells]


def _detector(args: argparse.Namespace) -> _Detector:
    from scoring.errors import ModelError

    if args.method == "stain":
        from scoring.stain_rule import STAIN_CLASSES, StainRule, detect_by_stain

        if args.mpp is None:
            raise ModelError("the stain rule needs the images' microns per pixel: give --mpp")
        rule = StainRule()
        return _Detector(STAIN_CLASSES, ("tumor_pos",), ("tumor_neg",), REFERENCE_MPP, None,
                         {"name": "stain rule", "version": str(asdict(rule)), "sha256": ""},
                         lambda image, mpp: detect_by_stain(image, mpp, rule))
    from scoring.model_info import ModelInfo
    from scoring.region_detect import detect_region

    if args.model is None:
        raise ModelError("give --model (or --method stain)")
    info = ModelInfo.from_onnx(args.model)
    threshold = info.threshold if args.threshold is None else args.threshold
    return _Detector(info.classes, info.tumor_pos, info.tumor_neg, info.mpp, threshold,
                     info.as_report(),
                     lambda image, mpp: detect_region(args.model, image, mpp, args.threshold))


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
