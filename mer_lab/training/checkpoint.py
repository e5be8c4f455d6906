"""Checkpoints: weights as safetensors plus a JSON sidecar (model, input contract, classes, data, protocol, recipe, commit)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from mer_lab.models import create_model, input_contract
from mer_lab.paths import REPO
from mer_lab.training.trainer import Ensemble, FlipAverage, Recipe, wrap
from realtime_mer.errors import ModelError, fail


def git_commit(repo: Path = REPO) -> str:
    """``git rev-parse HEAD`` of the repository (``-dirty`` when it has changes), or ``unknown``."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _n_members(model: nn.Module) -> int:
    inner = model.model if isinstance(model, FlipAverage) else model
    return len(inner.members) if isinstance(inner, Ensemble) else 1


def sidecar_path(path: Path) -> Path:
    """The JSON next to a ``.safetensors`` / ``.onnx`` file."""
    return Path(path).with_suffix(".json")


def save_checkpoint(path: Path, model: nn.Module, meta: dict[str, Any]) -> Path:
    """Write ``path`` (.safetensors) and its JSON sidecar; ``meta`` must name ``model`` (registry name)."""
    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    name = meta["model"]
    classes = list(meta.get("classes") or input_contract(name).classes)
    full = {
        "format": "realtime-mer-checkpoint/1",
        "input_contract": {**input_contract(name).to_dict(), "classes": classes},
        "classes": classes,
        "ensemble": _n_members(model),
        "git_commit": git_commit(),
        **meta,
    }
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path))
    sidecar_path(path).write_text(json.dumps(full, indent=2, default=str) + "\n")
    return path


def read_sidecar(path: Path) -> dict[str, Any]:
    """The JSON sidecar of a checkpoint or ONNX file."""
    side = sidecar_path(path)
    try:
        meta = json.loads(side.read_text())
    except FileNotFoundError as e:
        raise fail(ModelError, f"{side} not found", "keep the .json sidecar next to the model file") from e
    except (OSError, json.JSONDecodeError) as e:
        raise fail(ModelError, f"cannot read {side}: {e}", "restore the sidecar") from e
    if not isinstance(meta, dict) or "model" not in meta:
        raise fail(ModelError, f"{side} does not name a model", "re-export the checkpoint")
    return meta


def build_model(meta: dict[str, Any]) -> nn.Module:
    """An untrained model with the architecture a sidecar describes (ensembles included).

    A sidecar without a recipe gets the model's own training recipe (``training.recipes``).
    """
    from mer_lab.training.recipes import recipe_for

    recipe = Recipe.from_dict(meta["recipe"]) if "recipe" in meta else recipe_for(meta["model"])
    n = int(meta.get("ensemble", 1))
    return wrap([create_model(meta["model"], **recipe.model_kwargs) for _ in range(n)], recipe)


def load_checkpoint(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode, sidecar) of a ``.safetensors`` checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise fail(ModelError, f"checkpoint {path} not found", "pass a .safetensors file written by tools/train.py")
    meta = read_sidecar(path)
    model = build_model(meta)
    try:
        model.load_state_dict(load_file(str(path)))
    except Exception as e:  # safetensors raises several types for corrupt files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise fail(ModelError, f"cannot load weights from {path}: {msg}", "re-create the checkpoint") from e
    return model.eval(), meta


@torch.no_grad()
def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
