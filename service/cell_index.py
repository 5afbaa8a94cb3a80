"""A job's cells by region: cells.csv.gz indexed once, on first use, into a y-sorted array.

The index lives beside the CSV in the job's result folder: `cells-index.json` (the class
names, index = class id) and `cells-index.npy` (a structured array sorted by y), each written
to a temporary file and renamed into place, the array last, so a present array means a
complete index. A query reads the array memory-mapped: a binary search on y, then a mask on x
over that band, so it costs the band, never the slide.
"""
from __future__ import annotations

import gzip
import itertools
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

CSV_NAME = "cells.csv.gz"
INDEX_NAME = "cells-index.npy"
CLASSES_NAME = "cells-index.json"
INDEX_DTYPE = np.dtype([("x", "<f8"), ("y", "<f8"), ("cls", "<i2"),
                        ("p_obj", "<f4"), ("p_class", "<f4")])
_COLUMNS = ("x_px", "y_px", "class", "p_obj", "p_class")  # read from the CSV, in this order
_CHUNK_ROWS = 200_000

_locks_guard = threading.Lock()
_build_locks: dict[Path, threading.Lock] = {}


@dataclass(frozen=True)
class CellIndex:
    classes: list[str]
    cells: np.ndarray  # INDEX_DTYPE, sorted by y; memory-mapped


@dataclass(frozen=True)
class RegionCells:
    cells: np.ndarray  # INDEX_DTYPE, at most `limit` of them, in y order
    total: int  # cells in the region before any subsampling


def _chunks(path: Path) -> Iterator[np.ndarray]:
    """The CSV's rows, a chunk at a time, as x, y, class name, p_obj, p_class."""
    dtype = [("x", "f8"), ("y", "f8"), ("cls", "U64"), ("p_obj", "f4"), ("p_class", "f4")]
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        header = text.readline().strip().split(",")
        missing = [c for c in _COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{path.name} has no column {', '.join(missing)}")
        columns = tuple(header.index(c) for c in _COLUMNS)
        while lines := list(itertools.islice(text, _CHUNK_ROWS)):
            yield np.loadtxt(lines, delimiter=",", dtype=dtype, usecols=columns, ndmin=1)


def _class_ids(names: np.ndarray, classes: list[str]) -> np.ndarray:
    """Class ids for a chunk's class names; a name not yet in `classes` is added to it."""
    ids = np.full(names.shape, -1, np.int16)
    for i, name in enumerate(classes):
        ids[names == name] = i
    for name in np.unique(names[ids < 0]).tolist():  # rare: a name the result did not list
        classes.append(str(name))
        ids[names == name] = len(classes) - 1
    return ids


def _read_csv(path: Path, classes: list[str]) -> np.ndarray:
    parts = []
    for chunk in _chunks(path):
        part = np.empty(len(chunk), INDEX_DTYPE)
        for field in ("x", "y", "p_obj", "p_class"):
            part[field] = chunk[field]
        part["cls"] = _class_ids(chunk["cls"], classes)
        parts.append(part)
    cells = np.concatenate(parts) if parts else np.zeros(0, INDEX_DTYPE)
    return cells[np.argsort(cells["y"], kind="stable")]


def _write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_index(folder: Path, known_classes: Iterable[str] = ()) -> None:
    """Index folder/cells.csv.gz. `known_classes` (the model's, in order) fix the first ids,
    so a class without cells keeps its place; names only the CSV has follow."""
    classes = list(known_classes)
    cells = _read_csv(folder / CSV_NAME, classes)
    _write_atomically(folder / CLASSES_NAME,
                      lambda out: out.write(json.dumps({"classes": classes}).encode()))
    _write_atomically(folder / INDEX_NAME, lambda out: np.save(out, cells))


def _is_current(folder: Path) -> bool:
    index, csv = folder / INDEX_NAME, folder / CSV_NAME
    return index.is_file() and index.stat().st_mtime >= csv.stat().st_mtime


def open_index(folder: Path, known_classes: Iterable[str] = ()) -> CellIndex:
    """The folder's index, built first when absent (or older than the CSV); one build per
    folder at a time, concurrent queries waiting for it."""
    if not _is_current(folder):
        with _locks_guard:
            lock = _build_locks.setdefault(folder, threading.Lock())
        with lock:
            if not _is_current(folder):
                build_index(folder, known_classes)
    classes = json.loads((folder / CLASSES_NAME).read_text(encoding="utf-8"))["classes"]
    return CellIndex(list(classes), np.load(folder / INDEX_NAME, mmap_mode="r"))


def cells_in_region(index: CellIndex, x: float, y: float, width: float, height: float,
                    limit: int) -> RegionCells:
    """Cells with x in [x, x + width) and y in [y, y + height), level-0 pixels. Beyond `limit`,
    an even subsample of exactly `limit`: every (total / limit)-th cell in y order."""
    cells = index.cells
    start, stop = np.searchsorted(cells["y"], [y, y + height], side="left")
    band = cells[start:stop]
    inside = np.flatnonzero((band["x"] >= x) & (band["x"] < x + width))
    total = int(inside.size)
    if total > limit:
        inside = inside[np.arange(limit, dtype=np.int64) * total // limit]
    return RegionCells(np.asarray(band[inside]), total)


def as_rows(cells: np.ndarray) -> list[list[float | int]]:
    """[x, y, class id, p_obj, p_class] per cell: pixels to 0.1, probabilities to 0.001."""
    columns = (np.round(cells["x"], 1).tolist(), np.round(cells["y"], 1).tolist(),
               cells["cls"].tolist(), np.round(cells["p_obj"].astype(np.float64), 3).tolist(),
               np.round(cells["p_class"].astype(np.float64), 3).tolist())
    return [list(row) for row in zip(*columns)]
