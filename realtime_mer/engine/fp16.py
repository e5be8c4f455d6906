"""FP32 -> FP16 ONNX graph pass (the reduced-precision path TensorRT 11's strongly typed networks need).

Float initializers and float ``Constant`` / ``ConstantOfShape`` values become float16 (clamped to ±65504),
``Cast(to=FLOAT)`` becomes ``Cast(to=FLOAT16)``, and with ``keep_io_types`` the graph keeps float32
inputs/outputs through ``Cast`` nodes at its edges, so callers feed and read float32 as before. Tensors
that feed a parameter slot which must stay float32 (``Resize`` roi/scales, ``Upsample`` scales) are left
alone. The result is checked with strict ONNX shape/type inference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from realtime_mer.errors import ModelError, fail

FP16_MAX = float(np.finfo(np.float16).max)  # 65504
FLOAT32_SLOTS: dict[str, frozenset[int]] = {"Resize": frozenset({1, 2}), "Upsample": frozenset({1})}
_F32, _F16 = TensorProto.FLOAT, TensorProto.FLOAT16


def _to_fp16(t: TensorProto) -> TensorProto:
    """A float32 tensor as float16 (same name), values clamped to the float16 range."""
    a = numpy_helper.to_array(t).astype(np.float32)
    return numpy_helper.from_array(np.clip(a, -FP16_MAX, FP16_MAX).astype(np.float16), t.name)


def _fp32_only(graph: onnx.GraphProto) -> set[str]:
    """Names of tensors consumed in a slot that must stay float32."""
    keep: set[str] = set()
    for node in graph.node:
        for i in FLOAT32_SLOTS.get(node.op_type, ()):
            if i < len(node.input) and node.input[i]:
                keep.add(node.input[i])
    return keep


def is_fp16(model: onnx.ModelProto) -> bool:
    """True when the graph already holds float16 weights (converted before)."""
    return any(t.data_type == _F16 for t in model.graph.initializer)


def convert_to_fp16(model: onnx.ModelProto, keep_io_types: bool = True) -> onnx.ModelProto:
    """A float16 copy of ``model`` (float32 I/O kept through Casts when ``keep_io_types``)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for node in g.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise fail(ModelError, f"FP16 conversion does not support control-flow node {node.op_type!r}",
                       "export the model without If/Loop/Scan or build it in fp32")
    keep = _fp32_only(g)
    for i, t in enumerate(g.initializer):
        if t.data_type == _F32 and t.name not in keep:
            g.initializer[i].CopyFrom(_to_fp16(t))
    for node in g.node:
        if node.output and node.output[0] in keep:
            continue
        for a in node.attribute:
            if node.op_type == "Cast" and a.name == "to" and a.i == _F32:
                a.i = _F16
            elif node.op_type in ("Constant", "ConstantOfShape") and a.name == "value" and a.t.data_type == _F32:
                a.t.CopyFrom(_to_fp16(a.t))
    _retype_edges(g, keep_io_types)
    del g.value_info[:]  # stale float32 annotations; shape inference below re-derives them
    prop = m.metadata_props.add()
    prop.key, prop.value = "precision", "fp16"
    try:
        return onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    except Exception as e:  # onnx raises InferenceError / ValidationError subclasses
        text = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise fail(ModelError, f"FP16 conversion produced an inconsistent graph: {text}",
                   "build this model in fp32 (--precision fp32)") from e


def _retype_edges(g: onnx.GraphProto, keep_io_types: bool) -> None:
    """Float32 graph inputs/outputs: Casts at the edges (``keep_io_types``) or retyped to float16."""
    head: list[onnx.NodeProto] = []
    for inp in g.input:
        if inp.type.tensor_type.elem_type != _F32 or any(t.name == inp.name for t in g.initializer):
            continue
        if not keep_io_types:
            inp.type.tensor_type.elem_type = _F16
            continue
        inner = f"{inp.name}__fp16"
        for node in g.node:
            node.input[:] = [inner if n == inp.name else n for n in node.input]
        head.append(helper.make_node("Cast", [inp.name], [inner], name=f"{inp.name}__to_fp16", to=_F16))
    tail: list[onnx.NodeProto] = []
    for out in g.output:
        if out.type.tensor_type.elem_type != _F32:
            continue
        if not keep_io_types:
            out.type.tensor_type.elem_type = _F16
            continue
        inner = f"{out.name}__fp16"
        for node in g.node:
            node.output[:] = [inner if n == out.name else n for n in node.output]
            node.input[:] = [inner if n == out.name else n for n in node.input]
        tail.append(helper.make_node("Cast", [inner], [out.name], name=f"{out.name}__to_fp32", to=_F32))
    nodes = [*head, *g.node, *tail]
    del g.node[:]
    g.node.extend(nodes)


def convert_file(src: Path, dst: Path, keep_io_types: bool = True) -> Path:
    """Convert the ONNX file ``src`` to float16 at ``dst`` (a model that already is float16 is copied)."""
    try:
        model = onnx.load(str(src))
    except Exception as e:
        raise fail(ModelError, f"cannot read ONNX model {src}: {e}", "re-export it with tools/export_onnx.py") from e
    out = model if is_fp16(model) else convert_to_fp16(model, keep_io_types)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(out, str(dst))
    return dst
