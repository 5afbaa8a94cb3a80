"""Encoders with one interface: five stages, each halving the resolution (strides 2..32).

`VGG16BN.features` is built exactly like torchvision's `vgg16_bn().features`, so a torchvision
state dict read from a local file loads with a strict key match. Nothing is ever downloaded.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# torchvision's "D" configuration with batch norm: numbers are conv widths, "M" a 2x2 max pool
VGG16_LAYOUT: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                                       512, 512, 512, "M", 512, 512, 512, "M")
SMALL_LAYOUT: tuple[int | str, ...] = (16, "M", 32, "M", 64, 64, "M", 96, 96, "M", 128, 128, "M")


class WeightsError(RuntimeError):
    """A backbone state dict that does not fit the network."""


def _make_stages(layout: tuple[int | str, ...]) -> tuple[nn.Sequential, list[int], list[int]]:
    """Conv-BN-ReLU layers in one Sequential (torchvision's indices), with each pool's index."""
    layers: list[nn.Module] = []
    pool_indices: list[int] = []
    widths: list[int] = []
    in_channels = 3
    for item in layout:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            pool_indices.append(len(layers) - 1)
            widths.append(in_channels)
        else:
            assert isinstance(item, int)
            layers += [nn.Conv2d(in_channels, item, kernel_size=3, padding=1),
                       nn.BatchNorm2d(item), nn.ReLU(inplace=True)]
            in_channels = item
    return nn.Sequential(*layers), pool_indices, widths


class StagedEncoder(nn.Module):
    """Returns the output of every stage, after its pool: strides 2, 4, 8, 16, 32."""

    def __init__(self, layout: tuple[int | str, ...]) -> None:
        super().__init__()
        self.features, self._pool_indices, widths = _make_stages(layout)
        self.stage_channels: tuple[int, ...] = tuple(widths)
        self.stage_strides: tuple[int, ...] = tuple(2 ** (i + 1) for i in range(len(widths)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B, 3, H, W) normalised -> [(B, C_s, H / 2^s, W / 2^s) for s in 1..5]."""
        stages: list[torch.Tensor] = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self._pool_indices:
                stages.append(x)
        return stages


class VGG16BN(StagedEncoder):
    def __init__(self) -> None:
        super().__init__(VGG16_LAYOUT)

    def load_torchvision_weights(self, state: dict[str, torch.Tensor]) -> None:
        """Load the `features.*` part of a torchvision vgg16_bn state dict, keys matching strictly."""
        features = {k: v for k, v in state.items() if k.startswith("features.")}
        if not features:
            raise WeightsError("the state dict has no 'features.*' keys (not a vgg16_bn?)")
        try:
            self.load_state_dict(features, strict=True)
        except RuntimeError as exc:  # torch reports missing/unexpected keys and shape clashes so
            raise WeightsError(str(exc)) from exc

    def load_torchvision_file(self, path: Path) -> None:
        if not path.is_file():
            raise WeightsError(f"backbone weights not found: {path} (they are never downloaded)")
        self.load_torchvision_weights(torch.load(path, map_location="cpu", weights_only=True))


class SmallEncoder(StagedEncoder):
    """A narrow VGG-like encoder, fast enough to train and run on a CPU."""

    def __init__(self) -> None:
        super().__init__(SMALL_LAYOUT)


def build_backbone(name: str, weights: str = "") -> StagedEncoder:
    if name == "vgg16_bn":
        vgg = VGG16BN()
        if weights:
            vgg.load_torchvision_file(Path(weights))
        return vgg
    if name == "small":
        if weights:
            raise WeightsError("the small backbone has no pretrained weights")
        return SmallEncoder()
    raise WeightsError(f"unknown backbone {name!r}")
