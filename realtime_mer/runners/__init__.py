"""Inference backends behind one ``Runner`` interface, and the choice between them.

    from realtime_mer.runners import select_runner
    runner, choice = select_runner("apexflow")          # choice: "onnxruntime-cpu (no NVIDIA GPU found)"
    with runner:
        logits = runner.infer(x)["logits"]

Backend modules (torch, onnxruntime, tensorrt) import their heavy dependencies only when used.
"""

from __future__ import annotations

from realtime_mer.runners.base import Runner, TensorMeta
from realtime_mer.runners.gpu import GpuInfo, probe_gpu
from realtime_mer.runners.select import BACKENDS, BackendChoice, runner_for_config, select_runner

__all__ = ["BACKENDS", "BackendChoice", "GpuInfo", "Runner", "TensorMeta", "probe_gpu", "runner_for_config",
           "select_runner"]
