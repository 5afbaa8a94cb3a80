from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from model.config import TrainConfig
from model.export import check_export, export_onnx, parity_error
from model.network import PointNet
from scoring.model_info import ModelInfo

# float32 through two runtimes: points in pixels to 1e-3 px, probabilities to 1e-5
POINT_TOLERANCE_PX = 1e-3
PROBABILITY_TOLERANCE = 1e-5


@pytest.mark.parametrize("ablation", [{}, {"pfa": False, "independent_cls": False}])
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
    assert [i.name for i in session.get_inputs()] == ["image"]
    points, p_obj, p_class = session.run(None, {"image": np.zeros((2, 3, 64, 96), np.float32)})
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
