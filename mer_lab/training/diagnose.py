"""Why does a model not learn? Four cheap checks on a handful of samples (issue 27).

* ``input_stats``: the scale of the input and of the *motion* in it (each frame minus the clip's
  first frame) against the scale of the static appearance -- for raw-frame models the class signal.
* ``grad_norms``: the gradient norm of every parameter tensor at initialisation (one batch).
* ``overfit``: train on a few samples with the model's recipe (no augmentation, no early stopping)
  and report the training accuracy: a model that cannot memorise 16 clips has a defect, not a data problem.
* ``lr_range``: the loss after each step while the learning rate rises exponentially (Smith 2017).

``tools/diagnose_clip_model.py`` runs them on a clip set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mer_lab.models import create_model, input_contract
from mer_lab.training.trainer import Recipe, make_optimizer


def time_axis(model_name: str) -> int | None:
    """The frame (time) axis of one sample of ``model_name`` (``D`` or ``T`` of the contract layout), None if none."""
    layout = input_contract(model_name).layout[1:]  # without N
    for k in ("T", "D"):
        if k in layout:
            return layout.index(k)
    return None


def input_stats(x: np.ndarray, model_name: str) -> dict[str, float]:
    """Mean / std of the inputs and the RMS of the motion (frame minus the first frame of its clip)."""
    x = np.asarray(x, np.float32)
    out = {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()), "max": float(x.max())}
    ax = time_axis(model_name)
    if ax is not None:
        first = np.take(x, [0], axis=ax + 1)
        motion = x - first
        out["motion_rms"] = float(np.sqrt((motion**2).mean()))
        out["appearance_std"] = float(first.std())
        out["motion_to_appearance"] = out["motion_rms"] / max(out["appearance_std"], 1e-12)
    return out


def grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """L2 norm of the cross-entropy gradient of each parameter tensor on one batch (model in train mode)."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    return {n: float(p.grad.norm()) if p.grad is not None else 0.0 for n, p in model.named_parameters()}


@dataclass
class OverfitResult:
    """Training accuracy and loss after each epoch of ``overfit``."""

    accuracy: list[float]
    loss: list[float]

    @property
    def final_accuracy(self) -> float:
        return self.accuracy[-1] if self.accuracy else float("nan")


def overfit(model_name: str, x: np.ndarray, y: np.ndarray, recipe: Recipe, epochs: int, seed: int = 0,
            model: nn.Module | None = None) -> OverfitResult:
    """Train on (x, y) with the recipe's optimizer, lr and batch (constant lr, no augmentation); accuracy per epoch.

    Accuracy is measured in eval mode (no dropout) on the same samples after each epoch.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = model if model is not None else create_model(model_name, **recipe.model_kwargs)
    opt = make_optimizer(net, recipe)
    xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.int64))
    acc, losses = [], []
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for b in range(0, len(xt), recipe.batch_size):
            idx = order[b : b + recipe.batch_size]
            if len(idx) < 2:
                continue
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        net.eval()
        with torch.no_grad():
            acc.append(float((net(xt).argmax(1) == yt).float().mean()))
        losses.append(total / len(xt))
    return OverfitResult(acc, losses)


def lr_range(model_name: str, x: np.ndarray, y: np.ndarray, recipe: Recipe, lo: float = 1e-6, hi: float = 1.0,
             steps: int = 30, seed: int = 0) -> list[tuple[float, float]]:
    """(lr, loss) per step while the lr rises geometrically from ``lo`` to ``hi`` (batches drawn with replacement);
    stops early once the loss is 4x its best or not finite."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = create_model(model_name, **recipe.model_kwargs)
    opt = make_optimizer(net, recipe)
    xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.int64))
    out: list[tuple[float, float]] = []
    best = math.inf
    net.train()
    for k in range(steps):
        lr = lo * (hi / lo) ** (k / max(steps - 1, 1))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, len(xt), (min(recipe.batch_size, len(xt)),), generator=gen)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
        v = float(loss.detach())
        out.append((lr, v))
        best = min(best, v)
        if not math.isfinite(v) or v > 4 * best:
            break
    return out
