"""`tps synth tiles`, `tps synth slide` and `tps synth figure`.

A missing output folder is created. A user's mistake (a value out of range, an output that
cannot be written) is one line, `error: ...`, on stderr and exit status 1: no traceback.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

DEFAULT_REAL_TILE = Path(__file__).resolve().parents[2] / "shared/data/deepliif-sample/images/test_22_2_ihc.png"

Handler = Callable[[argparse.Namespace], int]


class UserError(Exception):
    """A mistake in the command line, said in one line."""


def _positive(kind: type[int | float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _file_in_a_folder(out: Path) -> None:
    """--out names a file: create the folder it goes in, refuse a folder as the file."""
    if out.is_dir():
        raise UserError(f"{out} is a folder; give a file name, e.g. {out / 'slide.tiff'}")
    out.parent.mkdir(parents=True, exist_ok=True)


def _one_line_errors(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        from synth.population import SynthError

        try:
            return handler(args)
        except (UserError, SynthError) as exc:
            reason = str(exc)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            reason = f"cannot write {where}{exc.strerror or exc}"
        print(f"error: {reason}", file=sys.stderr)
        return 1
    return run


def _tiles(args: argparse.Namespace) -> int:
    from synth.tiles import write_tiles

    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"{args.out} is a file; give a folder for the tiles and points.csv")
    points = write_tiles(args.out, args.count, args.size, args.seed, args.mpp, args.stain)
    print(f"wrote {args.count} tiles of {args.size}px with {points} points to {args.out}")
    return 0


def _slide(args: argparse.Namespace) -> int:
    from synth.slide import write_slide

    _file_in_a_folder(args.out)
    truth = write_slide(args.out, args.width, args.height, args.tps, args.seed, args.mpp, args.style)
    print(
        f"wrote {args.out} ({truth.width}x{truth.height}, {truth.levels} levels, {truth.style}): "
        f"{sum(truth.counts.values())} cells, TPS {truth.tps:.2f}%, "
        f"tissue {truth.tissue_area_mm2:.2f} mm2"
    )
    return 0


def _figure(args: argparse.Namespace) -> int:
    from PIL import Image

    from synth.figure import comparison_figure, synthetic_grid

    if args.out.suffix.lower() not in Image.registered_extensions():
        raise UserError(f"{args.out}: give an image file name, e.g. figure.png")
    _file_in_a_folder(args.out)
    if args.synthetic_only:
        synthetic_grid(args.out, args.seed)
    else:
        if not args.real.is_file():
            raise UserError(f"real tile not found: {args.real}")
        comparison_figure(args.real, args.out, args.seed)
    print(f"wrote {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    synth = sub.add_parser("synth", help="generate synthetic PD-L1 IHC tiles and slides")
    commands = synth.add_subparsers(dest="synth_command", required=True, metavar="WHAT")

    tiles = commands.add_parser("tiles", help="point-annotated tiles: DIR/images, DIR/points.csv")
    tiles.add_argument("--out", type=Path, required=True, help="folder, created if missing")
    tiles.add_argument("--count", type=_positive(int), required=True)
    tiles.add_argument("--size", type=_positive(int), default=512)
    tiles.add_argument("--seed", type=int, default=0)
    tiles.add_argument("--mpp", type=_positive(float), default=0.5)
    tiles.add_argument("--stain", choices=("ihc", "he"), default="ihc",
                       help="he: H&E tiles whose cells are all negative (no DAB), to train against "
                            "reading H&E nuclei as PD-L1 positive")
    tiles.set_defaults(handler=_one_line_errors(_tiles))

    slide = commands.add_parser("slide", help="pyramidal TIFF slide with truth sidecars")
    slide.add_argument("--out", type=Path, required=True,
                       help="TIFF file; its folder is created if missing")
    slide.add_argument("--width", type=_positive(int), required=True)
    slide.add_argument("--height", type=_positive(int), required=True)
    slide.add_argument("--tps", type=float, required=True, help="tumour proportion score, percent")
    slide.add_argument("--seed", type=int, default=0)
    slide.add_argument("--mpp", type=_positive(float), default=0.5)
    slide.add_argument("--style", choices=("ihc", "markers"), default="ihc")
    slide.set_defaults(handler=_one_line_errors(_slide))

    figure = commands.add_parser("figure", help="synthetic tile beside a real IHC tile")
    figure.add_argument("--out", type=Path, required=True,
                        help="image file; its folder is created if missing")
    figure.add_argument("--real", type=Path, default=DEFAULT_REAL_TILE)
    figure.add_argument("--seed", type=int, default=0)
    figure.add_argument("--synthetic-only", action="store_true", help="no real tile (committable)")
    figure.set_defaults(handler=_one_line_errors(_figure))
