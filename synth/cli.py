"""`tps synth tiles`, `tps synth slide` and `tps synth figure`."""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_REAL_TILE = Path(__file__).resolve().parents[2] / "shared/data/deepliif-sample/images/test_22_2_ihc.png"


def _tiles(args: argparse.Namespace) -> int:
    from synth.tiles import write_tiles

    points = write_tiles(args.out, args.count, args.size, args.seed, args.mpp, args.stain)
    print(f"wrote {args.count} tiles of {args.size}px with {points} points to {args.out}")
    return 0


def _slide(args: argparse.Namespace) -> int:
    from synth.slide import write_slide

    truth = write_slide(args.out, args.width, args.height, args.tps, args.seed, args.mpp, args.style)
    print(
        f"wrote {args.out} ({truth.width}x{truth.height}, {truth.levels} levels, {truth.style}): "
        f"{sum(truth.counts.values())} cells, TPS {truth.tps:.2f}%, "
        f"tissue {truth.tissue_area_mm2:.2f} mm2"
    )
    return 0


def _figure(args: argparse.Namespace) -> int:
    from synth.figure import comparison_figure, synthetic_grid

    if args.synthetic_only:
        synthetic_grid(args.out, args.seed)
    else:
        if not args.real.is_file():
            print(f"real tile not found: {args.real}")
            return 2
        comparison_figure(args.real, args.out, args.seed)
    print(f"wrote {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    synth = sub.add_parser("synth", help="generate synthetic PD-L1 IHC tiles and slides")
    commands = synth.add_subparsers(dest="synth_command", required=True, metavar="WHAT")

    tiles = commands.add_parser("tiles", help="point-annotated tiles: DIR/images, DIR/points.csv")
    tiles.add_argument("--out", type=Path, required=True)
    tiles.add_argument("--count", type=int, required=True)
    tiles.add_argument("--size", type=int, default=512)
    tiles.add_argument("--seed", type=int, default=0)
    tiles.add_argument("--mpp", type=float, default=0.5)
    tiles.add_argument("--stain", choices=("ihc", "he"), default="ihc",
                       help="he: H&E tiles whose cells are all negative (no DAB), to train against "
                            "reading H&E nuclei as PD-L1 positive")
    tiles.set_defaults(handler=_tiles)

    slide = commands.add_parser("slide", help="pyramidal TIFF slide with truth sidecars")
    slide.add_argument("--out", type=Path, required=True)
    slide.add_argument("--width", type=int, required=True)
    slide.add_argument("--height", type=int, required=True)
    slide.add_argument("--tps", type=float, required=True, help="tumour proportion score, percent")
    slide.add_argument("--seed", type=int, default=0)
    slide.add_argument("--mpp", type=float, default=0.5)
    slide.add_argument("--style", choices=("ihc", "markers"), default="ihc")
    slide.set_defaults(handler=_slide)

    figure = commands.add_parser("figure", help="synthetic tile beside a real IHC tile")
    figure.add_argument("--out", type=Path, required=True)
    figure.add_argument("--real", type=Path, default=DEFAULT_REAL_TILE)
    figure.add_argument("--seed", type=int, default=0)
    figure.add_argument("--synthetic-only", action="store_true", help="no real tile (committable)")
    figure.set_defaults(handler=_figure)
