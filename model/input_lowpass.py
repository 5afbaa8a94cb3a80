"""A fixed Gaussian low-pass at the network's input, inside the exported graph.

The engine reads a tile as it is when the slide is at the model's mpp and resamples it
(bilinearly) when it is not, and that interpolation blurs a little. A network that looks at
the finest detail counts cells differently on the two (MODEL_CARD.md, "Stride 16"). With a
low-pass whose blur is well above the interpolation's, both reach the network as nearly the
same band-limited pixels. It sits in the graph, not in the engine, so training and serving
cannot apply different ones; sigma 0 is no filter (every model before it).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

TRUNCATE = 3.0  # kernel radius in sigmas: the tails beyond hold 0.3 % of the weight


def gaussian_taps(sigma: float) -> torch.Tensor:
    """(2r + 1,) normalised Gaussian taps, r = ceil(TRUNCATE * sigma)."""
    radius = math.ceil(TRUNCATE * sigma)
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()


class InputLowPass(nn.Module):
    kernel: torch.Tensor  # (3, 1, 2r + 1, 2r + 1): one separable Gaussian per channel

    def __init__(self, sigma_px: float) -> None:
        super().__init__()
        taps = gaussian_taps(sigma_px) if sigma_px > 0 else torch.ones(1)
        self.radius = (len(taps) - 1) // 2
        kernel = torch.outer(taps, taps).expand(3, 1, len(taps), len(taps)).clone()
        # a constant of the graph, like the input normalisation: never trained, not saved
        self.register_buffer("kernel", kernel, persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> the same shape. Near an edge the weights that fall inside are
        renormalised (a tile's border is not glass), with plain convs: an edge-mode Pad
        does not export cleanly with dynamic sizes."""
        if self.radius == 0:
            return image
        r = self.radius
        blurred = F.conv2d(image, self.kernel, padding=r, groups=3)
        coverage = F.conv2d(torch.ones_like(image[:, :1]), self.kernel[:1], padding=r)
        return blurred / coverage
