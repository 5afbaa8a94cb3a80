"""The dataset options shared by `tps train` and `tps evaluate`: one spelling for both.

`tps train` takes several datasets: `--data` may repeat, and each of `--data-format`, `--mpp`,
`--label-map` and `--repeat` is then given once (for every dataset) or once per `--data`, in
the same order.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeVar

from model.data.errors import DatasetError

T = TypeVar("T")


def add_data_arguments(parser: argparse.ArgumentParser, mpp_help: str,
                       several: bool = False) -> None:
    action = "append" if several else "store"
    parser.add_argument("--data", type=Path, required=True, action=action,
                        help="points CSV, BCData folder, or QuPath GeoJSON file or folder"
                             + (" (repeat for several datasets)" if several else ""))
    parser.add_argument("--data-format", choices=("csv", "bcdata", "geojson"), action=action,
                        help="layout of --data (guessed from the path when omitted)")
    parser.add_argument("--mpp", type=float, action=action, help=mpp_help)
    parser.add_argument("--label-map", action=action, help="dataset labels to model classes, "
                        "e.g. pos_tumor=tumor_pos,neg_tumor=tumor_neg,other=ignore")
    if several:
        parser.add_argument("--repeat", type=int, action="append",
                            help="times a dataset is shown per epoch (default 1)")


def per_dataset(values: list[T] | None, count: int, option: str) -> list[T | None]:
    """One value per dataset from an option given never, once (for all), or `count` times."""
    if not values:
        return [None] * count
    if len(values) == 1:
        return [values[0]] * count
    if len(values) != count:
        raise DatasetError(f"{option} is given {len(values)} times for {count} --data; give it "
                           "once for all datasets or once per --data, in the same order")
    widened: list[T | None] = list(values)
    return widened
