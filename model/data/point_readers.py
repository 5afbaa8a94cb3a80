"""Point annotations in the three layouts we accept, read into one shape: image + points + labels.

Every reader returns coordinates in the project's pixel frame: x right, y down, the centre of
pixel (i, j) at (i, j).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from model.data.errors import DatasetError

FORMATS = ("csv", "bcdata", "geojson")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
CSV_COLUMNS = ("image", "x", "y", "label")
# QuPath measures from the top-left corner of pixel (0, 0); we measure from its centre.
QUPATH_TO_CENTRE = -0.5
UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class AnnotatedImage:
    image_path: Path
    xy: np.ndarray  # (N, 2) float32, x right, y down
    labels: tuple[str, ...]  # (N,) dataset labels, before any label map

    @property
    def name(self) -> str:
        return self.image_path.name


def read_points_csv(csv_path: Path) -> list[AnnotatedImage]:
    """`image,x,y,label` rows, image relative to the CSV's folder; images keep first-seen order."""
    if not csv_path.is_file():
        raise DatasetError(f"points CSV not found: {csv_path}")
    rows: dict[str, tuple[list[tuple[float, float]], list[str]]] = {}
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise DatasetError(f"{csv_path.name} lacks columns {missing}; expected {CSV_COLUMNS}")
        for line, row in enumerate(reader, start=2):
            try:
                point = (float(row["x"]), float(row["y"]))
            except ValueError as exc:
                raise DatasetError(f"{csv_path.name} line {line}: bad coordinate: {exc}") from exc
            points, labels = rows.setdefault(row["image"], ([], []))
            points.append(point)
            labels.append(row["label"].strip())
    return [_annotated(csv_path.parent / image, points, labels)
            for image, (points, labels) in rows.items()]


def read_bcdata(root: Path, split: str = "test") -> list[AnnotatedImage]:
    """`images/<split>/N.png` with `annotations/<split>/{positive,negative}/N.h5` (x, y)."""
    image_dir = root / "images" / split
    if not image_dir.is_dir():
        raise DatasetError(f"no BCData images at {image_dir}")
    images = sorted(image_dir.glob("*.png"), key=lambda p: (len(p.stem), p.stem))
    out = []
    for image_path in images:
        points: list[np.ndarray] = []
        labels: list[str] = []
        for label in ("positive", "negative"):
            h5_path = root / "annotations" / split / label / f"{image_path.stem}.h5"
            if not h5_path.is_file():
                raise DatasetError(f"BCData annotation missing: {h5_path}")
            with h5py.File(h5_path, "r") as h5:
                if "coordinates" not in h5:
                    raise DatasetError(f"{h5_path} has no `coordinates` dataset")
                coords = np.asarray(h5["coordinates"], dtype=np.float32).reshape(-1, 2)
            points.append(coords)
            labels.extend([label] * len(coords))
        out.append(AnnotatedImage(image_path, np.concatenate(points), tuple(labels)))
    return out


def read_geojson(path: Path) -> list[AnnotatedImage]:
    """QuPath point exports: one `X.geojson` per image `X.png` (or .tif, .jpg) beside it.

    `path` is one GeoJSON file or a folder of them. Non-point geometries (regions) are skipped:
    they are not cells.
    """
    files = sorted(path.glob("*.geojson")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise DatasetError(f"no GeoJSON annotations at {path}")
    return [_read_one_geojson(f) for f in files]


def read_annotations(path: Path, data_format: str | None = None) -> list[AnnotatedImage]:
    """Dispatch on `data_format`, or guess it: .csv, .geojson / .json, else a BCData folder."""
    data_format = data_format or guess_format(path)
    if data_format == "csv":
        return read_points_csv(path)
    if data_format == "bcdata":
        return read_bcdata(path)
    if data_format == "geojson":
        return read_geojson(path)
    raise DatasetError(f"unknown data format {data_format!r}; choose one of {FORMATS}")


def guess_format(path: Path) -> str:
    if path.suffix.lower() == ".csv":
        return "csv"
    if path.suffix.lower() in (".geojson", ".json") or any(path.glob("*.geojson")):
        return "geojson"
    return "bcdata"


def _annotated(image_path: Path, points: list[tuple[float, float]],
               labels: list[str]) -> AnnotatedImage:
    xy = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return AnnotatedImage(image_path, xy, tuple(labels))


def _read_one_geojson(path: Path) -> AnnotatedImage:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is not readable JSON: {exc}") from exc
    # QuPath writes either a FeatureCollection or a bare list of features.
    features = data.get("features", []) if isinstance(data, dict) else data
    if not isinstance(features, list):
        raise DatasetError(f"{path} holds no GeoJSON feature list")
    points: list[tuple[float, float]] = []
    labels: list[str] = []
    for feature in features:
        geometry = feature.get("geometry") or {}
        kind, coords = geometry.get("type"), geometry.get("coordinates")
        coords_list: Any
        if kind == "Point":
            coords_list = [coords]
        elif kind == "MultiPoint":
            coords_list = coords
        else:
            continue
        label = _classification(feature.get("properties") or {})
        try:
            for x, y, *_ in coords_list:
                points.append((float(x) + QUPATH_TO_CENTRE, float(y) + QUPATH_TO_CENTRE))
                labels.append(label)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{path}: a {kind} has malformed coordinates: {exc}") from exc
    return _annotated(_image_beside(path), points, labels)


def _classification(properties: dict[str, Any]) -> str:
    classification = properties.get("classification") or {}
    name = classification.get("name") if isinstance(classification, dict) else None
    return str(name) if name else UNCLASSIFIED


def _image_beside(annotation_path: Path) -> Path:
    # Both `X.geojson` and `X.png.geojson` name the annotations of `X.png`.
    stripped = annotation_path.with_suffix("")
    if stripped.suffix.lower() in IMAGE_SUFFIXES and stripped.is_file():
        return stripped
    for suffix in IMAGE_SUFFIXES:
        candidate = annotation_path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    raise DatasetError(f"no image beside {annotation_path} (looked for {IMAGE_SUFFIXES})")
