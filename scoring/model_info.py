"""The exported model describes itself: everything the worker needs is in its metadata."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from scoring.decode import SignCall
from scoring.errors import ModelError

REQUIRED_KEYS = ("tps.format", "name", "version", "mpp", "classes", "tumor_pos", "tumor_neg",
                 "threshold", "input_multiple", "anchors")
# Read when present: `positive_threshold` and `positive_nucleus_dab` (see
# scoring.decode.SignCall; 0.5 and none when absent), `min_distance_um` (scoring.decode.
# kept_anchors; none when absent), `views` and `view_radius_um` (scoring.views; one view when
# absent) and `tps_margin` (TPS points added to each side of the interval, scoring.tps; 0 when
# absent).
OPTIONAL_KEYS = ("positive_threshold", "positive_nucleus_dab", "min_distance_um", "views",
                 "view_radius_um", "tps_margin")
VIEW_COUNTS = (1, 2, 4, 8)  # the first 1, 2, 4 or 8 of scoring.views.SYMMETRIES


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    sha256: str
    name: str
    version: str
    mpp: float
    classes: tuple[str, ...]
    tumor_pos: tuple[str, ...]
    tumor_neg: tuple[str, ...]
    threshold: float
    input_multiple: int
    anchors: dict[str, Any]
    positive_threshold: float = 0.5
    positive_nucleus_dab: float | None = None
    min_distance_um: float = 0.0
    views: int = 1
    view_radius_um: float = 0.0
    tps_margin: float = 0.0

    def sign_call(self) -> SignCall | None:
        """The sign rule for models with one positive and one negative tumour class."""
        if len(self.tumor_pos) != 1 or len(self.tumor_neg) != 1:
            return None
        return SignCall(self.classes.index(self.tumor_pos[0]),
                        self.classes.index(self.tumor_neg[0]), self.positive_threshold,
                        self.positive_nucleus_dab)

    @classmethod
    def from_onnx(cls, path: Path) -> ModelInfo:
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        data = path.read_bytes()
        try:
            proto = onnx.load_from_string(data)
        except Exception as exc:  # onnx raises several unrelated types for a bad file
            raise ModelError(f"{path.name} is not a readable ONNX model: {exc}") from exc
        meta = {p.key: p.value for p in proto.metadata_props}
        missing = [k for k in REQUIRED_KEYS if k not in meta]
        if missing:
            raise ModelError(f"{path.name} lacks model metadata: {', '.join(missing)}")
        try:
            info = cls(
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                name=meta["name"],
                version=meta["version"],
                mpp=float(meta["mpp"]),
                classes=tuple(json.loads(meta["classes"])),
                tumor_pos=tuple(json.loads(meta["tumor_pos"])),
                tumor_neg=tuple(json.loads(meta["tumor_neg"])),
                threshold=check_fraction("threshold", float(meta["threshold"])),
                input_multiple=int(meta["input_multiple"]),
                anchors=dict(json.loads(meta["anchors"])),
                positive_threshold=check_fraction("positive_threshold",
                                                  float(meta.get("positive_threshold", "0.5"))),
                positive_nucleus_dab=(check_nucleus_dab(float(meta["positive_nucleus_dab"]))
                                      if "positive_nucleus_dab" in meta else None),
                min_distance_um=check_min_distance(float(meta.get("min_distance_um", "0"))),
                views=check_views(int(meta.get("views", "1"))),
                view_radius_um=check_view_radius(float(meta.get("view_radius_um", "0"))),
                tps_margin=check_margin(float(meta.get("tps_margin", "0"))),
            )
        except (ValueError, TypeError) as exc:
            raise ModelError(f"{path.name} has malformed metadata: {exc}") from exc
        if info.views > 1 and info.view_radius_um == 0:
            raise ModelError(f"{path.name} has malformed metadata: {info.views} views need a "
                             f"view_radius_um to fuse their cells")
        return info

    def as_report(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256,
                "positive_threshold": self.positive_threshold,
                "positive_nucleus_dab": self.positive_nucleus_dab,
                "min_distance_um": self.min_distance_um, "views": self.views,
                "view_radius_um": self.view_radius_um}

    def min_distance_px(self, mpp: float) -> float:
        """The least distance between two cells, in pixels of an image at `mpp` um/px."""
        return self.min_distance_um / mpp


def check_fraction(name: str, value: float) -> float:
    """A threshold on a probability, strictly between 0 and 1 (at 0 every anchor would be a
    cell, at 1 none): the p_obj `threshold` and the `positive_threshold`."""
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value:g}")
    return value


def check_margin(value: float) -> float:
    """A model's TPS margin: points in [0, 100); the one check, for the file and `tps calibrate`."""
    if not 0.0 <= value < 100.0:
        raise ValueError(f"tps_margin must be TPS points in [0, 100), got {value:g}")
    return value


def check_nucleus_dab(value: float) -> float:
    """A nucleus DAB that makes a tumour cell positive: OD in (0, 10], the one check, for the
    file and `tps calibrate` (past 10 OD no scanner records light)."""
    if not 0.0 < value <= 10.0:
        raise ValueError(f"positive_nucleus_dab must be an optical density in (0, 10], "
                         f"got {value:g}")
    return value


def check_min_distance(value: float) -> float:
    """Microns between two cells' centres, [0, 20]: past 20 um two nuclei would be one cell."""
    if not 0.0 <= value <= 20.0:
        raise ValueError(f"min_distance_um must be microns in [0, 20], got {value:g}")
    return value


def check_views(value: int) -> int:
    """How many of the tile's symmetries the model is run on (scoring.views), VIEW_COUNTS."""
    if value not in VIEW_COUNTS:
        raise ValueError(f"views must be one of {', '.join(map(str, VIEW_COUNTS))}, got {value}")
    return value


def check_view_radius(value: float) -> float:
    """Microns within which the views' points are one cell, [0, 10]: a nucleus is about 8 um
    across, and the next one's centre lies further off."""
    if not 0.0 <= value <= 10.0:
        raise ValueError(f"view_radius_um must be microns in [0, 10], got {value:g}")
    return value
