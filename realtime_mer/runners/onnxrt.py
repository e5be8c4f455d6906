"""ONNX Runtime runner: CPU always; the CUDA and TensorRT execution providers when this onnxruntime build has them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from realtime_mer.errors import ModelError, fail
from realtime_mer.runners.base import Runner, TensorMeta

CPU, CUDA, TRT = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"
BACKEND_OF = {CPU: "onnxruntime-cpu", CUDA: "onnxruntime-cuda", TRT: "onnxruntime-tensorrt"}
_DTYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(int32)": np.int32, "tensor(int64)": np.int64,
    "tensor(bool)": np.bool_,
}

Provider = str | tuple[str, dict[str, Any]]


def available_providers() -> list[str]:
    """The execution providers this onnxruntime build offers (always includes the CPU one)."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def pick_providers(use_gpu: bool = True, use_trt: bool = True, available: Sequence[str] | None = None,
                   trt_cache: Path | None = None) -> list[Provider]:
    """Preferred providers, best first: TensorRT EP (``use_trt``), CUDA EP (when present and ``use_gpu``), then CPU."""
    have = list(available) if available is not None else available_providers()
    out: list[Provider] = []
    if use_gpu and use_trt and TRT in have:
        opts: dict[str, Any] = {"trt_fp16_enable": True}
        if trt_cache is not None:
            opts.update(trt_engine_cache_enable=True, trt_engine_cache_path=str(trt_cache))
        out.append((TRT, opts))
    if use_gpu and CUDA in have:
        out.append(CUDA)
    out.append(CPU)
    return out


def _dim(d: Any, axis: int) -> int | str:
    """An ORT shape entry as int (static) or name (dynamic; unnamed axes become ``dim<axis>``)."""
    if isinstance(d, int) and d >= 0:
        return d
    return d if isinstance(d, str) and d else ("batch" if axis == 0 else f"dim{axis}")


def _meta(arg: Any) -> TensorMeta:
    if arg.type not in _DTYPES:
        raise fail(ModelError, f"tensor {arg.name!r} has unsupported type {arg.type}", "export float32 inputs/outputs")
    return TensorMeta(arg.name, tuple(_dim(d, i) for i, d in enumerate(arg.shape)), np.dtype(_DTYPES[arg.type]))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def onnx_metadata(path: Path) -> dict[str, str]:
    """The custom metadata (``metadata_props``) of an ONNX file, for backends that run an engine built from it."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # onnx raises protobuf / OS errors for unreadable files
        raise fail(ModelError, f"cannot read the metadata of {path}: {_first_line(e)}",
                   "re-export the model (tools/export_onnx.py)") from e
    return {p.key: p.value for p in model.metadata_props}


class OnnxRuntimeRunner(Runner):
    """An ``onnxruntime.InferenceSession`` over an ONNX file or its bytes."""

    def __init__(self, model: Path | bytes, providers: Sequence[Provider] | None = None, threads: int = 1,
                 name: str = "onnxruntime") -> None:
        super().__init__(name)
        self.model = model if isinstance(model, bytes) else Path(model)
        self.providers = list(providers) if providers is not None else [CPU]
        self.threads = threads
        self._session: Any = None

    def activate_impl(self) -> None:
        import onnxruntime as ort

        if isinstance(self.model, Path) and not self.model.is_file():
            raise fail(ModelError, f"ONNX model {self.model} not found",
                       "export it with tools/export_onnx.py --model NAME --out PATH")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        src = self.model if isinstance(self.model, bytes) else str(self.model)
        try:
            self._session = ort.InferenceSession(src, opts, providers=self.providers)
        except Exception as e:  # onnxruntime raises its own exception types for bad models / providers
            where = "the ONNX bytes" if isinstance(self.model, bytes) else str(self.model)
            raise fail(ModelError, f"onnxruntime cannot load {where}: {_first_line(e)}",
                       "re-export the model (tools/export_onnx.py) or use another backend") from e
        self.backend = BACKEND_OF.get(self._session.get_providers()[0], "onnxruntime")

    @property
    def session_providers(self) -> list[str]:
        """The providers the live session actually uses, best first."""
        return list(self._session.get_providers()) if self._session is not None else []

    def input_metadata_impl(self) -> list[TensorMeta]:
        return [_meta(a) for a in self._session.get_inputs()]

    def output_metadata_impl(self) -> list[TensorMeta]:
        return [_meta(a) for a in self._session.get_outputs()]

    def model_metadata_impl(self) -> dict[str, str]:
        return dict(self._session.get_modelmeta().custom_metadata_map)

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = list(self._outputs)
        return dict(zip(names, self._session.run(names, feed), strict=True))

    def deactivate_impl(self) -> None:
        self._session = None
