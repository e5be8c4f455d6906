"""Native TensorRT runner (10.x / 11.x name-based tensor API): an execution context on one CUDA stream.

``activate`` creates the context, allocates one device buffer per I/O tensor for the largest profile
shape and binds it with ``set_tensor_address``; ``infer`` sets the input shapes, copies in, calls
``execute_async_v3`` and copies out. ``tensorrt`` and the CUDA bindings are imported only here, only
when a runner is activated (or ``import_tensorrt`` is called).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from realtime_mer.errors import ModelError, fail
from realtime_mer.runners.base import Runner, TensorMeta
from realtime_mer.runners.cuda import CudaApi, cuda_api

TRT_FIX = ("pip install 'realtime-mer[tensorrt]' --extra-index-url https://pypi.nvidia.com on a machine with an "
           "NVIDIA GPU, or use --backend onnxruntime")


def import_tensorrt() -> Any:
    """The ``tensorrt`` module; a one-line ModelError when it is not installed or cannot load its libraries."""
    try:
        import tensorrt as trt  # type: ignore[import-not-found]
    except ImportError as e:
        raise fail(ModelError, "TensorRT (the tensorrt Python package) is not installed", TRT_FIX) from e
    except OSError as e:  # the wheel is there but libnvinfer / the driver is not
        raise fail(ModelError, f"TensorRT cannot load its libraries: {e}", TRT_FIX) from e
    return trt


def trt_version(trt: Any) -> str:
    """``trt.__version__``, e.g. ``10.3.0``."""
    return str(getattr(trt, "__version__", "0"))


def trt_major(trt: Any) -> int:
    """The major version (10, 11, ...)."""
    try:
        return int(trt_version(trt).split(".")[0])
    except ValueError:
        return 0


@functools.cache
def _logger_for(trt: Any) -> Any:
    return trt.Logger(trt.Logger.WARNING)


def trt_logger(trt: Any) -> Any:
    """One shared ``trt.Logger`` (warnings and errors) per tensorrt module."""
    return _logger_for(trt)


@functools.cache
def _runtime_for(trt: Any) -> Any:
    return trt.Runtime(trt_logger(trt))  # one per process, alive as long as any engine it made


def deserialize_engine(plan: bytes, trt: Any | None = None) -> Any:
    """``Runtime.deserialize_cuda_engine``; ``None`` (a plan from another GPU/TensorRT version, or corrupt) -> ModelError."""
    trt = trt or import_tensorrt()
    try:
        engine = _runtime_for(trt).deserialize_cuda_engine(plan)
    except Exception as e:  # some versions raise instead of returning None
        raise fail(ModelError, f"TensorRT could not deserialize the engine plan: {e}",
                   "delete it and rebuild with tools/build_engine.py") from e
    if engine is None:
        raise fail(ModelError, "TensorRT could not deserialize the engine plan (built for another GPU or TensorRT "
                   "version, or corrupt)", "delete it and rebuild with tools/build_engine.py")
    return engine


class TensorRTRunner(Runner):
    """Runs a deserialized ``ICudaEngine`` (or a loader returning one) with device buffers sized for its max batch."""

    def __init__(self, engine: Any | Callable[[], Any], trt: Any | None = None, cuda: CudaApi | None = None,
                 name: str = "tensorrt", metadata: dict[str, str] | None = None) -> None:
        super().__init__(name)
        self._model_metadata = dict(metadata or {})  # an engine keeps none: the ONNX file's, passed in
        self._engine_or_loader = engine
        self._trt = trt
        self._cuda = cuda
        self.engine: Any = None
        self._context: Any = None
        self._stream: Any = None
        self._buffers: dict[str, int] = {}
        self._io: list[tuple[str, bool, tuple[int, ...], np.dtype]] = []  # name, is_input, engine shape, dtype

    def activate_impl(self) -> None:
        trt = self._trt = self._trt or import_tensorrt()
        src = self._engine_or_loader
        self.engine = src if hasattr(src, "create_execution_context") else src()
        self._context = self.engine.create_execution_context()
        if self._context is None:
            raise fail(ModelError, "TensorRT could not create an execution context (out of GPU memory?)",
                       "free GPU memory or use --backend onnxruntime")
        self._cuda = self._cuda or cuda_api()
        try:
            self._stream = self._cuda.stream_create()
            self._io = []
            for i in range(self.engine.num_io_tensors):
                name = self.engine.get_tensor_name(i)
                is_input = self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
                shape = tuple(int(d) for d in self.engine.get_tensor_shape(name))
                dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(name)))
                self._io.append((name, is_input, shape, dtype))
            self._allocate()
        except BaseException:
            self.deactivate_impl()
            raise
        self.backend = "tensorrt"

    def _allocate(self) -> None:
        """Set every input to its largest profile shape, then allocate and bind one buffer per I/O tensor."""
        assert self._cuda is not None  # set in activate
        for name, is_input, shape, _ in self._io:
            if is_input and any(d < 0 for d in shape):
                max_shape = tuple(int(d) for d in self.engine.get_tensor_profile_shape(name, 0)[2])
                if shape[0] < 0:
                    self.max_batch = max_shape[0] if self.max_batch is None else min(self.max_batch, max_shape[0])
                self._set_input_shape(name, max_shape)
        for name, is_input, shape, dtype in self._io:
            full = shape if is_input and all(d >= 0 for d in shape) else tuple(self._context.get_tensor_shape(name))
            if any(d < 0 for d in full):
                raise fail(ModelError, f"TensorRT output {name!r} has a data-dependent shape {full}",
                           "export the model with static output shapes")
            self._buffers[name] = self._cuda.malloc(int(np.prod(full)) * dtype.itemsize)
            if not self._context.set_tensor_address(name, self._buffers[name]):
                raise fail(ModelError, f"TensorRT rejected the device address of {name!r}", "rebuild the engine")

    def _set_input_shape(self, name: str, shape: tuple[int, ...]) -> None:
        if not self._context.set_input_shape(name, shape):
            raise fail(ModelError, f"TensorRT rejected input shape {shape} for {name!r} (outside the engine's "
                       "optimization profile)", "rebuild the engine with a larger --max-batch")

    def input_metadata_impl(self) -> list[TensorMeta]:
        return [TensorMeta(n, tuple("batch" if (i == 0 and d < 0) else d for i, d in enumerate(s)), t)
                for n, is_in, s, t in self._io if is_in]

    def output_metadata_impl(self) -> list[TensorMeta]:
        return [TensorMeta(n, tuple("batch" if (i == 0 and d < 0) else d for i, d in enumerate(s)), t)
                for n, is_in, s, t in self._io if not is_in]

    def model_metadata_impl(self) -> dict[str, str]:
        return dict(self._model_metadata)

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert self._cuda is not None  # set in activate
        for name, x in feed.items():
            self._set_input_shape(name, x.shape)
            self._cuda.htod_async(self._buffers[name], x, self._stream)
        outputs = {name: np.empty(tuple(self._context.get_tensor_shape(name)), dtype)
                   for name, is_input, _, dtype in self._io if not is_input}
        if not self._context.execute_async_v3(self._cuda.stream_handle(self._stream)):
            raise fail(ModelError, "TensorRT execute_async_v3 failed", "see the TensorRT log above; rebuild the engine")
        for name, host in outputs.items():
            self._cuda.dtoh_async(host, self._buffers[name], self._stream)
        self._cuda.stream_sync(self._stream)
        return outputs

    def deactivate_impl(self) -> None:
        cuda = self._cuda
        if cuda is not None:
            for ptr in self._buffers.values():
                cuda.free(ptr)
            if self._stream is not None:
                cuda.stream_destroy(self._stream)
        self._buffers, self._stream, self._context = {}, None, None
        if not hasattr(self._engine_or_loader, "create_execution_context"):
            self.engine = None  # built by the loader: release it with the runner
