"""Reduced-precision ONNX: FP16 by a graph pass, INT8 by Q/DQ (onnxruntime static quantization).

Both produce ONNX files that carry their precision, which is what TensorRT's strongly typed networks
(10.x with the flag, 11.x always) build from.
"""

from __future__ import annotations

from realtime_mer.precision.fp16 import convert_file, convert_to_fp16, is_fp16
from realtime_mer.precision.int8 import has_qdq, quantize_int8

__all__ = ["convert_file", "convert_to_fp16", "has_qdq", "is_fp16", "quantize_int8"]
