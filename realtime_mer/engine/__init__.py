"""TensorRT engines per GPU: keys and sidecars, building, the on-disk store, and load-or-rebuild.

Nothing here imports ``tensorrt`` at import time; it is imported when a plan is built or deserialized.
"""

from __future__ import annotations

from realtime_mer.engine.build import BuildOptions, build_plan, network_from_onnx
from realtime_mer.engine.keys import EngineKey, sha256_file, timing_cache_path
from realtime_mer.engine.resolve import EngineOutcome, build_engine, engine_for, onnx_for_precision
from realtime_mer.engine.store import Lookup, find_engine, load_plan, save_plan

__all__ = [
    "BuildOptions", "EngineKey", "EngineOutcome", "Lookup", "build_engine", "build_plan", "engine_for", "find_engine",
    "load_plan", "network_from_onnx", "onnx_for_precision", "save_plan", "sha256_file", "timing_cache_path",
]
