"""The model shipped with the package: models/default.onnx, installed as package data."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def bundled_model_path() -> Path:
    # Installs here are plain folders (never zipped), so the resource is a real file that
    # onnxruntime can open by path.
    return Path(str(files("models").joinpath("default.onnx")))
