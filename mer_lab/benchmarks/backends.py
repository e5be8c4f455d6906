"""Per-backend model benchmarks (behind ``tools/bench.py --backends``): latency and throughput per batch size.

For every registered model: torch CPU (CUDA when torch sees a GPU), ONNX Runtime (CPU, or its GPU
providers), and native TensorRT when this machine has a GPU and TensorRT. Weights are random (latency does
not depend on them); each (model, backend, batch) is timed for at least ``min_repeats`` and at most
``repeats`` calls or ``budget_s`` seconds, and the median call time is reported.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realtime_mer.errors import MerError, log
from realtime_mer.runners.base import Runner

BATCHES = (1, 8, 32)


@dataclass(frozen=True)
class BackendTiming:
    """Median latency of one inference call and the throughput it implies."""

    model: str
    backend: str
    batch: int
    latency_ms: float  # median wall time of one infer() call (whole batch)
    p90_ms: float
    throughput: float  # samples per second at the median
    repeats: int
    threads: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def time_calls(fn: Callable[[], object], repeats: int = 30, min_repeats: int = 3, warmup: int = 2,
               budget_s: float = 2.0) -> list[float]:
    """Seconds per call of ``fn`` after ``warmup`` calls: ``min_repeats``..``repeats`` calls within ``budget_s``."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats and (len(times) < min_repeats or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _timing(model: str, runner: Runner, batch: int, x: np.ndarray, threads: int, **kw: Any) -> BackendTiming:
    times = time_calls(lambda: runner.infer(x), **kw)
    med = statistics.median(times)
    p90 = float(np.percentile(times, 90))
    return BackendTiming(model, runner.backend, batch, med * 1e3, p90 * 1e3, batch / med, len(times), threads)


def _runners(name: str, work: Path, threads: int, engines_dir: Path, max_batch: int,
             include_tensorrt: bool) -> list[Runner]:
    """torch, ONNX Runtime and (when possible) TensorRT runners for model ``name``."""
    from mer_lab.export.model_export import export_model
    from mer_lab.models import input_contract
    from mer_lab.torch_runner import TorchRunner, model_from_registry
    from realtime_mer.recognition.backend import select_runner
    from realtime_mer.runners.gpu import probe_gpu
    from realtime_mer.runners.onnxrt import OnnxRuntimeRunner, pick_providers

    contract = input_contract(name)
    onnx_path, _ = export_model(name, work / f"{name}.onnx")
    gpu = probe_gpu()
    runners: list[Runner] = [TorchRunner(model_from_registry(name), contract, threads=threads),
                             OnnxRuntimeRunner(onnx_path, pick_providers(gpu.available, use_trt=False), threads)]
    if include_tensorrt and gpu.available:
        try:
            runner, _ = select_runner(name, "tensorrt", onnx_path, engines_dir=engines_dir, max_batch=max_batch)
            runners.append(runner)
        except MerError as e:
            log.warning("benchmark: no TensorRT for %s (%s)", name, e)
    return runners


def bench_backends(models: Sequence[str] | None = None, batches: Sequence[int] = BATCHES, repeats: int = 30,
                   min_repeats: int = 3, budget_s: float = 2.0, threads: int = 1, engines_dir: Path = Path("engines"),
                   include_tensorrt: bool = True) -> list[BackendTiming]:
    """Median latency / throughput of every (model, backend, batch); ``models`` defaults to the whole registry."""
    from mer_lab.export.model_export import random_inputs
    from mer_lab.models import available_models, input_contract

    rows: list[BackendTiming] = []
    with tempfile.TemporaryDirectory() as td:
        for name in models or available_models():
            contract = input_contract(name)
            for runner in _runners(name, Path(td), threads, engines_dir, max(batches), include_tensorrt):
                with runner:
                    for batch in batches:
                        x = random_inputs(contract, batch, seed=batch)
                        rows.append(_timing(name, runner, batch, x, threads, repeats=repeats,
                                            min_repeats=min_repeats, budget_s=budget_s))
    return rows


def format_backend_table(rows: Sequence[BackendTiming]) -> str:
    """A Markdown table: model, backend, batch, median / p90 latency per call, throughput."""
    lines = ["| model | backend | batch | latency p50 ms | latency p90 ms | throughput samples/s | repeats |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.model} | {r.backend} | {r.batch} | {r.latency_ms:.3f} | {r.p90_ms:.3f} | "
                     f"{r.throughput:.0f} | {r.repeats} |")
    return "\n".join(lines)
