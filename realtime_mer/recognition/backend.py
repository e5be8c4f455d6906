"""Pick the inference backend for a model on this machine, with a one-line reason.

``auto``: TensorRT when there is an NVIDIA GPU, TensorRT is installed and an engine for this GPU exists
or can be built; else ONNX Runtime (CUDA EP when this onnxruntime has it and there is a GPU, else CPU).
An explicitly requested backend that cannot run raises a one-line ``ModelError`` instead of falling back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realtime_mer.config import BACKENDS
from realtime_mer.errors import ModelError, fail, log
from realtime_mer.runners.base import Runner
from realtime_mer.runners.gpu import GpuInfo, probe_gpu
from realtime_mer.runners.onnxrt import BACKEND_OF, OnnxRuntimeRunner, onnx_metadata, pick_providers

ASSETS = Path(__file__).resolve().parents[1] / "assets"


@dataclass(frozen=True)
class BackendChoice:
    """What will run and why: ``str(choice)`` is e.g. ``onnxruntime-cpu (no NVIDIA GPU found)``."""

    backend: str  # tensorrt | onnxruntime-cpu | onnxruntime-cuda | onnxruntime-tensorrt | torch-cpu | torch-cuda
    reason: str
    gpu: GpuInfo | None = None
    engine: Path | None = None

    def __str__(self) -> str:
        return f"{self.backend} ({self.reason})"


def default_onnx(model_name: str) -> Path:
    """The bundled ONNX of a model: ``realtime_mer/assets/<name>.onnx``."""
    return ASSETS / f"{model_name}.onnx"


def _trt_or_reason(trt: Any | None) -> tuple[Any | None, str]:
    """The tensorrt module, or None and why not."""
    if trt is not None:
        return trt, ""
    from realtime_mer.runners.tensorrt import import_tensorrt

    try:
        return import_tensorrt(), ""
    except ModelError as e:
        return None, str(e).split(";")[0]


def _ort(onnx_path: Path, gpu: GpuInfo, use_trt_ep: bool, reason: str, threads: int,
         engines_dir: Path) -> tuple[Runner, BackendChoice]:
    providers = pick_providers(use_gpu=gpu.available, use_trt=use_trt_ep, trt_cache=Path(engines_dir) / "ort-trt")
    first = providers[0] if isinstance(providers[0], str) else providers[0][0]
    runner = OnnxRuntimeRunner(onnx_path, providers, threads=threads)
    return runner, BackendChoice(BACKEND_OF[first], reason, gpu)


def select_runner(model_name: str, backend: str = "auto", onnx_path: Path | None = None,
                  checkpoint: Path | None = None, precision: str = "fp16", engines_dir: Path = Path("engines"), *,
                  max_batch: int = 8, build: bool = True, gpu: GpuInfo | None = None, trt: Any | None = None,
                  threads: int = 1) -> tuple[Runner, BackendChoice]:
    """An inactive runner for ``model_name`` on the best (or the requested) backend, and why it was chosen.

    ``onnx_path`` defaults to the bundled ``assets/<model>.onnx``; ``checkpoint`` is needed for ``torch``.
    ``precision``/``max_batch``/``build`` shape the TensorRT engine; ``gpu``/``trt`` override the probe and
    the ``tensorrt`` import (tests, benchmarks).
    """
    from realtime_mer.engine.build import BuildOptions
    from realtime_mer.recognition.contracts import input_contract

    contract = input_contract(model_name)  # unknown model -> one-line ModelError
    if backend not in BACKENDS:
        raise fail(ModelError, f"unknown backend {backend!r}", f"use one of {', '.join(BACKENDS)}")
    options = BuildOptions(precision=precision, max_batch=max_batch)
    if backend == "torch":
        return _torch(model_name, checkpoint, contract, "requested", threads)
    onnx_path = Path(onnx_path) if onnx_path is not None else default_onnx(model_name)
    if not onnx_path.is_file():
        if backend == "auto" and checkpoint is not None:
            return _torch(model_name, checkpoint, contract, f"no ONNX model at {onnx_path}", threads)
        raise fail(ModelError, f"no ONNX model for {model_name!r} at {onnx_path}",
                   f"export one with tools/export_onnx.py --model {model_name} --out {onnx_path}")
    gpu = gpu or probe_gpu()
    if backend == "onnxruntime":
        trt_mod, _ = _trt_or_reason(trt) if gpu.available else (None, "")
        return _ort(onnx_path, gpu, trt_mod is not None, "requested", threads, engines_dir)
    if not gpu.available:
        if backend == "tensorrt":
            raise fail(ModelError, "--backend tensorrt needs an NVIDIA GPU, but none was found",
                       "use --backend auto or --backend onnxruntime")
        return _ort(onnx_path, gpu, False, "no NVIDIA GPU found", threads, engines_dir)
    trt_mod, why = _trt_or_reason(trt)
    if trt_mod is None:
        if backend == "tensorrt":
            from realtime_mer.runners.tensorrt import TRT_FIX

            raise fail(ModelError, why, TRT_FIX)
        return _ort(onnx_path, gpu, False, why, threads, engines_dir)
    return _tensorrt(model_name, onnx_path, contract, gpu, trt_mod, options, engines_dir, build, backend, threads)


def _tensorrt(model_name: str, onnx_path: Path, contract: Any, gpu: GpuInfo, trt: Any, options: Any,
              engines_dir: Path, build: bool, backend: str, threads: int) -> tuple[Runner, BackendChoice]:
    """The TensorRT runner for this GPU's engine, or (auto only) ONNX Runtime when no engine can be had."""
    from realtime_mer.engine.keys import EngineKey
    from realtime_mer.engine.resolve import engine_for
    from realtime_mer.runners.tensorrt import TensorRTRunner, trt_version

    key = EngineKey.create(model_name, onnx_path, options.precision, gpu, trt_version(trt))
    outcome = engine_for(key, onnx_path, Path(engines_dir), gpu, options, contract.to_dict(), trt, build)
    if outcome.engine is None:
        if backend == "tensorrt":
            raise fail(ModelError, outcome.message, "build the engine with tools/build_engine.py or use --backend auto")
        return _ort(onnx_path, gpu, False, "no usable TensorRT engine", threads, engines_dir)
    reason = (f"{'requested; ' if backend == 'tensorrt' else ''}{gpu.name} {gpu.sm}, TensorRT {key.trt_version}, "
              f"{options.precision} engine {outcome.status}")
    runner = TensorRTRunner(outcome.engine, trt=trt, metadata=onnx_metadata(onnx_path))
    return runner, BackendChoice("tensorrt", reason, gpu, outcome.path)


def _torch(model_name: str, checkpoint: Path | None, contract: Any, reason: str,
           threads: int) -> tuple[Runner, BackendChoice]:
    """The torch backend, provided by a plugin (the lab registers one; the runtime itself never imports torch)."""
    if checkpoint is None:
        raise fail(ModelError, f"the torch backend needs a trained {model_name} checkpoint",
                   "pass --model-path PATH.safetensors or use --backend auto")
    if not Path(checkpoint).is_file():
        raise fail(ModelError, f"checkpoint {checkpoint} not found", "pass an existing .safetensors checkpoint")
    make = backend_plugin("torch")
    runner, device = make(model_name, Path(checkpoint), contract, threads)
    log.debug("torch backend on %s", device)
    return runner, BackendChoice(f"torch-{device}", reason)


PLUGIN_GROUP = "realtime_mer.backends"


def backend_plugin(name: str) -> Any:
    """The factory a package registered for backend ``name`` (entry point group ``realtime_mer.backends``).

    A factory is called as ``make(model_name, checkpoint, contract, threads)`` and returns ``(runner, device)``.
    """
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group=PLUGIN_GROUP) if ep.name == name]
    if not found:
        raise fail(ModelError, f"the {name} backend is not installed",
                   "install the lab extra (pip install 'realtime-mer[train]') or use --backend auto")
    try:
        return found[0].load()
    except ImportError as e:
        raise fail(ModelError, f"the {name} backend cannot load: {e}",
                   "install the lab extra (pip install 'realtime-mer[train]') or use --backend auto") from e


def runner_for_config(model_cfg: Any, engines_dir: Path = Path("engines"),
                      precision: str = "fp16") -> tuple[Runner, BackendChoice]:
    """``select_runner`` for a ``realtime_mer.config.ModelConfig`` (``path``: an .onnx or a .safetensors file)."""
    path = Path(model_cfg.path) if model_cfg.path is not None else None
    is_ckpt = path is not None and path.suffix == ".safetensors"
    return select_runner(model_cfg.name, model_cfg.backend, onnx_path=None if is_ckpt else path,
                         checkpoint=path if is_ckpt else None, precision=precision, engines_dir=engines_dir)
