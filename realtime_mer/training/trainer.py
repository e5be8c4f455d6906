"""The fixed training recipe and the cross-validation loop.

Every choice (epochs, schedule, weight decay, augmentation, class weights, ensemble size) lives in
``Recipe`` and is fixed before a held-out subject is seen. The only data-driven choice allowed in
a fold is early stopping (off by default) on an inner validation split drawn from that fold's
*training* subjects. Runs are deterministic for a given seed (CPU, fixed thread count).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from realtime_mer.models import create_model, input_contract
from realtime_mer.recognition.features import to_model_input
from realtime_mer.training.metrics import scores
from realtime_mer.training.protocols import Fold, inner_split


@dataclass(frozen=True)
class Recipe:
    """All training hyper-parameters (fixed; see MODEL_CARD_apexflow.md for how they were chosen)."""

    epochs: int = 40
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 5e-4  # AdamW, decoupled
    warmup_epochs: int = 2  # linear warm-up, then cosine decay to 0 at the last epoch
    label_smoothing: float = 0.1
    class_weighting: str = "inverse"  # none | inverse | sqrt  (from the fold's training labels)
    hflip: bool = True  # mirror left-right AND negate u
    max_shift: int = 0  # random translation in pixels (edge-replicated); 0: off (aligned faces: position matters)
    mixup_alpha: float = 0.0  # 0: off
    ensemble: int = 3  # members per fold (different seeds), softmax-averaged
    ema: float = 0.0  # decay of an exponential moving average of the weights (per step); 0: off
    tta_flip: bool = False  # also predict on the mirrored (u-negated) image and average the softmax
    early_stopping: bool = False  # on an inner validation split of the training subjects only
    val_fraction: float = 0.15
    patience: int = 10
    threads: int = 1
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        """Inverse of ``to_dict`` (unknown keys are ignored)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


class Ensemble(nn.Module):
    """Averages the softmax of its members; returns log-probabilities (so a softmax of it is the average)."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, ...) -> (N, C) log of the mean member probabilities."""
        p = torch.stack([F.softmax(m(x), dim=1) for m in self.members]).mean(0)
        return torch.log(p.clamp_min(1e-12))


class FlipAverage(nn.Module):
    """Test-time mirroring: averages the softmax on ``x`` and on its mirror (u negated); returns log-probabilities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, C) log of the mean of the two softmaxes."""
        p = 0.5 * (F.softmax(self.model(x), dim=1) + F.softmax(self.model(hflip_flow(x)), dim=1))
        return torch.log(p.clamp_min(1e-12))


def hflip_flow(x: torch.Tensor) -> torch.Tensor:
    """Mirror (N, 3, H, W) apex-flow tensors in [0, 1] left-right; u (channel 0) is negated: u -> 1 - u."""
    out = torch.flip(x, dims=[3])
    return torch.cat([1.0 - out[:, :1], out[:, 1:]], dim=1)


def augment(x: torch.Tensor, recipe: Recipe, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip (with u negated) and random translation of a training batch."""
    n = x.shape[0]
    if recipe.hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], hflip_flow(x), x)
    s = recipe.max_shift
    if s > 0:
        h, w = x.shape[2:]
        padded = F.pad(x, (s, s, s, s), mode="replicate")
        dy = torch.randint(0, 2 * s + 1, (n,), generator=gen).tolist()
        dx = torch.randint(0, 2 * s + 1, (n,), generator=gen).tolist()
        x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    return x


def class_weights(labels: np.ndarray, n_classes: int, mode: str) -> torch.Tensor:
    """Per-class loss weights from training labels: ``inverse`` n/(C n_c), ``sqrt`` its square root, ``none`` ones."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    if mode == "none":
        w = np.ones(n_classes)
    elif mode in ("inverse", "sqrt"):
        w = counts.sum() / (n_classes * np.maximum(counts, 1.0))
        w = np.sqrt(w) if mode == "sqrt" else w
        w = w / w.mean()
    else:
        raise ValueError(f"unknown class weighting {mode!r} (none | inverse | sqrt)")
    return torch.tensor(w, dtype=torch.float32)


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


@torch.no_grad()
def predict_proba(model: nn.Module, images: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Softmax probabilities (N, C) float64 of uint8 (N, 28, 28, 3) images."""
    model.eval()
    x = torch.from_numpy(to_model_input(images))
    out = [F.softmax(model(x[i : i + batch]), dim=1) for i in range(0, len(x), batch)]
    return torch.cat(out).double().numpy() if out else np.zeros((0, 0))


@dataclass
class FitResult:
    """A trained model and what happened while training it."""

    model: nn.Module
    epochs_run: list[int]  # per ensemble member
    seconds: float


def _fit_one(x: torch.Tensor, y: torch.Tensor, recipe: Recipe, seed: int, model_name: str,
             val: tuple[torch.Tensor, np.ndarray] | None) -> tuple[nn.Module, int]:
    """Train one network; with ``val`` keep the epoch with the best validation UF1 (patience stops)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = create_model(model_name, **recipe.model_kwargs)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, foreach=True)
    weights = class_weights(y.numpy(), len(input_contract(model_name).classes), recipe.class_weighting)
    steps_per_epoch = max(1, math.ceil(len(x) / recipe.batch_size))
    total, warm = recipe.epochs * steps_per_epoch, recipe.warmup_epochs * steps_per_epoch
    beta = torch.distributions.Beta(recipe.mixup_alpha, recipe.mixup_alpha) if recipe.mixup_alpha > 0 else None
    best = (-1.0, 0, None)  # (val uf1, epoch, state)
    step = 0
    averaged = copy.deepcopy(model) if recipe.ema > 0 else model  # the weights that are evaluated and kept
    src = [t for t in model.state_dict().values() if t.is_floating_point()]
    dst = [t for t in averaged.state_dict().values() if t.is_floating_point()]
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        for b in range(steps_per_epoch):
            idx = order[b * recipe.batch_size : (b + 1) * recipe.batch_size]
            if len(idx) < 2:  # BatchNorm needs >= 2 samples
                continue
            xb, yb = augment(x[idx], recipe, gen), y[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, warm, recipe.lr)
            target = F.one_hot(yb, weights.numel()).float()
            if beta is not None:
                lam = float(beta.sample())
                perm = torch.randperm(len(idx), generator=gen)
                xb = lam * xb + (1 - lam) * xb[perm]
                target = lam * target + (1 - lam) * target[perm]
            loss = F.cross_entropy(model(xb), target, weight=weights, label_smoothing=recipe.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if averaged is not model:
                with torch.no_grad():
                    torch._foreach_mul_(dst, recipe.ema)
                    torch._foreach_add_(dst, src, alpha=1.0 - recipe.ema)
        if val is not None:
            uf1 = scores(val[1], predict_proba(averaged, val[0].numpy()).argmax(1)).uf1
            if uf1 > best[0]:
                best = (uf1, epoch + 1, {k: v.clone() for k, v in averaged.state_dict().items()})
            elif epoch + 1 - best[1] >= recipe.patience:
                break
    if val is not None and best[2] is not None:
        averaged.load_state_dict(best[2])
        return averaged.eval(), best[1]
    return averaged.eval(), recipe.epochs


def fit(images: np.ndarray, labels: np.ndarray, recipe: Recipe, seed: int, model_name: str = "apexflow",
        subjects: list[str] | None = None, strata: list[str] | None = None) -> FitResult:
    """Train ``recipe.ensemble`` networks on uint8 (N, 28, 28, 3) images; early stopping uses ``subjects`` only."""
    t0 = time.perf_counter()
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        fit_idx, val_idx = np.arange(len(labels)), np.zeros(0, np.int64)
        if recipe.early_stopping:
            if subjects is None:
                raise ValueError("early stopping needs the subjects of the training samples")
            fit_idx, val_idx = inner_split(subjects, fit_idx, recipe.val_fraction, seed, strata)
        x = torch.from_numpy(to_model_input(images[fit_idx]))
        y = torch.from_numpy(np.asarray(labels, np.int64)[fit_idx])
        val = (torch.from_numpy(images[val_idx]), np.asarray(labels)[val_idx]) if len(val_idx) else None
        members, epochs = [], []
        for m in range(recipe.ensemble):
            net, ep = _fit_one(x, y, recipe, seed * 1000 + m, model_name, val)
            members.append(net)
            epochs.append(ep)
    finally:
        torch.set_num_threads(prev_threads)
    model = wrap(members, recipe)
    return FitResult(model, epochs, time.perf_counter() - t0)


def wrap(members: list[nn.Module], recipe: Recipe) -> nn.Module:
    """The inference model of a recipe: one net or an ensemble, optionally with test-time mirroring."""
    model = members[0] if len(members) == 1 else Ensemble(members)
    return (FlipAverage(model) if recipe.tta_flip else model).eval()


@dataclass
class CVResult:
    """Pooled out-of-fold predictions of a protocol."""

    probs: np.ndarray  # (N, C); NaN rows for samples never tested
    fold_of: np.ndarray  # (N,) fold index that tested each sample, -1 if none
    folds: list[Fold]
    seconds: float


def fold_seed(seed: int, fold_index: int) -> int:
    """The seed of one fold, derived from the run seed."""
    return seed * 100_003 + fold_index


def cross_validate(images: np.ndarray, labels: np.ndarray, subjects: list[str], folds: list[Fold], recipe: Recipe,
                   seed: int, model_name: str = "apexflow", strata: list[str] | None = None,
                   on_fold: Callable[[int, Fold, FitResult], None] | None = None) -> CVResult:
    """Train one model per fold on its training samples and predict its held-out samples."""
    t0 = time.perf_counter()
    n_classes = int(labels.max()) + 1 if len(labels) else 0
    probs = np.full((len(labels), max(n_classes, 3)), np.nan)
    fold_of = np.full(len(labels), -1, np.int64)
    for i, fold in enumerate(folds):
        tr = fold.train_idx
        res = fit(images[tr], labels[tr], recipe, fold_seed(seed, i), model_name,
                  [subjects[j] for j in tr], [strata[j] for j in tr] if strata is not None else None)
        if len(fold.test_idx):
            probs[fold.test_idx] = predict_proba(res.model, images[fold.test_idx])
            fold_of[fold.test_idx] = i
        if on_fold is not None:
            on_fold(i, fold, res)
    return CVResult(probs, fold_of, folds, time.perf_counter() - t0)
