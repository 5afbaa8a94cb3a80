"""Anchor points: a fixed set of offsets around the centre of every stride x stride region.

Pixel (i, j) has its centre at (i, j), so the region covering pixels 0..31 has its centre at
15.5. Built with torch ops on the features' device from their size, so an exported graph
keeps dynamic height and width.
"""
from __future__ import annotations

import torch


def anchor_points(rows: int, cols: int, stride: int, offsets: torch.Tensor) -> torch.Tensor:
    """(rows * cols * K, 2) xy anchors, ordered by row, then column, then offset k.

    `offsets` (K, 2) xy, on the device and dtype wanted for the result.
    """
    device, dtype = offsets.device, offsets.dtype
    centre = (stride - 1) / 2.0
    ys = torch.arange(rows, device=device, dtype=dtype) * stride + centre  # (rows,)
    xs = torch.arange(cols, device=device, dtype=dtype) * stride + centre  # (cols,)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")  # (rows, cols) each
    centres = torch.stack([grid_x, grid_y], dim=-1).reshape(-1, 1, 2)  # (rows*cols, 1, 2)
    return (centres + offsets.reshape(1, -1, 2)).reshape(-1, 2)  # (rows*cols*K, 2)
