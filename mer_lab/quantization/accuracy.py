"""Accuracy of an ONNX model on ONNX Runtime CPU (to check that reduced precision keeps UF1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mer_lab.training.metrics import scores
from realtime_mer.runners.onnxrt import OnnxRuntimeRunner


def ort_logits(onnx_path: Path, inputs: np.ndarray, batch: int = 256, threads: int = 1) -> np.ndarray:
    """(N, C) outputs of the ONNX model for ``inputs`` (N, ...) float32, batch by batch."""
    with OnnxRuntimeRunner(onnx_path, threads=threads) as runner:
        out = [next(iter(runner.infer(inputs[i : i + batch]).values())) for i in range(0, len(inputs), batch)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def ort_uf1(onnx_path: Path, inputs: np.ndarray, labels: np.ndarray, n_classes: int = 3) -> float:
    """MEGC UF1 of the model's argmax predictions."""
    return scores(labels, ort_logits(onnx_path, inputs).argmax(1), n_classes).uf1
