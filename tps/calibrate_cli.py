"""`tps calibrate`: choose the model's positive threshold on training data, so that the share
of tumour cells it calls positive is unbiased, and write it into a copy of the ONNX file.

The decode calls a tumour cell positive when p(pos) / (p(pos) + p(neg)) reaches the model's
`positive_threshold` (scoring.decode.SignCall). Here, for each threshold on a grid, the
predicted positive share of the cells the model calls tumour is compared with the annotated
positive share of each dataset; the threshold with the smallest mean gap over the datasets
wins. Use training data only: the held-out figures are what it must then be judged on.

The decode rules it is given are written first, so the threshold is chosen on the cells the
written file will call: `--positive-nucleus-dab` (a tumour cell whose nucleus holds that much
DAB is positive whatever the network says, scoring.decode.SignCall), `--min-distance-um` (of
two cells closer than that the surer one stays, scoring.decode.kept_anchors), `--views` and
`--view-radius-um` (the model run on that many of the tile's symmetries, its cells fused,
scoring.views) and `--threshold` (the p_obj a cell needs). `--version` names the file.

`--tps-margin` writes the model's measured TPS error (points) beside it, which widens every
interval the worker reports (scoring.tps.score_counts): measure it on validation slides, never
the ones the model is then judged on (benchmarks/tps_accuracy.py --first-seed prints it).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from model.data.arguments import add_data_arguments, per_dataset

GRID = np.round(np.arange(0.30, 0.91, 0.01), 2)
# The metadata keys it writes besides the positive threshold, each as --key-with-dashes
RULES: tuple[tuple[str, type, str], ...] = (
    ("tps_margin", float, "TPS points the interval is widened by on each side: the model's "
                          + "measured error on validation slides"),
    ("positive_nucleus_dab", float, "mean nuclear DAB (natural-log OD) past which a tumour cell "
                                    + "is positive whatever the network says"),
    ("min_distance_um", float, "of two cells closer than this (microns) the surer one is kept"),
    ("views", int, "how many of the tile's 8 symmetries the model is run on, its cells fused: "
                   + "1, 2, 4 or 8"),
    ("view_radius_um", float, "microns within which the views' points are one cell"),
    ("threshold", float, "the p_obj a cell needs, the model's recommended threshold"),
    ("version", str, "the calibrated file's version"),
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("calibrate", help="choose the model's positive threshold on "
                                              "training data (unbiased positive share)")
    parser.add_argument("--model", type=Path, required=True, help="exported ONNX model")
    add_data_arguments(parser, "microns per pixel of the images (default: the model's)",
                       several=True)
    parser.add_argument("--out", type=Path, required=True, help="the calibrated .onnx to write")
    for key, kind, said in RULES:
        parser.add_argument("--" + key.replace("_", "-"), type=kind, default=None,
                            help=f"{said} (kept if not given)")
    parser.set_defaults(handler=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from model.data.errors import DatasetError
    from scoring.errors import TpsError
    from scoring.model_info import (
        ModelInfo,
        check_fraction,
        check_margin,
        check_min_distance,
        check_nucleus_dab,
        check_view_radius,
        check_views,
    )

    checks: dict[str, Callable[[Any], Any]] = {
        "tps_margin": check_margin, "positive_nucleus_dab": check_nucleus_dab,
        "min_distance_um": check_min_distance, "views": check_views,
        "view_radius_um": check_view_radius, "threshold": partial(check_fraction, "threshold")}
    written = {key: getattr(args, key) for key, _, _ in RULES if getattr(args, key) is not None}
    for key, value in written.items():
        try:
            if key in checks:  # the version is free text
                checks[key](value)
        except ValueError as exc:
            flag = "--" + key.replace("_", "-")
            print(f"tps calibrate: {flag} {str(exc).removeprefix(key + ' ')}", file=sys.stderr)
            return 2
    staged = args.out.with_name(args.out.name + ".staged")
    try:
        ModelInfo.from_onnx(args.model)  # a missing or broken file: one clear line
        write_metadata(args.model, staged, written)  # the rules the threshold is chosen under
        gaps, threshold = calibrate(staged, args)
        write_metadata(staged, args.out, {"positive_threshold": threshold})
    except (DatasetError, TpsError, ValueError) as exc:
        print(f"tps calibrate: {exc}", file=sys.stderr)
        return 2
    finally:
        staged.unlink(missing_ok=True)
    for name, (true_share, shares) in gaps.items():
        at = dict(zip(GRID.tolist(), shares))
        print(f"{name}: true positive share {true_share:.3f}, predicted {at[0.5]:.3f} at 0.5, "
              f"{at[threshold]:.3f} at {threshold:.2f}")
    said = "".join(f", {key} {value:g}" if isinstance(value, float) else f", {key} {value}"
                   for key, value in written.items())
    print(f"positive_threshold {threshold:.2f}{said} -> {args.out}")
    return 0


def calibrate(model: Path, args: argparse.Namespace
              ) -> tuple[dict[str, tuple[float, list[float]]], float]:
    """Each dataset's (annotated positive share, predicted share at each GRID threshold) and
    the threshold with the smallest mean gap, `model`'s own decode rules applied."""
    from model.data.label_map import parse_label_map
    from model.data.point_readers import read_annotations
    from model.data.samples import to_sample
    from scoring.decode import kept_anchors
    from scoring.model_info import ModelInfo
    from scoring.region_detect import region_outputs
    from scoring.stain_rule import nucleus_dab

    info = ModelInfo.from_onnx(model)
    sign = info.sign_call()
    if sign is None:
        raise ValueError("the model has more than one positive or negative tumour class")
    n = len(args.data)
    gaps: dict[str, tuple[float, list[float]]] = {}
    for path, data_format, mpp, label_map in zip(
            args.data, per_dataset(args.data_format, n, "--data-format"),
            per_dataset(args.mpp, n, "--mpp"), per_dataset(args.label_map, n, "--label-map")):
        labels = parse_label_map(label_map, info.classes)
        ratios, brown, pos, tumour = [], [], 0, 0
        for item in read_annotations(path, data_format):
            sample = to_sample(item, labels)  # one image in memory at a time
            pos += int((sample.labels == sign.pos).sum())
            tumour += int(np.isin(sample.labels, (sign.pos, sign.neg)).sum())
            image_mpp = mpp or info.mpp
            xy, p_obj, p_class = region_outputs(model, sample.image, image_mpp)
            kept = kept_anchors(xy, p_obj, info.threshold, info.min_distance_px(image_mpp))
            called = kept[np.isin(p_class[kept].argmax(axis=1), (sign.pos, sign.neg))]
            p, q = p_class[called, sign.pos], p_class[called, sign.neg]
            ratios.append(p / np.maximum(p + q, 1e-12))
            brown.append(np.zeros(len(p), bool) if sign.nucleus_dab is None else
                         nucleus_dab(sample.image, xy[called], image_mpp) > sign.nucleus_dab)
        ratio = np.concatenate(ratios) if ratios else np.zeros(0)
        stained = np.concatenate(brown) if brown else np.zeros(0, bool)
        if tumour == 0 or len(ratio) == 0:
            raise ValueError(f"{path}: no annotated or predicted tumour cells to calibrate on")
        shares = [float(((ratio >= t) | stained).mean()) for t in GRID]
        gaps[str(path)] = (pos / tumour, shares)
    mean_gap = np.mean([np.abs(np.array(s) - true) for true, s in gaps.values()], axis=0)
    return gaps, float(GRID[int(np.argmin(mean_gap))])  # ties: the lowest threshold


def write_metadata(model: Path, out: Path, keys: dict[str, float | int | str]) -> None:
    """A copy of `model` with these metadata keys set."""
    import onnx

    proto = onnx.load(str(model))
    meta = {p.key: p.value for p in proto.metadata_props}
    for key, value in keys.items():
        meta[key] = f"{value:g}" if isinstance(value, float) else str(value)
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".partial")
    onnx.save(proto, str(tmp))
    shutil.move(tmp, out)
