"""ClipClassifier: any registered recognition model behind the ``Runner`` interface, fed from a clip of crops.

The live pipeline hands it the aligned crops of a spotted interval (onset..offset, copied out of the
ring buffer); ``preprocess.clip_input`` turns them into the model's input exactly as training does
(``mer_lab.training.clip_inputs`` calls the same function), the runner (ONNX Runtime, TensorRT or the
lab's torch plugin) returns logits and, for a model that exports one (tcgru), a per-step intensity.

What the model file must say (ONNX metadata or the checkpoint's JSON sidecar, both written by the lab):
``model`` (the registry name, checked against ``--model``), ``classes`` (shown in events and the
overlay) and ``trained`` (an export of random weights says ``false``; ``load_classifier``, the live
path, refuses it: its labels would be noise presented as results).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from realtime_mer.errors import ModelError, fail
from realtime_mer.recognition.contracts import InputContract, input_contract
from realtime_mer.recognition.preprocess.inputs import PreprocessConfig, clip_input
from realtime_mer.runners.base import Runner

INTENSITY_OUTPUT = "intensity"  # optional second output: (N, T) per-step intensity in [0, 1] (tcgru)


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_classes(meta: dict[str, str], where: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """The ``classes`` metadata (a JSON list) as a tuple, ``default`` when absent; ModelError when unreadable."""
    if "classes" not in meta:
        return default
    try:
        names = json.loads(meta["classes"])
    except (json.JSONDecodeError, TypeError) as e:
        raise fail(ModelError, f"{where} has unreadable class metadata", "re-export the model") from e
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise fail(ModelError, f"{where} has unreadable class metadata", "re-export the model")
    return tuple(names)


def check_trained(meta: dict[str, str], where: str) -> None:
    """Refuse a model file whose metadata says it holds untrained (random) weights."""
    if str(meta.get("trained", "")).lower() == "false":
        raise fail(ModelError, f"{where} holds untrained (random) weights: {meta.get('weights', 'no checkpoint')}",
                   "train the model (tools/train.py --protocol all) or export a trained checkpoint "
                   "(tools/export_onnx.py --checkpoint RUN/model.safetensors)")


@dataclass
class Intensity:
    """The per-step intensity of the last clip: ``frames`` (source frame positions, fractional) and ``values``."""

    frames: np.ndarray
    values: np.ndarray


class RunnerModel:
    """What every live classifier does with its ``Runner``: activate it, check the model file against what the
    classifier needs (``_check``, one-line ``ModelError``s; the runner is deactivated again when a check fails),
    keep its metadata, backend and file hash, and deactivate it on ``close``.

    ``model_path`` names the file in messages and is hashed into ``model_sha256`` (events carry it).
    """

    def __init__(self, runner: Runner, *, model_path: Path | str | None = None, backend_reason: str | None = None) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.model_sha256 = file_sha256(self.model_path) if self.model_path is not None and self.model_path.is_file() else ""
        self._where = str(self.model_path) if self.model_path is not None else f"the {runner.name} model"
        runner.activate()  # a corrupt file: one-line ModelError from the runner
        try:
            self.metadata: dict[str, str] = runner.model_metadata()
            self._check(runner)
        except BaseException:
            runner.deactivate()
            raise
        self._runner = runner
        self.backend: str = runner.backend
        self.backend_reason: str = backend_reason or self.backend

    def _check(self, runner: Runner) -> None:
        """Check the model's inputs, outputs and metadata; set what inference needs (names, classes)."""
        raise NotImplementedError

    def close(self) -> None:
        self._runner.deactivate()


class ClipClassifier(RunnerModel):
    """Classifies the crops of a spotted interval with model ``model_name`` on ``runner``.

    ``runner`` may be inactive (it is activated here and deactivated by ``close``). ``model_path`` names
    the file in messages and is hashed into ``model_sha256`` (events carry it).
    """

    needs_clip = True  # the pipeline hands over onset..offset, not just the onset / apex pair

    def __init__(self, runner: Runner, model_name: str, *, model_path: Path | str | None = None,
                 backend_reason: str | None = None, preprocess: PreprocessConfig | None = None) -> None:
        self.name = model_name
        self.contract: InputContract = input_contract(model_name)
        self.preprocess = preprocess or PreprocessConfig()
        self.last_intensity: Intensity | None = None
        super().__init__(runner, model_path=model_path, backend_reason=backend_reason)

    def _check(self, runner: Runner) -> None:
        inputs, outputs, meta = runner.input_metadata(), runner.output_metadata(), self.metadata
        if len(inputs) != 1 or not outputs:
            raise fail(ModelError, f"{self._where} has {len(inputs)} inputs and {len(outputs)} outputs, not one "
                       "clip input and a logits output", f"pass a {self.name} model exported by tools/export_onnx.py")
        named = meta.get("model")
        if named and named != self.name:
            raise fail(ModelError, f"{self._where} holds a {named!r} model, not {self.name!r}",
                       f"pass --model {named}, or a {self.name} model file")
        inp = next(iter(inputs.values()))
        if len(inp.shape) != 1 + len(self.contract.shape) or tuple(inp.shape[1:]) != self.contract.shape:
            shape = "(" + ", ".join(str(d) for d in inp.shape) + ")"
            raise fail(ModelError, f"{self._where} expects input {shape}, {self.name} takes (N, "
                       f"{', '.join(map(str, self.contract.shape))})", f"pass a {self.name} model")
        classes = model_classes(meta, self._where, self.contract.classes)
        names = list(outputs)
        logits = "logits" if "logits" in outputs else names[0]
        n_out = outputs[logits].shape[-1] if outputs[logits].shape else None
        if isinstance(n_out, int) and n_out >= 0 and n_out != len(classes):
            raise fail(ModelError, f"{self._where} outputs {n_out} classes but names {len(classes)}", "re-export the model")
        self._input, self._output, self.classes = inp.name, logits, classes
        self._intensity_out = INTENSITY_OUTPUT if INTENSITY_OUTPUT in outputs else None

    @property
    def has_intensity(self) -> bool:
        """True when the model returns a per-step intensity (tcgru exported with its intensity head)."""
        return self._intensity_out is not None

    def model_input(self, frames: np.ndarray, onset: int, apex: int, offset: int) -> np.ndarray:
        """The (1, *contract.shape) float32 input of a clip (``clip_input``, the training code path)."""
        return clip_input(self.name, frames, onset, apex, offset, self.preprocess)[None]

    def classify_clip(self, frames: np.ndarray, onset: int, apex: int, offset: int) -> dict[str, float]:
        """Softmax probabilities keyed by class name for (T, H, W) uint8 crops and 0-based onset/apex/offset in them.

        A model with an intensity output also leaves it in ``last_intensity`` (positions relative to ``frames``).
        """
        out = self._runner.infer({self._input: self.model_input(frames, onset, apex, offset)})
        logits = out[self._output].astype(np.float64)[0]
        z = np.exp(logits - logits.max())
        p = z / z.sum()
        if self._intensity_out is not None:
            values = np.asarray(out[self._intensity_out], np.float64).reshape(-1)
            # step k of a T-step model ends at the (k+1)-th of T+1 uniform positions over onset..offset
            pos = np.linspace(float(onset), float(offset), len(values) + 1)[1:]
            self.last_intensity = Intensity(pos, values)
        return dict(zip(self.classes, map(float, p), strict=True))

    def window_intensity(self, frames: np.ndarray) -> Intensity:
        """The per-step intensity over a window of crops taken as onset..offset (the continuous trace: the newest
        crops, every ``model.intensity_every_ms``); positions relative to ``frames``. Needs ``has_intensity``."""
        if self._intensity_out is None:
            raise fail(ModelError, f"{self._where} has no intensity output", "use a tcgru model exported with its intensity head")
        n = len(frames)
        out = self._runner.infer({self._input: self.model_input(frames, 0, (n - 1) // 2, n - 1)})
        values = np.asarray(out[self._intensity_out], np.float64).reshape(-1)
        return Intensity(np.linspace(0.0, float(n - 1), len(values) + 1)[1:], values)

    def classify(self, onset_crop: np.ndarray, apex_crop: np.ndarray) -> dict[str, float]:
        """The pair form of ``ClassifierStage``: a two-frame clip onset -> apex (= offset)."""
        return self.classify_clip(np.stack([onset_crop, apex_crop]), 0, 1, 1)
