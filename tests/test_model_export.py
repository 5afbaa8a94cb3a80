from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from model.config import TrainConfig, paper_anchors
from model.export import FP16_TOLERANCE, check_export, export_onnx, parity_error
from model.network import PointNet
from scoring.model_info import ModelInfo

# float32 through two runtimes: points in pixels to 1e-3 px, probabilities to 1e-5
POINT_TOLERANCE_PX = 1e-3
PROBABILITY_TOLERANCE = 1e-5


@pytest.mark.parametrize("ablation", [{}, {"pfa": False, "independent_cls": False},
                                      paper_anchors(16)])
def test_onnxruntime_matches_torch_at_other_sizes(tmp_path: Path, ablation: dict) -> None:
    torch.manual_seed(0)
    model = PointNet(TrainConfig(backbone="small", head_channels=16, **ablation))
    export_onnx(model, tmp_path / "m.onnx")  # traced at 64x64
    for shape in [(1, 3, 64, 64), (3, 3, 96, 160)]:
        image = torch.rand(*shape, generator=torch.Generator().manual_seed(1)) * 255
        errors = parity_error(model, tmp_path / "m.onnx", image)
        assert errors["points"] <= POINT_TOLERANCE_PX
        assert errors["p_obj"] <= PROBABILITY_TOLERANCE
        assert errors["p_class"] <= PROBABILITY_TOLERANCE
    assert max(check_export(model, tmp_path / "m.onnx").values()) <= POINT_TOLERANCE_PX


def test_outputs_follow_the_contract(tmp_path: Path) -> None:
    import onnxruntime

    model = PointNet(TrainConfig(backbone="small", head_channels=16))
    export_onnx(model, tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"),
                                           providers=["CPUExecutionProvider"])
    assert [(i.name, i.type) for i in session.get_inputs()] == [("image", "tensor(uint8)")]
    points, p_obj, p_class = session.run(None, {"image": np.zeros((2, 3, 64, 96), np.uint8)})
    assert points.shape == (2, 30, 2) and p_obj.shape == (2, 30) and p_class.shape == (2, 30, 4)
    assert np.allclose(p_class.sum(-1), 1.0, atol=1e-5)
    assert ((p_obj >= 0) & (p_obj <= 1)).all()


def test_metadata_describes_the_model(tmp_path: Path) -> None:
    config = TrainConfig(backbone="small", head_channels=16, mpp=0.25, threshold=0.4)
    export_onnx(PointNet(config), tmp_path / "m.onnx")
    info = ModelInfo.from_onnx(tmp_path / "m.onnx")  # the worker's own reader
    assert info.classes == ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")
    assert info.tumor_pos == ("tumor_pos",) and info.tumor_neg == ("tumor_neg",)
    assert (info.mpp, info.threshold, info.input_multiple) == (0.25, 0.4, 32)
    assert info.anchors == {"stride": 32, "offsets": [[0, 0], [-8, -8], [-8, 8], [8, 8], [8, -8]]}
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert meta["tps.format"] == "1"
    assert json.loads(meta["training"])["config"]["backbone"] == "small"


def _io_types(path: Path) -> list[str]:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [v.type for v in (*session.get_inputs(), *session.get_outputs())]


def test_float_input_and_fp16_exports_keep_the_contract_types(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = PointNet(TrainConfig(backbone="small", head_channels=16))
    export_onnx(model, tmp_path / "float.onnx", uint8_input=False)
    export_onnx(model, tmp_path / "fp16.onnx", fp16=True)
    assert _io_types(tmp_path / "float.onnx") == ["tensor(float)"] * 4
    assert _io_types(tmp_path / "fp16.onnx") == ["tensor(uint8)"] + ["tensor(float)"] * 3
    assert max(check_export(model, tmp_path / "float.onnx").values()) <= POINT_TOLERANCE_PX
    errors = check_export(model, tmp_path / "fp16.onnx", FP16_TOLERANCE)
    assert 0 < max(errors.values()) <= FP16_TOLERANCE  # fp16 differs, within its bound
    meta = {p.key for p in onnx.load(str(tmp_path / "fp16.onnx")).metadata_props}
    assert {"mpp", "classes", "anchors", "training"} <= meta


def test_an_fp16_graph_that_cannot_be_rewritten_says_why(tmp_path: Path) -> None:
    from model.precision import PrecisionError, to_fp16, with_uint8_input

    model = PointNet(TrainConfig(backbone="small", head_channels=16))
    export_onnx(model, tmp_path / "m.onnx", fp16=True)
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert with_uint8_input(proto) is proto  # already uint8: nothing to do
    proto.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.INT32
    with pytest.raises(PrecisionError, match="only a float32 input"):
        with_uint8_input(proto)
    with pytest.raises(PrecisionError, match="must be float32 or uint8"):
        to_fp16(proto)


def test_export_flags_on_the_command_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from model.checkpoint import TrainingState, save_checkpoint
    from tps.cli import main

    ckpt = tmp_path / "checkpoint.pt"
    save_checkpoint(ckpt, PointNet(TrainConfig(backbone="small", head_channels=8)), None,
                    TrainingState())
    assert main(["export", str(ckpt), "--out", str(tmp_path / "h.onnx"), "--fp16"]) == 0
    assert "onnxruntime matches torch" in capsys.readouterr().out
    assert _io_types(tmp_path / "h.onnx")[0] == "tensor(uint8)"
    assert main(["export", str(ckpt), "--out", str(tmp_path / "f.onnx"), "--float-input"]) == 0
    assert _io_types(tmp_path / "f.onnx")[0] == "tensor(float)"
    (tmp_path / "empty").mkdir()
    assert main(["quantize", str(tmp_path / "f.onnx"), "--calibrate", str(tmp_path / "empty"),
                 "--check", str(tmp_path / "points.csv")]) == 2
    assert "no calibration images" in capsys.readouterr().err
