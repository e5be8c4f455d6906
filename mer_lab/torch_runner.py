"""PyTorch runner: the registry model itself (CPU, or CUDA when torch sees a GPU)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mer_lab.export.to_onnx import INPUT_NAME, OUTPUT_NAME
from mer_lab.models import InputContract
from realtime_mer.errors import ModelError, fail
from realtime_mer.runners.base import Runner, TensorMeta


def model_from_checkpoint(path: Path) -> Callable[[], Any]:
    """A loader: calling it returns the trained model of a ``.safetensors`` checkpoint (with its JSON sidecar)."""

    def load() -> Any:
        from mer_lab.training.checkpoint import load_checkpoint

        return load_checkpoint(Path(path))[0]

    return load


def model_from_registry(name: str, seed: int = 0, **kw: Any) -> Callable[[], Any]:
    """A loader: calling it returns a randomly initialised registry model (for parity checks and benchmarks).

    The model has the architecture ``name``'s training recipe builds (``training.recipes``), with
    ``kw`` overriding those model arguments.
    """

    def load() -> Any:
        import torch

        from mer_lab.models import create_model
        from mer_lab.training.recipes import recipe_for

        torch.manual_seed(seed)
        return create_model(name, **{**recipe_for(name).model_kwargs, **kw})

    return load


def torch_device(device: str = "auto") -> str:
    """``cuda`` when requested or (for ``auto``) when torch sees a GPU, else ``cpu``."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise fail(ModelError, f"torch device {device!r} requested but torch sees no CUDA GPU",
                   "use device 'cpu' or install a CUDA build of torch")
    return device


class TorchRunner(Runner):
    """Runs an ``nn.Module`` (or a loader returning one) in eval mode under ``torch.inference_mode``."""

    def __init__(self, model: Any, contract: InputContract, device: str = "auto", threads: int | None = None,
                 name: str = "torch", metadata: dict[str, str] | None = None) -> None:
        super().__init__(name)
        self._meta = dict(metadata or {})
        self._model_or_loader = model
        self.contract = contract
        self.device = device
        self.threads = threads
        self._model: Any = None
        self._prev_threads: int | None = None

    def activate_impl(self) -> None:
        import torch
        from torch import nn

        self._device = torch_device(self.device)
        model = self._model_or_loader
        model = model if isinstance(model, nn.Module) else model()
        if not isinstance(model, nn.Module):
            raise fail(ModelError, f"{self.name}: the loader returned a {type(model).__name__}, not an nn.Module",
                       "pass a torch model or a loader that returns one")
        self._model = model.eval().to(self._device)
        if self.threads is not None and self._device == "cpu":
            self._prev_threads = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        self.backend = f"torch-{self._device.split(':')[0]}"

    def input_metadata_impl(self) -> list[TensorMeta]:
        dtype = np.dtype(self.contract.dtype)
        return [TensorMeta(INPUT_NAME, ("batch", *self.contract.shape), dtype)]

    def output_metadata_impl(self) -> list[TensorMeta]:
        return [TensorMeta(OUTPUT_NAME, ("batch", len(self.contract.classes)), np.dtype(np.float32))]

    def model_metadata_impl(self) -> dict[str, str]:
        return dict(self._meta)

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        with torch.inference_mode():
            out = self._model(torch.from_numpy(feed[INPUT_NAME]).to(self._device))
        return {OUTPUT_NAME: out.detach().float().cpu().numpy()}

    def deactivate_impl(self) -> None:
        import torch

        if self._prev_threads is not None:
            torch.set_num_threads(self._prev_threads)
            self._prev_threads = None
        self._model = None


def torch_backend(model_name: str, checkpoint: Path, contract: InputContract,
                  threads: int | None = None) -> tuple[TorchRunner, str]:
    """The ``realtime_mer.backends`` plugin for ``--backend torch``: a runner for a trained checkpoint."""
    import dataclasses
    import json

    from mer_lab.training.checkpoint import read_sidecar

    side = read_sidecar(Path(checkpoint))  # the class names, the model name and whether it was trained
    classes = tuple(side.get("classes") or contract.classes)
    meta = {"model": str(side.get("model", model_name)), "classes": json.dumps(list(classes)),
            "trained": "true" if side.get("trained", True) else "false", "class_set": str(side.get("class_set", "megc3"))}
    device = torch_device("auto")
    runner = TorchRunner(model_from_checkpoint(Path(checkpoint)), dataclasses.replace(contract, classes=classes),
                         device=device, threads=threads, metadata=meta)
    return runner, device
