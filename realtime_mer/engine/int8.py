"""INT8 by explicit quantization: ``onnxruntime.quantization.quantize_static`` writes a Q/DQ ONNX.

QDQ format, symmetric signed int8 for activations and weights (what TensorRT's explicit quantization
expects), per-channel weights, ranges calibrated on representative inputs fed through a
``CalibrationDataReader``. The same file runs on ONNX Runtime CPU (to check accuracy) and builds an
INT8 TensorRT engine on 10.x and 11.x alike (11.x has no INT8 flag or calibrator).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from realtime_mer.errors import ModelError, fail

QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")


def has_qdq(model: onnx.ModelProto | Path) -> bool:
    """True when the graph has QuantizeLinear/DequantizeLinear nodes (an explicitly quantized model)."""
    m = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))
    return any(n.op_type in QDQ_OPS for n in m.graph.node)


def _prune_opsets(model: onnx.ModelProto) -> None:
    """Drop the opset imports of domains no node uses (ORT's pre-processing lists all of its own)."""
    used = {n.domain for n in model.graph.node} | {""}
    keep = [o for o in model.opset_import if o.domain in used or o.domain == "ai.onnx"]
    del model.opset_import[:]
    model.opset_import.extend(keep)


def array_reader(inputs: np.ndarray, input_name: str = "input", batch: int = 16) -> Any:
    """A ``CalibrationDataReader`` yielding ``{input_name: inputs[i:i+batch]}`` until the array is used up."""
    from onnxruntime.quantization import CalibrationDataReader

    class ArrayReader(CalibrationDataReader):
        """Batches of one in-memory float32 array."""

        def __init__(self) -> None:
            self.start = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.start >= len(inputs):
                return None
            x = np.ascontiguousarray(inputs[self.start : self.start + batch], dtype=np.float32)
            self.start += batch
            return {input_name: x}

        def rewind(self) -> None:
            self.start = 0

    return ArrayReader()


def _method(name: str) -> Any:
    from onnxruntime.quantization import CalibrationMethod

    table = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
             "percentile": CalibrationMethod.Percentile}
    if name not in table:
        raise fail(ModelError, f"unknown calibration method {name!r}", f"use one of {', '.join(CALIBRATION_METHODS)}")
    return table[name]


def quantize_int8(src: Path, dst: Path, inputs: np.ndarray, method: str = "minmax", per_channel: bool = True,
                  input_name: str = "input", batch: int = 16) -> Path:
    """Write the Q/DQ INT8 model of the float32 ONNX ``src`` to ``dst``, calibrated on ``inputs`` (N, ...)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(inputs) == 0:
        raise fail(ModelError, "no calibration inputs", "pass representative inputs with --data (see calibration/README.md)")
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise fail(ModelError, f"ONNX model {src} not found", "export it with tools/export_onnx.py")
    if has_qdq(src):
        raise fail(ModelError, f"{src} is already quantized (it has Q/DQ nodes)", "pass the float32 ONNX")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as td:
        pre = Path(td) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)  # shape inference + graph fusions
        # the histogram calibrators (entropy, percentile) stack per-batch activations: batches must be equal
        step = batch if method == "minmax" else 1
        quantize_static(
            str(pre), str(dst), array_reader(inputs, input_name, step),
            quant_format=QuantFormat.QDQ, per_channel=per_channel,
            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
            calibrate_method=_method(method),
            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True},
        )
    model = onnx.load(str(dst))
    meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    meta.update({"precision": "int8", "calibration": f"{method}, {len(inputs)} inputs, per-channel={per_channel}"})
    onnx.helper.set_model_props(model, meta)
    _prune_opsets(model)
    onnx.save(model, str(dst))
    return dst
