"""The dataset options shared by `tps train` and `tps evaluate`: one spelling for both."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_data_arguments(parser: argparse.ArgumentParser, mpp_help: str) -> None:
    parser.add_argument("--data", type=Path, required=True,
                        help="points CSV, BCData folder, or QuPath GeoJSON file or folder")
    parser.add_argument("--data-format", choices=("csv", "bcdata", "geojson"),
                        help="layout of --data (guessed from the path when omitted)")
    parser.add_argument("--mpp", type=float, help=mpp_help)
    parser.add_argument("--label-map", help="dataset labels to model classes, "
                        "e.g. pos_tumor=tumor_pos,neg_tumor=tumor_neg,other=ignore")
