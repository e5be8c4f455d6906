"""Build a TensorRT plan from ONNX, in small steps: ``network_from_onnx`` -> ``builder_config`` -> ``build_plan``.

Written against the TensorRT 10.x and 11.x Python API. Networks are created strongly typed (the
``STRONGLY_TYPED`` flag on 10.x; 11.x networks always are), so the precision comes from the ONNX itself:
FP16 from ``realtime_mer.engine.fp16`` and INT8 from the Q/DQ nodes ``tools/calibrate.py`` writes.
That is the one path for both versions (11.x has no FP16/INT8 builder flags and no calibrators).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from realtime_mer.engine.keys import PRECISIONS
from realtime_mer.errors import ModelError, fail, log
from realtime_mer.runners.tensorrt import import_tensorrt, trt_logger, trt_major


@dataclass(frozen=True)
class BuildOptions:
    """Engine build settings (recorded in the sidecar)."""

    precision: str = "fp16"
    max_batch: int = 8
    opt_batch: int = 1  # the live pipeline classifies one interval at a time
    workspace_mb: int = 1024

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise fail(ModelError, f"unknown precision {self.precision!r}", f"use one of {', '.join(PRECISIONS)}")
        if not 1 <= self.opt_batch <= self.max_batch:
            raise fail(ModelError, f"batch sizes must satisfy 1 <= opt ({self.opt_batch}) <= max ({self.max_batch})",
                       "pass a --max-batch of at least 1")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def create_network(builder: Any, trt: Any) -> tuple[Any, bool]:
    """An empty network and whether it is strongly typed (explicit batch flag only before 10.x)."""
    flags = 0
    kinds = trt.NetworkDefinitionCreationFlag
    if trt_major(trt) < 10 and hasattr(kinds, "EXPLICIT_BATCH"):
        flags |= 1 << int(kinds.EXPLICIT_BATCH)
    strongly_typed = hasattr(kinds, "STRONGLY_TYPED")
    if strongly_typed:
        flags |= 1 << int(kinds.STRONGLY_TYPED)
    return builder.create_network(flags), strongly_typed or trt_major(trt) >= 11


def network_from_onnx(onnx_path: Path, trt: Any | None = None) -> tuple[Any, Any, Any, bool]:
    """Parse ``onnx_path`` into a new network: ``(builder, network, parser, strongly_typed)``.

    Every parser error is logged (debug) and all of them go into the one-line ModelError.
    """
    trt = trt or import_tensorrt()
    logger = trt_logger(trt)
    builder = trt.Builder(logger)
    network, strongly_typed = create_network(builder, trt)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i)).strip() for i in range(parser.num_errors)]
        for err in errors:
            log.debug("TensorRT ONNX parser: %s", err)
        detail = " | ".join(e.splitlines()[0][:160] for e in errors) or "no detail"
        raise fail(ModelError, f"TensorRT cannot parse {onnx_path} ({len(errors)} error(s): {detail})",
                   "check the ONNX opset/IR version or build with --backend onnxruntime")
    return builder, network, parser, strongly_typed


def optimization_profile(builder: Any, network: Any, options: BuildOptions) -> Any:
    """min/opt/max = 1/opt_batch/max_batch on the batch axis of every input; other axes must be static."""
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        shape = tuple(int(d) for d in tensor.shape)
        if any(d < 0 for d in shape[1:]):
            raise fail(ModelError, f"input {tensor.name!r} has dynamic non-batch axes {shape}",
                       "export with only the batch axis dynamic")
        rest = shape[1:]
        profile.set_shape(tensor.name, (1, *rest), (options.opt_batch, *rest), (options.max_batch, *rest))
    return profile


def builder_config(builder: Any, network: Any, options: BuildOptions, strongly_typed: bool,
                   timing_cache: bytes = b"", trt: Any | None = None) -> tuple[Any, Any]:
    """The ``IBuilderConfig`` (workspace limit, profile, timing cache) and its ``ITimingCache``."""
    trt = trt or import_tensorrt()
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mb << 20)
    config.add_optimization_profile(optimization_profile(builder, network, options))
    if not strongly_typed:  # TensorRT < 10 only; 10.x/11.x take the precision from the ONNX types
        for prec, flag in (("fp16", "FP16"), ("int8", "INT8")):
            if options.precision == prec and hasattr(trt.BuilderFlag, flag):
                config.set_flag(getattr(trt.BuilderFlag, flag))
    cache = config.create_timing_cache(timing_cache)
    config.set_timing_cache(cache, False)
    return config, cache


def load_timing_cache(path: Path | None) -> bytes:
    """The serialized timing cache at ``path`` (empty when there is none yet)."""
    try:
        return Path(path).read_bytes() if path is not None else b""
    except OSError:
        return b""


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def build_plan(onnx_path: Path, options: BuildOptions, timing_cache_path: Path | None = None,
               trt: Any | None = None) -> bytes:
    """The serialized engine of ``onnx_path`` (precision already in the ONNX); updates the timing cache."""
    trt = trt or import_tensorrt()
    builder, network, _parser, strongly_typed = network_from_onnx(onnx_path, trt)
    config, cache = builder_config(builder, network, options, strongly_typed, load_timing_cache(timing_cache_path), trt)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise fail(ModelError, f"TensorRT failed to build an engine from {onnx_path}",
                   "see the TensorRT log above, or use --backend onnxruntime")
    if timing_cache_path is not None:
        try:
            atomic_write(timing_cache_path, bytes(memoryview(cache.serialize())))
        except OSError as e:
            log.warning("could not save the TensorRT timing cache %s: %s", timing_cache_path, e)
    return bytes(memoryview(plan))
