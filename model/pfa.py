"""Pyramidal feature aggregation (PFA): every encoder stage, low to high level, at one stride.

Each stage finer than the decode stride is average-pooled down to it, each stage is projected
to a common width by a 1x1 conv, a projection coarser than the decode stride is repeated up to
it (nearest), and the projections are concatenated and fused by another 1x1 conv. Without PFA
(the P2PNet-like baseline) only the last stage is projected.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _projection(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class PyramidalAggregation(nn.Module):
    def __init__(self, stage_channels: tuple[int, ...], stage_strides: tuple[int, ...],
                 decode_stride: int, channels: int) -> None:
        super().__init__()
        if any(decode_stride % s and s % decode_stride for s in stage_strides):
            raise ValueError(f"stage strides {stage_strides} must divide {decode_stride} "
                             "or be multiples of it")
        self._pool_factors = [max(1, decode_stride // s) for s in stage_strides]
        self._repeat_factors = [max(1, s // decode_stride) for s in stage_strides]
        self.projections = nn.ModuleList(_projection(c, channels) for c in stage_channels)
        self.fuse = _projection(channels * len(stage_channels), channels)

    def forward(self, stages: list[torch.Tensor]) -> torch.Tensor:
        """stages[s] (B, C_s, H / stride_s, W / stride_s) -> (B, channels, H / d, W / d) at the
        decode stride d."""
        pooled = []
        for stage, down, up, project in zip(stages, self._pool_factors, self._repeat_factors,
                                            self.projections):
            if down > 1:
                stage = F.avg_pool2d(stage, kernel_size=down, stride=down)
            projected = project(stage)
            if up > 1:
                projected = F.interpolate(projected, scale_factor=float(up), mode="nearest")
            pooled.append(projected)
        fused: torch.Tensor = self.fuse(torch.cat(pooled, dim=1))  # (B, channels, H / d, W / d)
        return fused


class TopStageOnly(nn.Module):
    """The baseline neck: the deepest stage alone, at its own stride (the decode stride)."""

    def __init__(self, top_channels: int, channels: int) -> None:
        super().__init__()
        self.project = _projection(top_channels, channels)

    def forward(self, stages: list[torch.Tensor]) -> torch.Tensor:
        projected: torch.Tensor = self.project(stages[-1])  # (B, channels, H / 32, W / 32)
        return projected
