"""The exact answer for a synthetic slide: `<stem>.truth.json` and `<stem>.cells.csv.gz`."""
from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from synth.classes import CLASS_NAMES
from synth.population import Cells


@dataclass(frozen=True)
class SlideTruth:
    slide: str  # file name of the TIFF
    width: int  # level-0 pixels
    height: int
    mpp: float
    levels: int
    style: str
    seed: int
    tps_requested: float
    tps: float  # achieved: 100 * tumor_pos / (tumor_pos + tumor_neg)
    counts: dict[str, int]  # per canonical class name
    tissue_area_mm2: float
    cells_file: str  # columns x,y,label; level-0 pixel centres

    @property
    def tumour_cells(self) -> int:
        return self.counts["tumor_pos"] + self.counts["tumor_neg"]


def truth_paths(slide_path: Path) -> tuple[Path, Path]:
    stem = slide_path.with_suffix("")
    return stem.with_name(stem.name + ".truth.json"), stem.with_name(stem.name + ".cells.csv.gz")


def class_counts(cells: Cells) -> dict[str, int]:
    counts = np.bincount(cells.labels, minlength=len(CLASS_NAMES))
    return {name: int(n) for name, n in zip(CLASS_NAMES, counts, strict=True)}


def write_truth(slide_path: Path, truth: SlideTruth, cells: Cells) -> None:
    json_path, cells_path = truth_paths(slide_path)
    json_path.write_text(json.dumps(asdict(truth), indent=2) + "\n")
    names = np.array(CLASS_NAMES)[cells.labels]
    # No name and mtime=0 in the gzip header: identical input gives identical bytes.
    with open(cells_path, "wb") as raw, gzip.GzipFile(
        filename="", fileobj=raw, mode="wb", mtime=0
    ) as packed, io.TextIOWrapper(packed, encoding="utf-8", newline="") as text:
        writer = csv.writer(text)
        writer.writerow(["x", "y", "label"])
        writer.writerows(zip(cells.x.tolist(), cells.y.tolist(), names.tolist(), strict=True))


def read_truth(slide_path: Path) -> SlideTruth:
    json_path, _ = truth_paths(slide_path)
    return SlideTruth(**json.loads(json_path.read_text()))


def read_cells(slide_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Level-0 (N, 2) int coordinates and (N,) class ids from the cells table."""
    _, cells_path = truth_paths(slide_path)
    with gzip.open(cells_path, "rt", newline="") as text:
        rows = list(csv.DictReader(text))
    xy = np.array([(int(r["x"]), int(r["y"])) for r in rows], dtype=np.int64).reshape(-1, 2)
    labels = np.array([CLASS_NAMES.index(r["label"]) for r in rows], dtype=np.int64)
    return xy, labels
