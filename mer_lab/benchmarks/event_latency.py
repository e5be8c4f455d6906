"""Per-event recognition latency of every model, as the live pipeline pays it (behind ``tools/bench_models.py``).

One event = one spotted interval's crops (onset..offset, 128 px, as copied out of the ring buffer) through
the live classifier: ``preprocess.clip_input`` (sampling, magnification, flow, dynamic images) and one
batch-1 inference on a ``Runner``. Weights are random (latency does not depend on them), so the models are
driven through ``ClipClassifier`` / ``ApexFlowClassifier`` directly rather than ``load_classifier`` (which
refuses untrained files). Times are medians pooled over ``rounds`` interleaved rounds of ``repeats`` events.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realtime_mer.recognition.classifier import ApexFlowClassifier
from realtime_mer.recognition.clip_classifier import ClipClassifier

LIVE_MODELS: tuple[str, ...] = ("apexflow", "c3d", "convlstm", "tcgru", "twostream3d", "learnet")


@dataclass(frozen=True)
class EventTiming:
    """Median per-event times of one model on one backend."""

    model: str
    backend: str
    frames: int  # crops per event (onset..offset)
    preprocess_ms: float
    inference_ms: float
    total_ms: float
    p90_total_ms: float
    events: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def event_clip(frames: int = 61, size: int = 128, seed: int = 0) -> np.ndarray:
    """A textured crop sequence that moves out and back (a 300 ms micro-expression at 200 fps by default)."""
    rng = np.random.default_rng(seed)
    tex = (rng.random((size, size + 16)) * 255).astype(np.uint8)
    shifts = np.rint(4 * np.sin(np.linspace(0, np.pi, frames))).astype(int)
    return np.stack([tex[:, 8 - s : 8 - s + size] for s in shifts])


def _classifier(model: str, backend: str, folder: Path, threads: int) -> Any:
    from mer_lab.export.model_export import export_model
    from mer_lab.models import input_contract
    from mer_lab.torch_runner import TorchRunner, model_from_registry
    from realtime_mer.runners.onnxrt import CPU, OnnxRuntimeRunner

    if backend == "onnxruntime":
        path, _ = export_model(model, folder / f"{model}.onnx", n_random=2)
        runner: Any = OnnxRuntimeRunner(path, [CPU], threads=threads)
    else:
        runner, path = TorchRunner(model_from_registry(model), input_contract(model), device="cpu", threads=threads), None
    if model == "apexflow":
        return ApexFlowClassifier(runner, model_path=path)
    return ClipClassifier(runner, model, model_path=path)


def bench_events(models: Sequence[str] = LIVE_MODELS, backends: Sequence[str] = ("onnxruntime", "torch"),
                 frames: int = 61, repeats: int = 5, rounds: int = 3, threads: int = 1) -> list[EventTiming]:
    """Per-event preprocessing / inference / total medians for each model and backend."""
    clip = event_clip(frames)
    onset, apex, offset = 0, frames // 2, frames - 1
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clfs = {(m, b): _classifier(m, b, Path(tmp), threads) for m in models for b in backends}
        try:
            for _ in range(rounds):  # interleaved, so a busy moment of the machine is shared by all models
                for key, clf in clfs.items():
                    clf.classify_clip(clip, onset, apex, offset)  # warm-up
                    for _ in range(repeats):
                        t0 = time.perf_counter()
                        if key[0] == "apexflow":
                            x = clf.features(clip[onset], clip[apex])
                            t1 = time.perf_counter()
                            clf.classify_batch(x)
                        else:
                            x = clf.model_input(clip, onset, apex, offset)
                            t1 = time.perf_counter()
                            clf._runner.infer({clf._input: x})
                        t2 = time.perf_counter()
                        samples.setdefault(key, []).append(((t1 - t0) * 1e3, (t2 - t1) * 1e3))
        finally:
            for clf in clfs.values():
                clf.close()
    out = []
    for (m, b), rows in samples.items():
        pre, inf = [r[0] for r in rows], [r[1] for r in rows]
        tot = sorted(p + i for p, i in rows)
        out.append(EventTiming(m, b, frames, round(statistics.median(pre), 2), round(statistics.median(inf), 2),
                               round(statistics.median(tot), 2), round(tot[int(0.9 * (len(tot) - 1))], 2), len(rows)))
    return out


def format_event_table(rows: Sequence[EventTiming]) -> str:
    """A Markdown table: model, backend, preprocess / inference / total ms per event."""
    lines = ["| model | backend | preprocess ms | inference ms | total ms per event (median / p90) |",
             "|---|---|---|---|---|"]
    lines += [f"| {r.model} | {r.backend} | {r.preprocess_ms:.2f} | {r.inference_ms:.2f} | "
              f"{r.total_ms:.2f} / {r.p90_total_ms:.2f} |" for r in rows]
    return "\n".join(lines)
