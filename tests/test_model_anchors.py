from __future__ import annotations

import torch

from model.anchors import anchor_points
from model.config import PAPER_OFFSETS, TrainConfig
from model.network import PointNet


def test_anchors_for_a_64x64_input_exactly() -> None:
    offsets = torch.tensor(PAPER_OFFSETS)
    got = anchor_points(2, 2, 32, offsets)
    # region centres at 15.5 and 47.5 (pixel i is centred on i); order: row, column, offset
    expected = []
    for cy in (15.5, 47.5):
        for cx in (15.5, 47.5):
            expected += [[cx, cy], [cx - 8, cy - 8], [cx - 8, cy + 8], [cx + 8, cy + 8],
                         [cx + 8, cy - 8]]
    assert torch.equal(got, torch.tensor(expected))


def test_anchors_follow_the_input_size_and_device_dtype() -> None:
    offsets = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    got = anchor_points(3, 5, 32, offsets)
    assert got.shape == (15, 2) and got.dtype == torch.float64
    assert got[-1].tolist() == [4 * 32 + 15.5, 2 * 32 + 15.5]


def test_network_anchors_match_the_regression_origin() -> None:
    net = PointNet(TrainConfig(backbone="small", head_channels=8)).eval()
    torch.nn.init.zeros_(net.regression.out.weight)
    torch.nn.init.zeros_(net.regression.out.bias)
    with torch.no_grad():
        out = net(torch.zeros(1, 3, 64, 96))
    assert out["points"].shape == (1, 2 * 3 * 5, 2)
    assert torch.equal(out["points"][0], anchor_points(2, 3, 32, torch.tensor(PAPER_OFFSETS)))
