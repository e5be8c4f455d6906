"""ApexFlowClassifier: the apex-flow CNN behind the ``Runner`` interface, on whatever backend was chosen.

``load_classifier(cfg.model)`` is what the live pipeline uses: the runner comes from
``recognition.backend`` (TensorRT, ONNX Runtime with GPU providers, or ONNX Runtime on the CPU);
``ApexFlowClassifier(path)`` runs an .onnx file on ONNX Runtime's CPU provider with one thread.
Class names come from the model's ``classes`` metadata, read through the runner.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from realtime_mer.config import ModelConfig
from realtime_mer.errors import ModelError, fail
from realtime_mer.recognition.classes import class_set
from realtime_mer.recognition.clip_classifier import (
    ClipClassifier,
    Intensity,
    RunnerModel,
    check_trained,
    model_classes,
)
from realtime_mer.recognition.features import DEFAULT_FLOW_METHOD, FLOW_METHODS, apex_flow_image, to_model_input
from realtime_mer.runners.base import Runner
from realtime_mer.types import CLASSES

ASSETS = Path(__file__).resolve().parents[1] / "assets"
BUNDLED_MODEL = ASSETS / "apexflow.onnx"
INPUT_SHAPE: tuple[int, int, int] = (3, 28, 28)


class ApexFlowClassifier(RunnerModel):
    """Classifies an onset/apex crop pair (or ready apex-flow images) into ``classes`` probabilities.

    ``model``: a ``Runner`` (active or not; the classifier activates it and deactivates it on ``close``),
    or the path of an .onnx file (None: the bundled model) to run on ONNX Runtime's CPU provider.
    ``model_path`` names the model file in error messages when ``model`` is a runner.
    """

    name = "apexflow"
    needs_clip = False  # only the onset / apex pair is used
    has_intensity = False  # no intensity head
    last_intensity: Intensity | None = None

    def __init__(self, model: Runner | Path | str | None = None, flow_method: str = DEFAULT_FLOW_METHOD, *,
                 backend_reason: str | None = None, model_path: Path | str | None = None) -> None:
        if flow_method not in FLOW_METHODS:
            raise fail(ModelError, f"unknown flow method {flow_method!r}", f"use one of {', '.join(FLOW_METHODS)}")
        self.flow_method = flow_method
        if isinstance(model, Runner):
            runner = model
        else:
            from realtime_mer.runners.onnxrt import CPU, OnnxRuntimeRunner

            model_path = Path(model) if model is not None else BUNDLED_MODEL
            if not model_path.is_file():
                raise fail(ModelError, f"model file {model_path} not found",
                           "reinstall realtime-mer or pass an apexflow .onnx exported by tools/train.py")
            runner = OnnxRuntimeRunner(model_path, [CPU], threads=1)
        super().__init__(runner, model_path=model_path, backend_reason=backend_reason)

    def _check(self, runner: Runner) -> None:
        """Input name, output name and class names, after checking the input contract and the class count."""
        inputs, outputs = runner.input_metadata(), runner.output_metadata()
        if len(inputs) != 1 or len(outputs) < 1:
            raise fail(ModelError, f"{self._where} has {len(inputs)} inputs and {len(outputs)} outputs, not one image "
                       "input and a logits output", "pass an apexflow model")
        inp = next(iter(inputs.values()))
        if len(inp.shape) != 4 or tuple(inp.shape[1:]) != INPUT_SHAPE:
            shape = "(" + ", ".join(str(d) for d in inp.shape) + ")"
            raise fail(ModelError, f"{self._where} expects input {shape}, not (N, 3, 28, 28)", "pass an apexflow model")
        out = next(iter(outputs.values()))
        classes = model_classes(self.metadata, self._where, CLASSES)
        n_out = out.shape[-1] if out.shape else None
        if isinstance(n_out, int) and n_out >= 0 and n_out != len(classes):
            raise fail(ModelError, f"{self._where} outputs {n_out} classes but names {len(classes)}",
                       "re-export the model")
        self._input, self._output, self.classes = inp.name, out.name, classes

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(N, C) float64 softmax probabilities of (N, 28, 28, 3) or (28, 28, 3) uint8 apex-flow images."""
        logits = self._runner.infer({self._input: to_model_input(images)})[self._output].astype(np.float64)
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

    def classify_clip(self, frames: np.ndarray, onset: int, apex: int, offset: int) -> dict[str, float]:
        """``classify`` of ``frames[onset]`` and ``frames[apex]`` (the clip form every live classifier has)."""
        return self.classify(frames[onset], frames[apex])


def load_classifier(model_cfg: ModelConfig) -> ApexFlowClassifier | ClipClassifier:
    """The live pipeline's recognition model for ``model_cfg`` on the runner ``auto`` (or the requested
    backend) picks: TensorRT when a GPU and an engine exist or can be built, else ONNX Runtime; a
    ``.safetensors`` checkpoint on ``--backend torch``.

    ``apexflow`` ships its weights; every other model needs ``--model-path`` (an .onnx exported by the lab,
    or a checkpoint with ``--backend torch``) holding trained weights. ``model_cfg.classes`` (a class-set
    name) is checked against the model's own classes.
    """
    from realtime_mer.recognition.backend import runner_for_config
    from realtime_mer.recognition.contracts import available_contracts

    if model_cfg.name not in available_contracts():
        raise fail(ModelError, f"unknown model {model_cfg.name!r}", f"use one of: {', '.join(available_contracts())}")
    if model_cfg.path is None and model_cfg.name != "apexflow":
        raise fail(ModelError, f"model {model_cfg.name!r} has no bundled weights",
                   f"pass --model-path MODEL.onnx (tools/train.py --model {model_cfg.name} --protocol all writes one) "
                   "or --model-path MODEL.safetensors --backend torch")
    suffix = Path(model_cfg.path).suffix if model_cfg.path is not None else ".onnx"
    if suffix == ".safetensors" and model_cfg.backend != "torch":
        raise fail(ModelError, f"--model-path {model_cfg.path} is not an .onnx file (a PyTorch checkpoint runs on the torch backend only)",
                   "add --backend torch, or export an .onnx with tools/export_onnx.py")
    if suffix not in (".onnx", ".safetensors"):
        raise fail(ModelError, f"--model-path {model_cfg.path} is not an .onnx file", "export one with tools/export_onnx.py")
    runner, choice = runner_for_config(model_cfg)
    clf: ApexFlowClassifier | ClipClassifier
    if model_cfg.name == "apexflow":
        clf = ApexFlowClassifier(runner, backend_reason=str(choice), model_path=model_cfg.path or BUNDLED_MODEL)
    else:
        clf = ClipClassifier(runner, model_cfg.name, backend_reason=str(choice), model_path=model_cfg.path)
    try:
        check_trained(clf.metadata, str(model_cfg.path or BUNDLED_MODEL))
    except ModelError:
        clf.close()
        raise
    want = getattr(model_cfg, "classes", None)
    if want is not None:
        wanted = class_set(want)
        if tuple(clf.classes) != wanted.classes:
            clf.close()
            raise fail(ModelError, f"--classes {want} ({', '.join(wanted.classes)}), but {model_cfg.path or BUNDLED_MODEL} "
                       f"was trained on {', '.join(clf.classes)}",
                       "drop --classes (the model's own classes are shown) or pass a model trained on that set")
    return clf
