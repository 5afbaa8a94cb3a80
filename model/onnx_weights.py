"""A point model rebuilt in torch from its exported ONNX file, so a shipped model can be trained
further when its checkpoint is gone (the ONNX file is the one hand-off that is kept).

The export folds each batch norm into the conv before it, and names those convs by number
(`onnx::Conv_315`): they come back, in graph order, as the encoder's and neck's convs, with an
identity batch norm after each (weight 1, bias 0, mean 0, variance 1 - eps). The heads keep
their names. `model.export.check_export` then holds the rebuilt network to the file.
"""
from __future__ import annotations

import json
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper
from torch import nn

from model.config import TrainConfig
from model.network import PointNet


class OnnxWeightsError(RuntimeError):
    """An ONNX file whose weights do not fit the network its metadata describes."""


def network_from_onnx(path: Path, config: TrainConfig | None = None) -> PointNet:
    """The network of the file at `path`, under `config` (default: the one its metadata
    states; another must describe the same network, as a fine-tune's does)."""
    proto = onnx.load(str(path))
    meta = {p.key: p.value for p in proto.metadata_props}
    if config is None:
        if "training" not in meta:
            raise OnnxWeightsError(f"{path} states no training config: not a point model "
                                   "of ours")
        config = TrainConfig.from_dict(json.loads(meta["training"])["config"]
                                       | {"backbone_weights": ""})
    _check_anchors(path, json.loads(meta.get("anchors", "{}")), config)
    model = PointNet(config).eval()
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
               for i in proto.graph.initializer}
    state = model.state_dict() | {k.removeprefix("model."): v for k, v in weights.items()
                                  if k.startswith("model.")}  # the heads, by name
    folded = [weights[name] for name in _graph_order(proto) if name.startswith("onnx::Conv")]
    convs = [m for m in [*model.backbone.modules(), *model.neck.modules()]
             if isinstance(m, nn.Conv2d)]
    if len(folded) != 2 * len(convs):
        raise OnnxWeightsError(f"{path}: {len(folded) // 2} folded convs for {len(convs)} in "
                               "the network its metadata describes")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # torch names the keys and shapes that clash
        raise OnnxWeightsError(f"{path} does not fit the network: {exc}") from exc
    with torch.no_grad():
        for conv, weight, bias in zip(convs, folded[0::2], folded[1::2]):
            if conv.weight.shape != weight.shape or conv.bias is None:
                raise OnnxWeightsError(f"{path}: a folded conv of shape {tuple(weight.shape)} "
                                       f"where the network has {tuple(conv.weight.shape)}")
            conv.weight.copy_(weight)
            conv.bias.copy_(bias)
        for norm in [*model.backbone.modules(), *model.neck.modules()]:
            if isinstance(norm, nn.BatchNorm2d):
                width = norm.num_features
                norm.weight.fill_(1.0)
                norm.bias.zero_()
                norm.running_mean = torch.zeros(width)
                norm.running_var = torch.full((width,), 1.0 - norm.eps)  # sqrt(var + eps) = 1
    return model


def _check_anchors(path: Path, anchors: dict[str, object], config: TrainConfig) -> None:
    """The anchors carry no weights, so a config with another stride or other offsets would
    load the file's weights without complaint and compute something else."""
    offsets = [list(xy) for xy in config.anchor_offsets]
    if anchors.get("stride") != config.stride or anchors.get("offsets") != offsets:
        raise OnnxWeightsError(f"{path} has anchors {anchors}; the config asks for stride "
                               f"{config.stride} and offsets {offsets}")


def _graph_order(proto: onnx.ModelProto) -> list[str]:
    """Initializer names in the order the graph's nodes first use them."""
    seen: dict[str, None] = {}
    for node in proto.graph.node:
        for name in node.input:
            seen.setdefault(name, None)
    return list(seen)
