"""The exported model describes itself: everything the worker needs is in its metadata."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from scoring.errors import ModelError

REQUIRED_KEYS = ("tps.format", "name", "version", "mpp", "classes", "tumor_pos", "tumor_neg",
                 "threshold", "input_multiple", "anchors")


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
            return cls(
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                name=meta["name"],
                version=meta["version"],
                mpp=float(meta["mpp"]),
                classes=tuple(json.loads(meta["classes"])),
                tumor_pos=tuple(json.loads(meta["tumor_pos"])),
                tumor_neg=tuple(json.loads(meta["tumor_neg"])),
                threshold=float(meta["threshold"]),
                input_multiple=int(meta["input_multiple"]),
                anchors=dict(json.loads(meta["anchors"])),
            )
        except (ValueError, TypeError) as exc:
            raise ModelError(f"{path.name} has malformed metadata: {exc}") from exc

    def as_report(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}
