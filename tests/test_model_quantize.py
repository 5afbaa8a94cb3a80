"""`tps quantize`: calibration feeds from real images, and the int8 variant of the shipped model
checked on the DeepLIIF sample, then picked by the engine on the CPU."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.quantize import QuantizeError, calibration_batches, quantize_and_check
from scoring.quantized_variant import MAX_F1_CHANGE, cpu_variant

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "default.onnx"


def test_calibration_feeds_are_crops_to_the_input_multiple_in_the_input_type(
        tmp_path: Path) -> None:
    Image.fromarray(np.full((700, 100, 3), 7, np.uint8)).save(tmp_path / "b.png")
    Image.fromarray(np.full((40, 50, 3), 9, np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("not an image")
    feeds = calibration_batches(tmp_path, multiple=32, uint8=True)
    assert [f["image"].shape for f in feeds] == [(1, 3, 32, 32), (1, 3, 512, 96)]  # by name
    assert feeds[0]["image"].dtype == np.uint8 and feeds[0]["image"].max() == 9
    assert calibration_batches(tmp_path, 32, uint8=False)[1]["image"].dtype == np.float32
    with pytest.raises(QuantizeError, match="smaller than the model's input multiple"):
        calibration_batches(tmp_path, multiple=64, uint8=True)
    with pytest.raises(QuantizeError, match="no calibration images"):
        calibration_batches(tmp_path / "notes.txt", 32, uint8=True)


def test_int8_of_the_shipped_model_holds_on_real_tiles_and_the_cpu_uses_it(
        shared_data: Path, tmp_path: Path) -> None:
    model = tmp_path / "default.onnx"
    shutil.copy(DEFAULT_MODEL, model)
    report = quantize_and_check(model, shared_data / "bcdata-sample" / "images",
                                shared_data / "deepliif-sample" / "points.csv", 0.25,
                                "pos=tumor_pos,neg=tumor_neg")
    check = report["check"]
    for figure in ("detection_f1", "pos_neg_f1"):
        assert abs(check["int8"][figure] - check["float"][figure]) <= MAX_F1_CHANGE, check
    assert report["holds"]
    from scoring.model_info import ModelInfo

    assert cpu_variant(model, ModelInfo.from_onnx(model).sha256) == tmp_path / "default.int8.onnx"
