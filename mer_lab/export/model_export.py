"""Export any registered model to ONNX (opset 17, IR 8, dynamic batch) and check it against torch.

Thin layer over ``mer_lab.export.to_onnx``: picks the model (a checkpoint or, without one, a seeded
random initialisation), writes the ONNX with its input contract in the metadata, and measures the
max |torch - ONNX Runtime| on random inputs and, where the contract matches a dataset on disk (apexflow
and the MEGC 2019 composite flow set), on real inputs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from mer_lab.export.to_onnx import OPSET, export_onnx, onnx_max_abs_diff
from mer_lab.models import InputContract, input_contract
from mer_lab.paths import shared_data
from realtime_mer.errors import ModelError, fail

PARITY_TOL = 1e-4


@dataclass(frozen=True)
class Parity:
    """Max |torch - ORT| on random and (when available) real inputs."""

    random: float
    n_random: int
    real: float | None = None
    n_real: int = 0

    @property
    def worst(self) -> float:
        return max(self.random, self.real if self.real is not None else 0.0)

    def ok(self, tol: float = PARITY_TOL) -> bool:
        """Both differences below ``tol``."""
        return self.worst < tol

    def describe(self) -> str:
        """One line, e.g. ``max |torch - ORT| = 1.2e-06 on 16 random inputs, 3.1e-06 on 442 real inputs``."""
        real = f", {self.real:.1e} on {self.n_real} real inputs" if self.real is not None else ", no real inputs"
        return f"max |torch - ORT| = {self.random:.1e} on {self.n_random} random inputs{real}"


def load_model(name: str, checkpoint: Path | None = None, seed: int = 0) -> nn.Module:
    """The trained model of ``checkpoint`` (which must be a ``name`` model), else a seeded random ``name`` model.

    The random model has the architecture ``name``'s training recipe builds (``training.recipes``).
    """
    if checkpoint is None:
        from mer_lab.torch_runner import model_from_registry

        return model_from_registry(name, seed)().eval()
    from mer_lab.training.checkpoint import load_checkpoint

    model, meta = load_checkpoint(Path(checkpoint))
    if meta.get("model") != name:
        raise fail(ModelError, f"{checkpoint} holds a {meta.get('model')!r} model, not {name!r}",
                   f"pass --model {meta.get('model')} or a {name} checkpoint")
    return model.eval()


def random_inputs(contract: InputContract, n: int = 16, seed: int = 0) -> np.ndarray:
    """``n`` inputs drawn uniformly from the contract's value range, shape (n, *contract.shape)."""
    lo, hi = contract.value_range
    x = np.random.default_rng(seed).uniform(lo, hi, size=(n, *contract.shape))
    return x.astype(np.dtype(contract.dtype))


def real_inputs(contract: InputContract, data_root: Path | None = None) -> np.ndarray | None:
    """Real model inputs for contracts a dataset on disk matches (u/v/strain 28x28 -> MEGC 2019 flow), else None."""
    if contract.channels != ("u", "v", "strain") or contract.shape != (3, 28, 28):
        return None
    root = Path(data_root) if data_root is not None else shared_data("megc2019_composite_flow")
    if not (root / "labels.csv").is_file():
        return None
    from mer_lab.datasets.megc_flow import load_megc_flow
    from realtime_mer.recognition.features import to_model_input

    return to_model_input(load_megc_flow(root).images)


def parity(model: nn.Module, onnx_path: Path, contract: InputContract, data_root: Path | None = None,
           n_random: int = 16, seed: int = 0) -> Parity:
    """Max |torch - ORT| of ``model`` and its export on random and real inputs."""
    rand = onnx_max_abs_diff(model, onnx_path, random_inputs(contract, n_random, seed))
    real = real_inputs(contract, data_root)
    if real is None:
        return Parity(rand, n_random)
    return Parity(rand, n_random, onnx_max_abs_diff(model, onnx_path, real), len(real))


def export_metadata(name: str, checkpoint: Path | None) -> tuple[InputContract, dict[str, str]]:
    """The contract (with the checkpoint's classes) and the ONNX metadata of an export.

    ``trained`` is ``true`` only for a checkpoint whose sidecar does not say otherwise; the live pipeline
    refuses ``trained: false`` (random weights exported for parity checks and benchmarks).
    """
    contract = input_contract(name)
    if checkpoint is None:
        return contract, {"model": name, "weights": "random (no checkpoint)", "trained": "false",
                          "class_set": "megc3"}
    from mer_lab.training.checkpoint import read_sidecar

    side = read_sidecar(Path(checkpoint))
    classes = tuple(side.get("classes") or contract.classes)
    contract = dataclasses.replace(contract, classes=classes)
    meta = {"model": name, "weights": str(checkpoint), "trained": "true" if side.get("trained", True) else "false",
            "class_set": str(side.get("class_set", "megc3")), "recipe_preset": str(side.get("recipe_preset", "")),
            "git_commit": str(side.get("git_commit", ""))}
    return contract, meta


def export_model(name: str, out: Path, checkpoint: Path | None = None, opset: int = OPSET,
                 data_root: Path | None = None, n_random: int = 16) -> tuple[Path, Parity]:
    """Export registry model ``name`` (trained weights from ``checkpoint`` when given) to ``out`` and check parity."""
    contract, meta = export_metadata(name, checkpoint)
    model = load_model(name, checkpoint)
    path = export_onnx(model, Path(out), contract, opset=opset, metadata=meta)
    return path, parity(model, path, contract, data_root, n_random)
