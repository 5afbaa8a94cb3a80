"""Pyramidal feature aggregation at the decode stride: finer stages pooled down to it, coarser
ones repeated up to it."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.config import PAPER_OFFSETS, ConfigError, TrainConfig, paper_anchors
from model.export import export_onnx
from model.network import PointNet
from model.pfa import PyramidalAggregation
from scoring.model_info import ModelInfo

STRIDES = (2, 4, 8, 16, 32)


def _stages(height: int, width: int, channels: int = 3) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.rand(1, channels, height // s, width // s, generator=generator) for s in STRIDES]


@pytest.mark.parametrize("stride", [16, 32])
def test_one_feature_per_stride_region(stride: int) -> None:
    pfa = PyramidalAggregation((3,) * 5, STRIDES, stride, channels=4).eval()
    assert pfa(_stages(64, 96)).shape == (1, 4, 64 // stride, 96 // stride)


def test_at_stride_16_the_top_stage_is_repeated_over_each_two_by_two_block() -> None:
    pfa = PyramidalAggregation((3,) * 5, STRIDES, 16, channels=4).eval()
    stages = [torch.zeros_like(s) for s in _stages(64, 96)[:-1]] + [_stages(64, 96)[-1]]
    with torch.no_grad():
        out = pfa(stages)  # (1, 4, 4, 6): only the top stage (2 x 3) varies
        assert torch.equal(out[..., 0::2, 0::2], out[..., 1::2, 1::2])
        assert torch.equal(out[..., 0::2, 0::2], out[..., 0::2, 1::2])
        stages[3] = _stages(64, 96)[3]  # the stride-16 stage varies within each block
        out = pfa(stages)
        assert not torch.equal(out[..., 0::2, 0::2], out[..., 1::2, 1::2])


def test_a_stride_16_network_proposes_four_times_the_anchors() -> None:
    config = TrainConfig(backbone="small", head_channels=8, **paper_anchors(16))  # type: ignore[arg-type]
    with torch.no_grad():
        out = PointNet(config).eval()(torch.full((1, 3, 64, 96), 128.0))
    assert out["points"].shape == (1, 4 * 6 * 5, 2)
    assert out["anchors"][:2].tolist() == [[7.5, 7.5], [3.5, 3.5]]  # region centre, then -4


@pytest.mark.parametrize("overrides", [{"stride": 8}, {"stride": 16, "pfa": False}])
def test_strides_the_network_cannot_build_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        TrainConfig(**overrides)  # type: ignore[arg-type]


def test_the_paper_anchors_scale_with_the_stride() -> None:
    assert paper_anchors(32) == {"stride": 32, "offset_scale": 8.0, "anchor_offsets": PAPER_OFFSETS}
    assert paper_anchors(16) == {"stride": 16, "offset_scale": 4.0, "anchor_offsets": (
        (0.0, 0.0), (-4.0, -4.0), (-4.0, 4.0), (4.0, 4.0), (4.0, -4.0))}


def test_a_stride_16_file_still_asks_for_inputs_divisible_by_32(tmp_path: Path) -> None:
    """The top stage is at stride 32 whatever the decode stride: a 208 px input (a multiple of
    16, not of 32) would give it 6 rows where the stride-16 stage has 13."""
    config = TrainConfig(backbone="small", head_channels=8, **paper_anchors(16))  # type: ignore[arg-type]
    export_onnx(PointNet(config), tmp_path / "m.onnx")
    info = ModelInfo.from_onnx(tmp_path / "m.onnx")
    assert info.input_multiple == 32 and info.anchors["stride"] == 16
