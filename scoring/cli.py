"""`tps score` (whole slides) and `tps detect` (plain region images). Heavy imports stay in
the handlers so that `tps --help` stays fast and never needs onnxruntime."""
from __future__ import annotations

import argparse
import csv
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from scoring.bundled_model import bundled_model_path
from scoring.tps import ASSAY_CUTOFFS, DEFAULT_ASSAY


class ProgressLine:
    """`name  12/40 tiles  30%  ETA 0:12` rewritten in place on stderr."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self.open = False  # a line is on screen without its newline yet

    def end(self) -> None:
        """Finish a line left open, e.g. by an error mid-slide, so the next text starts fresh."""
        if self.open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.open = False

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        eta = elapsed / done * (total - done) if done else 0.0
        minutes, seconds = divmod(int(eta + 0.5), 60)
        share = 100 * done // max(total, 1)
        sys.stderr.write(f"\r{self.name}  {done}/{total} tiles  {share:3d}%  "
                         f"ETA {minutes}:{seconds:02d}  ")
        self.open = True
        if done >= total:
            self.end()
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


def error_reason(exc: Exception, *names: str) -> str:
    """One line saying why an input failed, without a leading `<name>: ` the engine may add.

    A TpsError or ValueError carries a message fit to show as it is; any other exception is a
    bug or a resource running out, shown as `unexpected <type>: <message>`.
    """
    from scoring.errors import TpsError

    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    for name in names:
        if text.startswith(f"{name}: "):
            text = text[len(name) + 2:]
            break
    if isinstance(exc, (TpsError, ValueError)):
        return text or type(exc).__name__
    kind = type(exc).__name__
    return f"unexpected {kind}: {text}" if text else f"unexpected {kind}"


def report_error(label: str, exc: Exception, debug: bool, *names: str) -> None:
    """`label: error: reason` on stderr; the traceback before it only with --debug."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"{label}: error: {error_reason(exc, label, *names)}", file=sys.stderr, flush=True)


def run_score(args: argparse.Namespace) -> int:
    from scoring import pipeline
    from scoring.output_folders import StagedFolder, folder_stem, remove_stale_partials
    from scoring.pdf_report import write_slide_report

    cutoffs = tuple(args.cutoffs) if args.cutoffs else None
    try:
        params = pipeline.ScoreParams(model_path=args.model, threshold=args.threshold,
                                      mpp=args.mpp, roi=args.roi, assay=args.assay,
                                      cutoffs=cutoffs, tile_size=args.tile_size)
    except ValueError as exc:  # a bad assay or bad cutoffs
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        remove_stale_partials(args.out)  # left by a killed run
    except OSError:
        pass  # only housekeeping; writing into OUT reports its own error per slide
    scored = failed = 0
    # One slide's failure, whatever it is, is one error line and the batch goes on; only
    # Ctrl-C (KeyboardInterrupt, not an Exception) stops it.
    for slide in args.slides:
        progress = ProgressLine(slide.name)
        folder = StagedFolder(args.out, folder_stem(slide))
        try:
            # Scored into a hidden staging folder, renamed to OUT/<stem> (or <stem>-2, ...: never
            # an existing folder) only on success; on any failure the staging folder goes.
            with folder as staging:
                try:
                    result = pipeline.score_slide(slide, staging, params, progress=progress)
                finally:
                    progress.end()  # an error or Ctrl-C mid-slide starts on a line of its own
                # report.pdf is one of the outputs: if it cannot be written the slide fails
                # like any other, and no folder without it is published.
                write_slide_report(staging, result, slide.name, staging / "report.pdf")
                out_dir = folder.publish()
        except Exception as exc:  # noqa: BLE001 - any failure is this slide's, not the batch's
            report_error(slide.name, exc, args.debug)
            failed += 1
            continue
        scored += 1
        print(summary_line(slide.name, result, out_dir), flush=True)
    print(f"{scored} scored, {failed} failed", file=sys.stderr, flush=True)
    return 1 if failed else 0


def run_detect(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from scoring import region_detect
    from scoring.errors import TpsError
    from scoring.inference import get_runner
    from scoring.stain_rule import STAIN_CLASSES, detect_by_stain

    try:
        classes = STAIN_CLASSES if args.method == "stain" else get_runner(args.model).info.classes
        args.out.parent.mkdir(parents=True, exist_ok=True)
        out = open(args.out, "w", newline="")  # noqa: SIM115 - closed by the with-block below
    except (TpsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    failed = 0
    with out:
        writer = csv.writer(out)
        writer.writerow(["image", "x", "y", "class", "p_obj"])
        for path in args.images:
            # As in `tps score`: one image's failure is one error line, then the next image.
            try:
                try:
                    with Image.open(path) as image:
                        rgb = np.asarray(image.convert("RGB"))
                except (OSError, UnidentifiedImageError) as exc:
                    raise TpsError(f"not a readable image ({exc})") from exc
                cells = (detect_by_stain(rgb, args.mpp) if args.method == "stain" else
                         region_detect.detect_region(args.model, rgb, args.mpp, args.threshold))
                rows = [[str(path), f"{x:.2f}", f"{y:.2f}", classes[c], f"{p:.4f}"]
                        for (x, y), c, p in zip(cells.xy.tolist(), cells.cls.tolist(),
                                                cells.p_obj.tolist())]
            except Exception as exc:  # noqa: BLE001 - any failure is this image's alone
                report_error(str(path), exc, args.debug, path.name)
                failed += 1
                continue
            writer.writerows(rows)  # all of an image's rows or none
            print(f"{path}: {len(cells)} cells", file=sys.stderr)
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    score = sub.add_parser("score", help="score whole-slide images: TPS, cells, overlays")
    score.add_argument("slides", nargs="+", type=Path, metavar="SLIDE")
    score.add_argument("--model", type=Path, default=bundled_model_path(), help="ONNX point model")
    score.add_argument("--out", type=Path, required=True,
                       help="writes OUT/<slide-stem>/, or <slide-stem>-2/ ... if that is taken")
    score.add_argument("--threshold", type=float, help="p_obj threshold (default: the model's)")
    score.add_argument("--mpp", type=float, help="level-0 microns per pixel, overrides the slide")
    score.add_argument("--roi", type=Path, help="GeoJSON polygon(s) to restrict the analysis")
    score.add_argument("--assay", default=DEFAULT_ASSAY,
                       help=f"assay for the TPS cutoffs ({', '.join(ASSAY_CUTOFFS)})")
    score.add_argument("--cutoffs", type=float, nargs="+", help="TPS cutoffs in %%, e.g. 1 50")
    score.add_argument("--tile-size", type=int, default=None,
                       help="tile side in model pixels (default: the engine's choice for the "
                            "device, scoring/tiling.py loop_shape)")
    score.add_argument("--debug", action="store_true",
                       help="also print the traceback of a slide's error")
    score.set_defaults(handler=run_score)

    detect = sub.add_parser("detect", help="detect cells in plain PNG/JPEG/TIFF region images")
    detect.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    detect.add_argument("--method", choices=("model", "stain"), default="model",
                        help="the ONNX model, or the classical stain rule (every cell tumour, "
                             "positive by its DAB)")
    detect.add_argument("--model", type=Path, default=bundled_model_path(), help="ONNX point model")
    detect.add_argument("--mpp", type=float, required=True, help="microns per pixel of images")
    detect.add_argument("--out", type=Path, required=True, help="CSV: image,x,y,class,p_obj")
    detect.add_argument("--threshold", type=float, help="p_obj threshold (default: the model's)")
    detect.add_argument("--debug", action="store_true",
                        help="also print the traceback of an image's error")
    detect.set_defaults(handler=run_detect)
