"""The engine for this GPU: load it, or (re)build it, or say why not -- one log line, never a crash.

``build_engine`` = precision ONNX -> ``build_plan`` -> ``save_plan``; ``engine_for`` = ``find_engine`` ->
``deserialize_engine``, rebuilding on a miss, a hash mismatch or a failed deserialization, and returning
``None`` (the caller falls back to ONNX Runtime) when that fails too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from realtime_mer.engine.build import BuildOptions, build_plan
from realtime_mer.engine.fp16 import convert_file, is_fp16
from realtime_mer.engine.int8 import has_qdq
from realtime_mer.engine.keys import EngineKey, make_sidecar, timing_cache_path
from realtime_mer.engine.store import find_engine, save_plan
from realtime_mer.errors import ModelError, fail
from realtime_mer.runners.gpu import GpuInfo
from realtime_mer.runners.tensorrt import deserialize_engine

log = logging.getLogger("realtime_mer.engine")


def onnx_for_precision(onnx_path: Path, precision: str, work_dir: Path) -> Path:
    """The ONNX to build: as is for fp32, an FP16 conversion for fp16, and the Q/DQ file itself for int8."""
    model = onnx.load(str(onnx_path), load_external_data=False)
    qdq = has_qdq(model)
    if precision == "int8":
        if not qdq:
            raise fail(ModelError, f"{onnx_path} has no Q/DQ nodes, so it cannot build an INT8 engine",
                       "calibrate it first (tools/calibrate.py) and pass the INT8 ONNX it writes")
        return Path(onnx_path)
    if qdq:
        raise fail(ModelError, f"{onnx_path} is an INT8 (Q/DQ) model", "build it with --precision int8")
    if precision == "fp16" and not is_fp16(model):
        return convert_file(onnx_path, Path(work_dir) / f"{Path(onnx_path).stem}.fp16.onnx")
    return Path(onnx_path)


def build_engine(key: EngineKey, onnx_path: Path, engines_dir: Path, gpu: GpuInfo, options: BuildOptions,
                 contract: dict[str, Any] | None = None, trt: Any | None = None,
                 builder: Callable[..., bytes] = build_plan) -> Path:
    """Build and save the plan for ``key`` (precision conversion, timing cache, sidecar); returns its path."""
    src = onnx_for_precision(onnx_path, key.precision, key.plan_path(engines_dir).parent)
    plan = builder(src, options, timing_cache_path(engines_dir, gpu, key.trt_version), trt)
    sidecar = make_sidecar(key, plan, gpu, contract, options.to_dict(), onnx_path)
    return save_plan(plan, key, engines_dir, sidecar)


@dataclass(frozen=True)
class EngineOutcome:
    """The engine (or None: fall back) and the one line that was logged about it."""

    engine: Any | None
    path: Path
    status: str  # loaded | built | rebuilt | fallback
    message: str


def engine_for(key: EngineKey, onnx_path: Path, engines_dir: Path, gpu: GpuInfo, options: BuildOptions,
               contract: dict[str, Any] | None = None, trt: Any | None = None, build: bool = True,
               builder: Callable[..., bytes] = build_plan) -> EngineOutcome:
    """Load the engine for ``key``; rebuild it on a miss / mismatch / failed deserialization; else fall back."""
    found = find_engine(key, engines_dir)
    path = found.path
    problem = found.reason
    if found.hit and found.plan is not None:
        try:
            engine = deserialize_engine(found.plan, trt)
            return _done(EngineOutcome(engine, path, "loaded", f"TensorRT engine {path} loaded"))
        except ModelError as e:
            problem = f"deserialization failed ({e})"
    if not build:
        return _done(EngineOutcome(None, path, "fallback", f"TensorRT engine {path}: {problem}; falling back to "
                                   "ONNX Runtime (build it with tools/build_engine.py)"), logging.WARNING)
    t0 = time.perf_counter()
    try:
        built = build_engine(key, onnx_path, engines_dir, gpu, options, contract, trt, builder)
        engine = deserialize_engine(built.read_bytes(), trt)
    except Exception as e:  # TensorRT raises assorted types; a failed rebuild must fall back, never crash
        return _done(EngineOutcome(None, path, "fallback", f"TensorRT engine {path}: {problem}; rebuilding failed "
                                   f"({_first_line(e)}); falling back to ONNX Runtime"), logging.WARNING)
    status = "built" if found.status == "miss" else "rebuilt"
    return _done(EngineOutcome(engine, path, status,
                               f"TensorRT engine {path}: {problem}; {status} in {time.perf_counter() - t0:.1f} s"))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__


def _done(outcome: EngineOutcome, level: int = logging.INFO) -> EngineOutcome:
    log.log(level, "%s", outcome.message)
    return outcome
