"""ApexFlowClassifier: the bundled apex-flow CNN on onnxruntime (CPU, one thread)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from realtime_mer.errors import ModelError, fail
from realtime_mer.recognition.features import DEFAULT_FLOW_METHOD, FLOW_METHODS, apex_flow_image, to_model_input
from realtime_mer.types import CLASSES

ASSETS = Path(__file__).resolve().parents[1] / "assets"
BUNDLED_MODEL = ASSETS / "apexflow.onnx"
INPUT_SHAPE: tuple[int, int, int] = (3, 28, 28)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


class ApexFlowClassifier:
    """Classifies an onset/apex crop pair (or ready apex-flow images) into ``CLASSES`` probabilities."""

    name = "apexflow"
    backend = "onnxruntime-cpu"

    def __init__(self, model_path: Path | None = None, flow_method: str = DEFAULT_FLOW_METHOD, runner: Any = None,
                 backend: str | None = None) -> None:
        if flow_method not in FLOW_METHODS:
            raise fail(ModelError, f"unknown flow method {flow_method!r}", f"use one of {', '.join(FLOW_METHODS)}")
        self.flow_method = flow_method
        self.model_path = Path(model_path) if model_path is not None else BUNDLED_MODEL
        if not self.model_path.is_file():
            raise fail(ModelError, f"model file {self.model_path} not found",
                       "reinstall realtime-mer or pass an apexflow .onnx exported by tools/train.py")
        try:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(str(self.model_path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for corrupt models
            raise fail(ModelError, f"cannot load {self.model_path}: {_first_line(e)}",
                       "re-export the model (tools/train.py --protocol all) or reinstall the package") from e
        inp = self._session.get_inputs()[0]
        if len(inp.shape) != 4 or tuple(inp.shape[1:]) != INPUT_SHAPE:
            raise fail(ModelError, f"{self.model_path} expects input {inp.shape}, not (N, 3, 28, 28)",
                       "pass an apexflow model")
        self._input = inp.name
        self.classes: tuple[str, ...] = self._read_classes()
        # another runner (TensorRT, torch, ORT with GPU providers) may do the inference; the ONNX
        # session above still validates the model and supplies its class names
        self._runner = runner
        if runner is not None:
            runner.activate()
            self.backend = backend or getattr(runner, "backend", "runner")

    def close(self) -> None:
        if self._runner is not None:
            self._runner.deactivate()

    def _read_classes(self) -> tuple[str, ...]:
        """Class names from the ONNX metadata (``classes``), else the package default."""
        meta = self._session.get_modelmeta().custom_metadata_map
        try:
            classes = tuple(json.loads(meta["classes"])) if "classes" in meta else CLASSES
        except (json.JSONDecodeError, TypeError) as e:
            raise fail(ModelError, f"{self.model_path} has unreadable class metadata", "re-export the model") from e
        n_out = self._session.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(classes):
            raise fail(ModelError, f"{self.model_path} outputs {n_out} classes but names {len(classes)}",
                       "re-export the model")
        return classes

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(N, C) float64 softmax probabilities of (N, 28, 28, 3) or (28, 28, 3) uint8 apex-flow images."""
        x = to_model_input(images)
        if self._runner is not None:
            logits = next(iter(self._runner.infer(x).values())).astype(np.float64)
        else:
            logits = self._session.run(None, {self._input: x})[0].astype(np.float64)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def classify_batch(self, images: np.ndarray) -> list[dict[str, float]]:
        """Probabilities keyed by class name for each of (N, 28, 28, 3) uint8 apex-flow images."""
        return [dict(zip(self.classes, map(float, p), strict=True)) for p in self.predict_proba(images)]

    def features(self, onset_crop: np.ndarray, apex_crop: np.ndarray) -> np.ndarray:
        """The (28, 28, 3) uint8 apex-flow image this classifier feeds its model."""
        return apex_flow_image(onset_crop, apex_crop, method=self.flow_method)

    def classify(self, onset_crop: np.ndarray, apex_crop: np.ndarray) -> dict[str, float]:
        """Softmax probabilities keyed by class name for one onset/apex pair of aligned grayscale crops."""
        return self.classify_batch(self.features(onset_crop, apex_crop))[0]
