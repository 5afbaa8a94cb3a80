"""Graph rewrites of an exported model that keep its contract: a uint8 input with the cast inside
the graph, and fp16 arithmetic behind fp32 outputs. ONNX in, ONNX out; no torch.

The engine reads the input's element type from the graph (scoring/inference.py), so a model of
either kind is served without a setting.
"""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper

INPUT = "image"
# Ops kept in fp32 by the fp16 rewrite: the anchor grid is built with Range and the softmax
# outputs are compared with thresholds; both are cheap and need fp32's exactness.
FP16_KEEP_FP32 = ["Range", "Softmax"]


class PrecisionError(ValueError):
    """A graph that cannot be rewritten as asked."""


def input_type(proto: onnx.ModelProto) -> int:
    """The TensorProto element type of the `image` input."""
    for value in proto.graph.input:
        if value.name == INPUT:
            return int(value.type.tensor_type.elem_type)
    raise PrecisionError(f"the graph has no input named {INPUT!r}")


def with_uint8_input(proto: onnx.ModelProto) -> onnx.ModelProto:
    """`image` becomes uint8 (B, 3, H, W); a Cast to float32 feeds what read the float input.

    A quarter of the bytes cross from host to device, and the cast runs on the device."""
    kind = input_type(proto)
    if kind == TensorProto.UINT8:
        return proto
    if kind != TensorProto.FLOAT:
        raise PrecisionError(f"the image input is {TensorProto.DataType.Name(kind)}; "
                             "only a float32 input is rewritten to uint8")
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    as_float = "image_float32"
    for node in graph.node:
        node.input[:] = [as_float if name == INPUT else name for name in node.input]
    graph.node.insert(0, helper.make_node("Cast", [INPUT], [as_float], to=TensorProto.FLOAT,
                                          name="image_to_float32"))
    image = next(v for v in graph.input if v.name == INPUT)
    image.type.tensor_type.elem_type = TensorProto.UINT8
    onnx.checker.check_model(model)
    return model


def to_fp16(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Weights and arithmetic in fp16; the input and the three outputs keep their types."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    if input_type(proto) not in (TensorProto.FLOAT, TensorProto.UINT8):
        raise PrecisionError("the image input must be float32 or uint8 before the fp16 rewrite")
    converted: onnx.ModelProto = convert_float_to_float16(
        proto, keep_io_types=True, op_block_list=FP16_KEEP_FP32)
    del converted.metadata_props[:]
    converted.metadata_props.extend(proto.metadata_props)
    _sort_topologically(converted.graph)  # the converter appends the casts it adds at the end
    onnx.checker.check_model(converted)
    return converted


def _sort_topologically(graph: onnx.GraphProto) -> None:
    """Reorder the nodes so each comes after the producers of its inputs (Kahn's order)."""
    ready = {v.name for v in graph.input} | {t.name for t in graph.initializer} | {""}
    pending = list(graph.node)
    ordered: list[onnx.NodeProto] = []
    while pending:
        runnable = [n for n in pending if all(name in ready for name in n.input)]
        if not runnable:
            raise PrecisionError("the fp16 graph has a cycle or an input nobody produces")
        for node in runnable:
            ready.update(node.output)
        ordered += runnable
        pending = [n for n in pending if all(n is not r for r in runnable)]
    del graph.node[:]
    graph.node.extend(ordered)
