"""Device memory and streams for the TensorRT runner: cuda-python (``cuda.bindings.runtime``) or pycuda.

Both are optional and imported only when ``cuda_api()`` is called. cuda-python calls return a tuple whose
first item is a ``cudaError_t``; every call goes through ``_check`` so a CUDA failure becomes one
``ModelError`` line. Host arrays are ordinary (pageable) numpy arrays: the async copies are then staged by
the driver, which is correct, only not overlapped with compute.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from realtime_mer.errors import ModelError, fail

INSTALL_FIX = "pip install 'realtime-mer[tensorrt]' (cuda-python) on a machine with an NVIDIA driver"


class CudaApi(Protocol):
    """The handful of CUDA runtime calls the TensorRT runner needs."""

    name: str

    def malloc(self, nbytes: int) -> int: ...
    def free(self, ptr: int) -> None: ...
    def stream_create(self) -> Any: ...
    def stream_handle(self, stream: Any) -> int: ...
    def stream_sync(self, stream: Any) -> None: ...
    def stream_destroy(self, stream: Any) -> None: ...
    def htod_async(self, dst: int, src: np.ndarray, stream: Any) -> None: ...
    def dtoh_async(self, dst: np.ndarray, src: int, stream: Any) -> None: ...


def import_cudart() -> Any:
    """``cuda.bindings.runtime`` (cuda-python >= 12.6), else the older ``cuda.cudart``; ModelError when absent."""
    try:
        from cuda.bindings import runtime as cudart  # type: ignore[import-not-found]
    except ImportError:
        try:
            from cuda import cudart  # type: ignore[import-not-found,no-redef]
        except ImportError as e:
            raise fail(ModelError, "cuda-python is not installed", INSTALL_FIX) from e
    return cudart


class CudaPython:
    """``CudaApi`` over cuda-python's runtime bindings."""

    name = "cuda-python"

    def __init__(self, cudart: Any | None = None) -> None:
        self.rt = cudart if cudart is not None else import_cudart()

    def _check(self, result: Any, what: str) -> Any:
        """The value(s) after the status of a cuda-python call; ModelError when the status is not success."""
        status, *rest = result if isinstance(result, tuple) else (result,)
        if int(status) != int(self.rt.cudaError_t.cudaSuccess):
            msg = self.rt.cudaGetErrorString(status)
            text = msg[1] if isinstance(msg, tuple) else msg
            text = text.decode() if isinstance(text, bytes) else str(text)
            raise fail(ModelError, f"CUDA {what} failed: {text} ({int(status)})",
                       "check the NVIDIA driver (nvidia-smi) and free GPU memory")
        return rest[0] if len(rest) == 1 else (tuple(rest) if rest else None)

    def malloc(self, nbytes: int) -> int:
        return int(self._check(self.rt.cudaMalloc(max(1, int(nbytes))), "cudaMalloc"))

    def free(self, ptr: int) -> None:
        self._check(self.rt.cudaFree(ptr), "cudaFree")

    def stream_create(self) -> Any:
        return self._check(self.rt.cudaStreamCreate(), "cudaStreamCreate")

    def stream_handle(self, stream: Any) -> int:
        return int(stream)

    def stream_sync(self, stream: Any) -> None:
        self._check(self.rt.cudaStreamSynchronize(stream), "cudaStreamSynchronize")

    def stream_destroy(self, stream: Any) -> None:
        self._check(self.rt.cudaStreamDestroy(stream), "cudaStreamDestroy")

    def htod_async(self, dst: int, src: np.ndarray, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._check(self.rt.cudaMemcpyAsync(dst, src.ctypes.data, src.nbytes, kind, stream), "cudaMemcpyAsync H2D")

    def dtoh_async(self, dst: np.ndarray, src: int, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._check(self.rt.cudaMemcpyAsync(dst.ctypes.data, src, dst.nbytes, kind, stream), "cudaMemcpyAsync D2H")


class PyCuda:
    """``CudaApi`` over pycuda, on the device's *primary* context (the one TensorRT's runtime calls use)."""

    name = "pycuda"

    def __init__(self) -> None:
        try:
            import pycuda.driver as drv  # type: ignore[import-not-found]

            try:
                import pycuda.autoprimaryctx  # type: ignore[import-not-found]  # pycuda >= 2021.1
            except ImportError:
                import pycuda.autoinit  # type: ignore[import-not-found]  # noqa: F401
        except ImportError as e:
            raise fail(ModelError, "pycuda is not installed", INSTALL_FIX) from e
        except Exception as e:  # pycuda.autoinit raises driver errors when no GPU is usable
            raise fail(ModelError, f"pycuda cannot create a CUDA context: {e}", "check the NVIDIA driver") from e
        self.drv = drv
        self._allocs: dict[int, Any] = {}

    def malloc(self, nbytes: int) -> int:
        alloc = self.drv.mem_alloc(max(1, int(nbytes)))
        self._allocs[int(alloc)] = alloc
        return int(alloc)

    def free(self, ptr: int) -> None:
        alloc = self._allocs.pop(ptr, None)
        if alloc is not None:
            alloc.free()

    def stream_create(self) -> Any:
        return self.drv.Stream()

    def stream_handle(self, stream: Any) -> int:
        return int(stream.handle)

    def stream_sync(self, stream: Any) -> None:
        stream.synchronize()

    def stream_destroy(self, stream: Any) -> None:
        del stream  # pycuda destroys the stream when the object is collected

    def htod_async(self, dst: int, src: np.ndarray, stream: Any) -> None:
        self.drv.memcpy_htod_async(dst, src, stream)

    def dtoh_async(self, dst: np.ndarray, src: int, stream: Any) -> None:
        self.drv.memcpy_dtoh_async(dst, src, stream)


def cuda_api() -> CudaApi:
    """cuda-python when installed, else pycuda; one-line ModelError when neither is."""
    try:
        return CudaPython()
    except ModelError:
        pass
    try:
        return PyCuda()
    except ModelError as e:
        raise fail(ModelError, f"neither cuda-python nor a working pycuda is available ({e})", INSTALL_FIX) from e
