"""`tps score` (whole slides) and `tps detect` (plain region images). Heavy imports stay in
the handlers so that `tps --help` stays fast and never needs onnxruntime."""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

from scoring.bundled_model import bundled_model_path
from scoring.tps import ASSAY_CUTOFFS, DEFAULT_ASSAY


class ProgressLine:
    """`name  12/40 tiles  30%  ETA 0:12` rewritten in place on stderr."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        eta = elapsed / done * (total - done) if done else 0.0
        minutes, seconds = divmod(int(eta + 0.5), 60)
        share = 100 * done // max(total, 1)
        sys.stderr.write(f"\r{self.name}  {done}/{total} tiles  {share:3d}%  "
                         f"ETA {minutes}:{seconds:02d}  ")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def summary_line(name: str, result: dict[str, Any], out_dir: Path) -> str:
    tps = result["tps"]
    if tps is None and result["flags"].get("not_ihc"):
        score = "TPS withheld (the stain is not IHC)"
    elif tps is None:
        score = "TPS undefined (no tumour cells)"
    else:
        lo, hi = result["tps_ci95"]
        score = f"TPS {tps:.1f}% [{lo:.1f}-{hi:.1f}] {result['category']}"
    flags = [k for k, v in result["flags"].items() if v]
    counts = result["counts"]
    tumour = counts.get("tumor_pos", 0) + counts.get("tumor_neg", 0)
    flag_text = f"  flags: {', '.join(flags)}" if flags else ""
    return f"{name}: {score}  tumour cells {tumour}{flag_text}  -> {out_dir}"


def run_score(args: argparse.Namespace) -> int:
    from scoring.errors import TpsError
    from scoring.pipeline import ScoreParams, score_slide

    cutoffs = tuple(args.cutoffs) if args.cutoffs else None
    try:
        params = ScoreParams(model_path=args.model, threshold=args.threshold, mpp=args.mpp,
                             roi=args.roi, assay=args.assay, cutoffs=cutoffs,
                             tile_size=args.tile_size)
    except ValueError as exc:  # a bad assay or bad cutoffs
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for slide in args.slides:
        out_dir = args.out / slide.stem
        try:
            result = score_slide(slide, out_dir, params, progress=ProgressLine(slide.name))
        except (TpsError, ValueError) as exc:
            print(f"{slide.name}: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(summary_line(slide.name, result, out_dir), flush=True)
    return 1 if failed else 0


def run_detect(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from scoring.errors import TpsError
    from scoring.inference import get_runner
    from scoring.region_detect import detect_region

    try:
        classes = get_runner(args.model).info.classes
    except TpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    failed = 0
    with open(args.out, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["image", "x", "y", "class", "p_obj"])
        for path in args.images:
            try:
                with Image.open(path) as image:
                    rgb = np.asarray(image.convert("RGB"))
            except (OSError, UnidentifiedImageError) as exc:
                print(f"{path}: error: not a readable image ({exc})", file=sys.stderr)
                failed += 1
                continue
            cells = detect_region(args.model, rgb, args.mpp, args.threshold)
            for (x, y), c, p in zip(cells.xy.tolist(), cells.cls.tolist(), cells.p_obj.tolist()):
                writer.writerow([str(path), f"{x:.2f}", f"{y:.2f}", classes[c], f"{p:.4f}"])
            print(f"{path}: {len(cells)} cells", file=sys.stderr)
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    score = sub.add_parser("score", help="score whole-slide images: TPS, cells, overlays")
    score.add_argument("slides", nargs="+", type=Path, metavar="SLIDE")
    score.add_argument("--model", type=Path, default=bundled_model_path(), help="ONNX point model")
    score.add_argument("--out", type=Path, required=True, help="writes OUT/<slide-name>/")
    score.add_argument("--threshold", type=float, help="p_obj threshold (default: the model's)")
    score.add_argument("--mpp", type=float, help="level-0 microns per pixel, overrides the slide")
    score.add_argument("--roi", type=Path, help="GeoJSON polygon(s) to restrict the analysis")
    score.add_argument("--assay", default=DEFAULT_ASSAY,
                       help=f"assay for the TPS cutoffs ({', '.join(ASSAY_CUTOFFS)})")
    score.add_argument("--cutoffs", type=float, nargs="+", help="TPS cutoffs in %%, e.g. 1 50")
    score.add_argument("--tile-size", type=int, default=512, help="tile side in model pixels")
    score.set_defaults(handler=run_score)

    detect = sub.add_parser("detect", help="detect cells in plain PNG/JPEG/TIFF region images")
    detect.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    detect.add_argument("--model", type=Path, default=bundled_model_path(), help="ONNX point model")
    detect.add_argument("--mpp", type=float, required=True, help="microns per pixel of images")
    detect.add_argument("--out", type=Path, required=True, help="CSV: image,x,y,class,p_obj")
    detect.add_argument("--threshold", type=float, help="p_obj threshold (default: the model's)")
    detect.set_defaults(handler=run_detect)
