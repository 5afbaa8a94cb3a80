"""An ONNX graph, built by hand, that finds synthetic `markers` cells exactly.

It obeys the model contract in docs/architecture.md so the whole pipeline can be tested apart
from learned accuracy: one anchor per aligned 16x16 block (stride 16, offset (8, 8)); a block
holding pure-colour marker pixels reports their centroid, p_obj 1 and the marker's class;
any other block reports its centre with p_obj 0.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CLASSES = ("tumor_pos", "tumor_neg", "nontumor_pos", "nontumor_neg")
MARKER_RGB = ((255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0))  # same order as CLASSES
BLOCK = 16
OPSET = 17


def _const(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(value, name)


def _class_masks(nodes: list[onnx.NodeProto]) -> str:
    """Per class, 1.0 where a pixel is exactly that marker colour: (B, 4, H, W)."""
    nodes.append(helper.make_node("Split", ["image", "split3"], ["r", "g", "b"], axis=1))
    masks = []
    for c, rgb in enumerate(MARKER_RGB):
        hits = []
        for channel, level in zip("rgb", rgb):
            hits.append(f"eq{c}{channel}")
            nodes.append(helper.make_node("Equal", [channel, f"level{level}"], [hits[-1]]))
        nodes.append(helper.make_node("And", hits[:2], [f"and{c}"]))
        nodes.append(helper.make_node("And", [f"and{c}", hits[2]], [f"hit{c}"]))
        nodes.append(helper.make_node("Cast", [f"hit{c}"], [f"mask{c}"], to=TensorProto.FLOAT))
        masks.append(f"mask{c}")
    nodes.append(helper.make_node("Concat", masks, ["masks"], axis=1))
    return "masks"


def _axis_grid(nodes: list[onnx.NodeProto], source: str, axis: int, shape: str, scale: str,
               offset: str, out: str) -> None:
    """out = Range(0, source.shape[axis]) * scale + offset, reshaped for broadcasting."""
    nodes += [
        helper.make_node("Shape", [source], [f"{out}_shape"]),
        helper.make_node("Gather", [f"{out}_shape", f"axis{axis}"], [f"{out}_n"], axis=0),
        helper.make_node("Range", ["zero_i", f"{out}_n", "one_i"], [f"{out}_range"]),
        helper.make_node("Cast", [f"{out}_range"], [f"{out}_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", [f"{out}_f", scale], [f"{out}_scaled"]),
        helper.make_node("Add", [f"{out}_scaled", offset], [f"{out}_flat"]),
        helper.make_node("Reshape", [f"{out}_flat", shape], [out]),
    ]


def _graph() -> onnx.GraphProto:
    nodes: list[onnx.NodeProto] = []
    masks = _class_masks(nodes)
    _axis_grid(nodes, "image", 3, "col_shape", "one_f", "zero_f", "x_px")  # (1, 1, 1, W)
    _axis_grid(nodes, "image", 2, "row_shape", "one_f", "zero_f", "y_px")  # (1, 1, H, 1)
    nodes += [
        helper.make_node("ReduceSum", [masks, "axis1_list"], ["any"], keepdims=1),  # (B,1,H,W)
        helper.make_node("Mul", ["any", "x_px"], ["any_x"]),
        helper.make_node("Mul", ["any", "y_px"], ["any_y"]),
        helper.make_node("Concat", [masks, "any", "any_x", "any_y"], ["planes"], axis=1),
        # Block sums: an average over 256 pixels times 256 is exact for these integers.
        helper.make_node("AveragePool", ["planes"], ["block_mean"],
                         kernel_shape=[BLOCK, BLOCK], strides=[BLOCK, BLOCK]),
        helper.make_node("Mul", ["block_mean", "block_area"], ["sums"]),  # (B, 7, h, w)
        helper.make_node("Split", ["sums", "split_sums"], ["cls_n", "n", "sx", "sy"], axis=1),
        helper.make_node("Greater", ["n", "half"], ["has"]),
        helper.make_node("Cast", ["has"], ["has_f"], to=TensorProto.FLOAT),
        helper.make_node("Max", ["n", "one_f"], ["n_safe"]),
        helper.make_node("Div", ["sx", "n_safe"], ["cx"]),
        helper.make_node("Div", ["sy", "n_safe"], ["cy"]),
    ]
    _axis_grid(nodes, "sums", 3, "col_shape", "block_f", "centre_f", "anchor_x")  # (1,1,1,w)
    _axis_grid(nodes, "sums", 2, "row_shape", "block_f", "centre_f", "anchor_y")  # (1,1,h,1)
    nodes += [
        helper.make_node("Where", ["has", "cx", "anchor_x"], ["px"]),
        helper.make_node("Where", ["has", "cy", "anchor_y"], ["py"]),
        helper.make_node("Concat", ["px", "py"], ["pts"], axis=1),  # (B, 2, h, w)
        helper.make_node("Transpose", ["pts"], ["pts_t"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["pts_t", "points_shape"], ["points"]),  # (B, A, 2)
        helper.make_node("Reshape", ["has_f", "p_obj_shape"], ["p_obj"]),  # (B, A)
        # Smoothed shares: one-hot for a marker block, uniform for an empty one; sums to 1.
        helper.make_node("Add", ["cls_n", "eps"], ["cls_n_eps"]),
        helper.make_node("Add", ["n", "eps4"], ["n_eps"]),
        helper.make_node("Div", ["cls_n_eps", "n_eps"], ["shares"]),  # (B, 4, h, w)
        helper.make_node("Transpose", ["shares"], ["shares_t"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["shares_t", "p_class_shape"], ["p_class"]),  # (B, A, 4)
    ]
    f32, i64 = np.float32, np.int64
    inits = [
        _const("split3", np.array([1, 1, 1], i64)),
        _const("split_sums", np.array([4, 1, 1, 1], i64)),
        _const("axis1_list", np.array([1], i64)),
        _const("axis2", np.array(2, i64)), _const("axis3", np.array(3, i64)),
        _const("zero_i", np.array(0, i64)), _const("one_i", np.array(1, i64)),
        _const("zero_f", np.array(0, f32)), _const("one_f", np.array(1, f32)),
        _const("half", np.array(0.5, f32)),
        _const("block_f", np.array(BLOCK, f32)), _const("centre_f", np.array(BLOCK / 2, f32)),
        _const("block_area", np.array(BLOCK * BLOCK, f32)),
        _const("eps", np.array(1e-6, f32)), _const("eps4", np.array(4e-6, f32)),
        _const("col_shape", np.array([1, 1, 1, -1], i64)),
        _const("row_shape", np.array([1, 1, -1, 1], i64)),
        _const("points_shape", np.array([0, -1, 2], i64)),
        _const("p_obj_shape", np.array([0, -1], i64)),
        _const("p_class_shape", np.array([0, -1, len(CLASSES)], i64)),
    ]
    inits += [_const(f"level{v}", np.array(v, f32)) for v in (0, 255)]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["B", 3, "H", "W"])
    outputs = [
        helper.make_tensor_value_info("points", TensorProto.FLOAT, ["B", "A", 2]),
        helper.make_tensor_value_info("p_obj", TensorProto.FLOAT, ["B", "A"]),
        helper.make_tensor_value_info("p_class", TensorProto.FLOAT, ["B", "A", len(CLASSES)]),
    ]
    return helper.make_graph(nodes, "marker_finder", [image], outputs, inits)


def build_marker_model(path: Path) -> Path:
    """Write the marker-finding model with full contract metadata to `path`."""
    model = helper.make_model(_graph(), opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    metadata = {
        "tps.format": "1", "name": "marker-finder", "version": "1", "mpp": "0.5",
        "classes": json.dumps(list(CLASSES)),
        "tumor_pos": json.dumps(["tumor_pos"]), "tumor_neg": json.dumps(["tumor_neg"]),
        "threshold": "0.5", "input_multiple": "32",
        "anchors": json.dumps({"stride": BLOCK, "offsets": [[BLOCK // 2, BLOCK // 2]]}),
        "training": json.dumps({"kind": "hand-built test graph, not trained"}),
    }
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
