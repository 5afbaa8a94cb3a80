"""`tps quantize`: a static int8 variant of an exported model, calibrated on real tiles, checked
against the float model on annotated real images, written beside it as NAME.int8.onnx.

The engine runs the variant on the CPU only when the check recorded in it holds
(scoring/quantized_variant.py); the variant is written either way, with what was measured.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from PIL import Image

from model.precision import input_type
from scoring.quantized_variant import (
    CHECK_KEY,
    CHECKED_FIGURES,
    SOURCE_KEY,
    check_holds,
    variant_path,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
CALIBRATION_TILE = 512
CALIBRATION_IMAGES = 16


class QuantizeError(ValueError):
    """Calibration images missing or a model that cannot be quantised."""


def calibration_batches(folder: Path, multiple: int, uint8: bool,
                        limit: int = CALIBRATION_IMAGES) -> list[dict[str, np.ndarray]]:
    """Up to `limit` images of `folder` (sorted by name), cropped to a multiple of the model's
    input multiple and at most CALIBRATION_TILE: (1, 3, H, W) feeds of the input's type."""
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not paths:
        raise QuantizeError(f"no calibration images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    feeds = []
    for path in paths:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        h, w = (min(CALIBRATION_TILE, side) // multiple * multiple for side in rgb.shape[:2])
        if h == 0 or w == 0:
            raise QuantizeError(f"{path.name} is smaller than the model's input multiple")
        batch = rgb[None, :h, :w].transpose(0, 3, 1, 2)  # (1, 3, H, W)
        feeds.append({"image": np.ascontiguousarray(batch, np.uint8 if uint8 else np.float32)})
    return feeds


def quantize_int8(model_path: Path, calibration: Path, out_path: Path) -> None:
    """QDQ int8: weights per channel (signed), activations unsigned, ranges from the tiles."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source = onnx.load(str(model_path))
    meta = {p.key: p.value for p in source.metadata_props}
    uint8 = input_type(source) == onnx.TensorProto.UINT8
    feeds = iter(calibration_batches(calibration, int(meta["input_multiple"]), uint8))

    class Tiles(CalibrationDataReader):  # type: ignore[misc]  # untyped in onnxruntime
        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(feeds, None)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(out_path), Tiles(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
    sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    _set_metadata(out_path, meta | {SOURCE_KEY: sha})


def _set_metadata(path: Path, meta: dict[str, str]) -> None:
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))


def quantize_and_check(model_path: Path, calibration: Path, points: Path, mpp: float | None,
                       label_map: str | None) -> dict[str, Any]:
    """Write NAME.int8.onnx with the check's figures; returns them and whether it holds."""
    from model.recipe_measures import evaluate

    final = variant_path(model_path)
    final.unlink(missing_ok=True)  # so the float model's evaluation runs the float model
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "staged.onnx"
        quantize_int8(model_path, calibration, staged)
        figures = {name: evaluate(path, points, Path(tmp) / f"{name}.json", mpp, label_map)
                   for name, path in (("float", model_path), ("int8", staged))}
        check: dict[str, Any] = {name: {k: figures[name][k] for k in CHECKED_FIGURES}
                                 for name in figures}
        check["data"] = {"points": points.name, "calibration": calibration.name}
        meta = {p.key: p.value for p in onnx.load(str(staged)).metadata_props}
        _set_metadata(staged, meta | {CHECK_KEY: json.dumps(check)})
        shutil.move(staged, final)  # the temporary folder may be on another file system
    return {"path": str(final), "check": check, "holds": check_holds(check)}
