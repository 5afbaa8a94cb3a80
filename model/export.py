"""ONNX export: softmax inside, dynamic batch/height/width, and metadata the worker relies on.

The file is the one hand-off to serving (docs/architecture.md): input `image` (B, 3, H, W)
RGB 0..255, uint8 by default (float32 with uint8_input=False, the older kind; the engine reads
which from the graph); outputs `points` (B, A, 2), `p_obj` (B, A), `p_class` (B, A, C),
float32 also when the arithmetic is fp16 (model/precision.py).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from model.checkpoint import TrainingState
from model.network import PointNet
from model.precision import input_type, to_fp16, with_uint8_input

OPSET = 17
FORMAT_VERSION = "1"
OUTPUT_NAMES = ("points", "p_obj", "p_class")
# Largest output difference from torch that an export may show: float32 through two runtimes,
# and fp16 arithmetic (half a part in a thousand of a ~100 px coordinate, with margin).
FP32_TOLERANCE = 1e-3
FP16_TOLERANCE = 0.1


class ExportError(RuntimeError):
    """The exported graph disagrees with the torch model."""


class _ContractOutputs(nn.Module):
    """Only the three contract outputs, in the contract's order."""

    def __init__(self, model: PointNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.model(image)
        return out["points"], out["p_obj"], out["p_class"]


def model_metadata(model: PointNet, state: TrainingState | None) -> dict[str, str]:
    config = model.config
    offsets = [[int(v) if float(v).is_integer() else v for v in xy] for xy in config.anchor_offsets]
    training: dict[str, Any] = {"config": config.to_dict()}
    if state is not None:
        training |= {"steps": state.step, "epochs": state.epoch,
                     "images_seen": state.images_seen, "last_losses": state.last_terms}
    return {
        "tps.format": FORMAT_VERSION,
        "name": config.name,
        "version": config.version,
        "mpp": str(config.mpp),
        "classes": json.dumps(list(config.classes)),
        "tumor_pos": json.dumps(list(config.tumor_pos)),
        "tumor_neg": json.dumps(list(config.tumor_neg)),
        "threshold": str(config.threshold),
        # the encoder's deepest stride: at a finer decode stride the top stage is repeated up,
        # so the input must still divide by it
        "input_multiple": str(model.backbone.stage_strides[-1]),
        "anchors": json.dumps({"stride": config.stride, "offsets": offsets}),
        "training": json.dumps(training),
    }


def export_onnx(model: PointNet, out_path: Path, state: TrainingState | None = None,
                sample_size: int = 64, uint8_input: bool = True, fp16: bool = False) -> None:
    model = model.cpu().eval()
    sample = torch.full((1, 3, sample_size, sample_size), 128.0)
    dims = {0: "batch", 2: "height", 3: "width"}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated in favour of one that needs onnxscript; it
        # still exports this graph exactly, which the parity check below verifies
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(_ContractOutputs(model), (sample,), str(out_path), dynamo=False,
                          input_names=["image"], output_names=list(OUTPUT_NAMES),
                          dynamic_axes={"image": dims, "points": {0: "batch", 1: "anchors"},
                                        "p_obj": {0: "batch", 1: "anchors"},
                                        "p_class": {0: "batch", 1: "anchors"}},
                          opset_version=OPSET)
    proto = onnx.load(str(out_path))
    del proto.metadata_props[:]
    for key, value in model_metadata(model, state).items():
        proto.metadata_props.add(key=key, value=value)
    if uint8_input:
        proto = with_uint8_input(proto)
    if fp16:
        proto = to_fp16(proto)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out_path))


def parity_error(model: PointNet, onnx_path: Path, image: torch.Tensor) -> dict[str, float]:
    """Largest absolute difference per output between torch and onnxruntime on `image`.

    A uint8 model sees whole values 0..255, so the image is rounded for both."""
    import onnxruntime  # imported here: only the export check needs it

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    uint8 = input_type(onnx.load(str(onnx_path))) == onnx.TensorProto.UINT8
    if uint8:
        image = image.round().clamp(0, 255)
    with torch.no_grad():
        out = model.cpu().eval()(image)
    feed = image.numpy().astype(np.uint8 if uint8 else np.float32)
    got = session.run(list(OUTPUT_NAMES), {"image": feed})
    return {name: float(np.abs(out[name].numpy() - value).max())
            for name, value in zip(OUTPUT_NAMES, got)}


def check_export(model: PointNet, onnx_path: Path,
                 tolerance: float = FP32_TOLERANCE) -> dict[str, float]:
    """Parity on a non-square input unlike the traced one, so dynamic sizes are exercised."""
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 96, 128, generator=generator) * 255.0
    errors = parity_error(model, onnx_path, image)
    if max(errors.values()) > tolerance:
        raise ExportError(f"onnxruntime disagrees with torch beyond {tolerance}: {errors}")
    return errors
