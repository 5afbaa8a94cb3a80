"""The three heads (regression, detection, classification): two residual blocks and a 1x1 conv."""
from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.relu(x + self.conv2(self.relu(self.conv1(x))))
        return out


class Head(nn.Module):
    """(B, channels, h, w) -> (B, h * w * K, per_anchor) for K anchors per region."""

    def __init__(self, channels: int, anchors_per_region: int, per_anchor: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(ResidualBlock(channels), ResidualBlock(channels))
        self.out = nn.Conv2d(channels, anchors_per_region * per_anchor, kernel_size=1)
        self.per_anchor = per_anchor

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        y = self.out(self.blocks(features))  # (B, K * per_anchor, h, w)
        batch = y.shape[0]
        # channel order is (anchor k, value); anchors are ordered row, column, k as in anchors.py
        out: torch.Tensor = y.permute(0, 2, 3, 1).reshape(batch, -1, self.per_anchor)  # (B, h*w*K, per_anchor)
        return out
