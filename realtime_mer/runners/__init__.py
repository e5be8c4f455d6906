"""Inference backends behind one ``Runner`` interface (ONNX Runtime, TensorRT; torch from the lab's plugin).

    from realtime_mer.recognition.backend import select_runner
    runner, choice = select_runner("apexflow")          # choice: "onnxruntime-cpu (no NVIDIA GPU found)"
    with runner:
        logits = runner.infer(x)["logits"]

Backend modules import their heavy dependencies only when used; which backend runs is chosen by
``realtime_mer.recognition.backend``.
"""

from __future__ import annotations

from realtime_mer.runners.base import Runner, TensorMeta
from realtime_mer.runners.gpu import GpuInfo, probe_gpu

__all__ = ["GpuInfo", "Runner", "TensorMeta", "probe_gpu"]
