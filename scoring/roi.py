"""A region of interest drawn in QuPath (GeoJSON, level-0 pixels) restricts the analysis."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from scoring.errors import RoiError
from scoring.tissue_mask import TissueMask

Polygon = list[np.ndarray]  # exterior ring then holes, each (n, 2) level-0 x, y


def _geometries(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, list):  # QuPath exports a bare list of features
        return [g for item in doc for g in _geometries(item)]
    if not isinstance(doc, dict):
        return []
    kind = doc.get("type")
    if kind == "FeatureCollection":
        return _geometries(doc.get("features", []))
    if kind == "Feature":
        return _geometries(doc.get("geometry"))
    if kind == "GeometryCollection":
        return _geometries(doc.get("geometries", []))
    return [doc] if kind in ("Polygon", "MultiPolygon") else []


def load_roi(path: Path) -> list[Polygon]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RoiError(f"{path.name}: unreadable region-of-interest GeoJSON ({exc})") from exc
    polygons: list[Polygon] = []
    try:
        for geometry in _geometries(doc):
            coords = geometry["coordinates"]
            parts = [coords] if geometry["type"] == "Polygon" else coords
            for rings in parts:
                polygons.append([np.asarray(ring, np.float64)[:, :2] for ring in rings])
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise RoiError(f"{path.name}: malformed polygon coordinates ({exc})") from exc
    polygons = [p for p in polygons if p and len(p[0]) >= 3]
    if not polygons:
        raise RoiError(f"{path.name}: holds no Polygon or MultiPolygon")
    return polygons


def _scanline_fill(rings: list[np.ndarray], shape: tuple[int, int],
                   downsample: float) -> np.ndarray:
    """Even-odd fill of the rings, testing mask pixel centres (level-0 (k + 0.5) * ds)."""
    h, w = shape
    edges = np.concatenate([np.stack([r, np.roll(r, -1, axis=0)], axis=1) for r in rings])
    (x0, y0), (x1, y1) = edges[:, 0].T / downsample, edges[:, 1].T / downsample  # mask units
    out = np.zeros(shape, bool)
    centres_x = np.arange(w) + 0.5
    for row in range(h):
        yc = row + 0.5
        crossing = (y0 <= yc) != (y1 <= yc)  # half-open, so a vertex counts once
        t = (yc - y0[crossing]) / (y1[crossing] - y0[crossing])
        xs = np.sort(x0[crossing] + t * (x1[crossing] - x0[crossing]))
        inside = np.searchsorted(xs, centres_x, side="right") % 2 == 1
        out[row] = inside
    return out


def rasterise(polygons: list[Polygon], shape: tuple[int, int], downsample: float) -> np.ndarray:
    """(h, w) bool: mask pixels whose centre lies inside the polygons (holes excluded)."""
    out = np.zeros(shape, bool)
    for rings in polygons:
        out |= _scanline_fill(rings, shape, downsample)
    return out


def apply_roi(tissue: TissueMask, path: Path) -> TissueMask:
    inside = rasterise(load_roi(path), tissue.mask.shape, tissue.downsample)
    return replace(tissue, mask=tissue.mask & inside)
