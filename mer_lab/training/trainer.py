"""The fixed training recipe and the cross-validation loop.

Every choice (epochs, schedule, optimizer, augmentation, class weights, ensemble size) lives in
``Recipe`` and is fixed before a held-out subject is seen. The only data-driven choices allowed in
a fold are early stopping and reduce-on-plateau (both off by default), on an inner validation
split drawn from that fold's *training* subjects. Runs are deterministic for a given seed (CPU,
fixed thread count).

Inputs: uint8 (N, 28, 28, 3) apex-flow images (the MEGC flow set, converted by
``recognition.features.to_model_input``) or float32 model inputs (N, *contract.shape) built by
``realtime_mer.recognition.preprocess.clip_input`` (the clip models). Per-model recipes: ``training.recipes``.
"""

from __future__ import annotations

import copy
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mer_lab.models import create_model, input_contract
from mer_lab.training.metrics import scores
from mer_lab.training.splits import Fold, inner_split
from realtime_mer.recognition.features import to_model_input

# the recipe fields that take one of a few words, and those words (checked before any data is read)
RECIPE_CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": ("adamw", "adam", "sgd", "rmsprop"),
    "schedule": ("cosine", "constant", "plateau"),
    "class_weighting": ("none", "inverse", "sqrt", "inverse-dataset", "logit-adjust"),
}


@dataclass(frozen=True)
class Recipe:
    """All training hyper-parameters (fixed; see MODEL_CARD_apexflow.md for how they were chosen)."""

    epochs: int = 40
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 5e-4  # AdamW, decoupled
    warmup_epochs: int = 2  # linear warm-up, then cosine decay to 0 at the last epoch
    label_smoothing: float = 0.1
    # none | inverse | sqrt | inverse-dataset | logit-adjust (from the fold's training labels; logit-adjust: no
    # weights, the training logits get + log(class prior), Menon et al. 2021; plain logits at inference)
    class_weighting: str = "inverse"
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
    # -- added for the clip models (defaults = the apex-flow recipe above, unchanged) --
    optimizer: str = "adamw"  # adamw | adam | sgd (weight_decay: decoupled for adamw, L2 otherwise)
    momentum: float = 0.9  # sgd
    schedule: str = "cosine"  # cosine (warm-up + cosine) | constant | plateau (x plateau_factor, inner val or train loss)
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    brightness: float = 0.0  # max additive brightness change of the image channels (0: off)
    salt_pepper: float = 0.0  # share of image pixels set to 0 / 1 (0: off)
    augment_minority: bool = False  # flip / brightness / salt-and-pepper only on samples of the smaller classes
    intensity_weight: float = 0.0  # tcgru: weight of the L1 loss of the per-step phase intensity (needs targets)
    max_train_samples: int = 0  # 0: all; else a class-stratified subsample of each fold's fitting set (CPU budget)
    max_val_samples: int = 0  # 0: all; else a class-stratified subsample of the inner validation split
    cutout: int = 0  # apexflow: side of a square patch set to the image's per-channel median (no motion), p = 0.5
    member_fraction: float = 1.0  # < 1: each ensemble member trains on its own class-stratified share of the samples
    # -- added for the paper recipes (issue 15; defaults: off) --
    rotate_deg: float = 0.0  # random rotation in [-rotate_deg, rotate_deg] (the same for every frame of a clip)
    scale: float = 0.0  # random zoom factor in [1 - scale, 1 + scale]
    translate: float = 0.0  # random shift of up to this share of the side, in x and y
    hist_eq: float = 0.0  # probability of histogram-equalising the image / dynamic-image channels of a sample
    device: str = "cpu"  # cpu | cuda | cuda:N (tools/train.py --device resolves auto)
    amp: bool = True  # mixed precision (bfloat16/float16 autocast + loss scaling) when training on CUDA; ignored on CPU
    # -- issue 27 (default: off) --
    # initial weights of every network before training: a .safetensors state dict of one network, or a name of
    # mer_lab.paths.BUNDLED_INITS (apexflow's recipe: "synthetic-flow"); "": none (random initialisation)
    init: str = ""

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


FLOW_U = ("u", "flow_u")  # contract channel names of a horizontal flow component (negated when mirrored)
IMAGE_CHANNELS = ("gray", "magnified", "frame_t", "frame_t+1")  # channels brightness / salt-and-pepper act on


def channel_axis(model_name: str) -> int:
    """The channel axis of a batch of ``model_name``'s inputs (from the contract layout, e.g. NTCHW -> 2)."""
    return input_contract(model_name).layout.index("C")


def channel_index(model_name: str, names: tuple[str, ...]) -> list[int]:
    """Indices of the contract channels named in ``names``."""
    return [i for i, c in enumerate(input_contract(model_name).channels) if c in names]


def hflip_input(x: torch.Tensor, model_name: str) -> torch.Tensor:
    """Mirror a batch of ``model_name``'s inputs left-right (last axis); flow u channels in [0, 1] become 1 - u."""
    if model_name == "apexflow":
        return hflip_flow(x)
    out = torch.flip(x, dims=[x.ndim - 1])
    axis = channel_axis(model_name)
    for c in channel_index(model_name, FLOW_U):
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(c, c + 1)
        out[tuple(idx)] = 1.0 - out[tuple(idx)]
    return out


def _image_mask(x: torch.Tensor, model_name: str) -> torch.Tensor | None:
    """Bool mask (broadcastable to ``x``) of the image channels, None when the model has none."""
    chans = channel_index(model_name, IMAGE_CHANNELS)
    if not chans:
        return None
    axis = channel_axis(model_name)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    m = torch.zeros(shape, dtype=torch.bool)
    idx = [0] * x.ndim
    for c in chans:
        idx[axis] = c
        m[tuple(idx)] = True
    return m


HISTEQ_CHANNELS = (*IMAGE_CHANNELS, "di_onset_offset", "di_onset_apex", "di_apex_offset")


def affine_augment(x: torch.Tensor, recipe: Recipe, gen: torch.Generator, model_name: str) -> torch.Tensor:
    """Random rotation / zoom / shift of the last two (spatial) axes, one transform per sample (all frames alike).

    Borders are replicated. Flow channels (``flow_u`` / ``flow_v``, encoded 0.5 + px / 8) are moved with the
    image and their vectors turned and scaled with it, so the motion stays consistent with the frames.
    """
    n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    ang = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(recipe.rotate_deg)
    zoom = 1.0 + (torch.rand(n, generator=gen) * 2 - 1) * recipe.scale
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 2.0 * recipe.translate  # normalised coords span 2
    cos, sin = torch.cos(ang) / zoom, torch.sin(ang) / zoom
    lin = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)  # output -> input, (N, 2, 2)
    theta = torch.cat([lin, shift[:, :, None]], dim=2).to(x.dtype)
    flat = x.reshape(n, -1, h, w)
    grid = F.affine_grid(theta.to(x.device), list(flat.shape), align_corners=False)
    out = F.grid_sample(flat, grid, mode="bilinear", padding_mode="border", align_corners=False).reshape(x.shape)
    cu, cv = channel_index(model_name, ("flow_u",)), channel_index(model_name, ("flow_v",))
    if cu and cv:
        axis = channel_axis(model_name)
        inv = torch.linalg.inv(lin).to(x.device, x.dtype)  # an input displacement d appears as inv @ d in the output
        u, v = out.select(axis, cu[0]) - 0.5, out.select(axis, cv[0]) - 0.5
        view = (n,) + (1,) * (u.ndim - 1)
        u2 = inv[:, 0, 0].view(view) * u + inv[:, 0, 1].view(view) * v
        v2 = inv[:, 1, 0].view(view) * u + inv[:, 1, 1].view(view) * v
        out = out.clone()
        out.select(axis, cu[0]).copy_((u2 + 0.5).clamp(0, 1))
        out.select(axis, cv[0]).copy_((v2 + 0.5).clamp(0, 1))
    return out


def equalize(x: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation of each (H, W) plane of ``x`` in [0, 1]: every value becomes its rank / (n - 1)."""
    flat = x.reshape(-1, x.shape[-2] * x.shape[-1])
    ranks = flat.argsort(dim=1).argsort(dim=1).to(x.dtype)
    return (ranks / max(1, flat.shape[1] - 1)).reshape(x.shape)


def hist_eq_augment(x: torch.Tensor, p: float, gen: torch.Generator, model_name: str) -> torch.Tensor:
    """With probability ``p`` per sample, histogram-equalise its image / dynamic-image channels."""
    chans = channel_index(model_name, HISTEQ_CHANNELS)
    if not chans:
        return x
    n, axis = x.shape[0], channel_axis(model_name)
    on = (torch.rand(n, generator=gen) < p).to(x.device)
    out = x.clone()
    for c in chans:
        plane = x.select(axis, c)
        view = (n,) + (1,) * (plane.ndim - 1)
        out.select(axis, c).copy_(torch.where(on.view(view), equalize(plane), plane))
    return out


def augment(x: torch.Tensor, recipe: Recipe, gen: torch.Generator, model_name: str = "apexflow",
            which: torch.Tensor | None = None) -> torch.Tensor:
    """Random horizontal flip (u negated), brightness, salt-and-pepper, cutout and translation of a training batch.

    ``which`` (bool per sample) limits flip / brightness / salt-and-pepper to those samples
    (``recipe.augment_minority``); the translation applies to all.
    """
    n = x.shape[0]
    view = (n,) + (1,) * (x.ndim - 1)
    eligible = torch.ones(n, dtype=torch.bool) if which is None else which
    if recipe.hflip:
        flip = (torch.rand(n, generator=gen) < 0.5) & eligible
        x = torch.where(flip.view(view), hflip_input(x, model_name), x)
    if recipe.brightness > 0 or recipe.salt_pepper > 0:
        mask = _image_mask(x, model_name)
        if mask is not None:
            if recipe.brightness > 0:
                delta = (torch.rand(n, generator=gen) * 2 - 1) * recipe.brightness * eligible
                x = torch.where(mask, (x + delta.view(view)).clamp(0, 1), x)
            if recipe.salt_pepper > 0:
                r = torch.rand(x.shape, generator=gen)
                hit = mask & eligible.view(view) & (r < recipe.salt_pepper)
                x = torch.where(hit, (r < recipe.salt_pepper / 2).to(x.dtype), x)
    if recipe.cutout > 0:
        if x.ndim != 4:
            raise ValueError(f"cutout needs (N, C, H, W) inputs, {model_name} has {tuple(x.shape[1:])}")
        h, w = x.shape[2:]
        c = min(recipe.cutout, h, w)
        med = x.flatten(2).median(dim=2).values[:, :, None, None]
        ys = torch.randint(0, h - c + 1, (n,), generator=gen)
        xs = torch.randint(0, w - c + 1, (n,), generator=gen)
        on = torch.rand(n, generator=gen) < 0.5
        rows, cols = torch.arange(h), torch.arange(w)
        in_y = (rows[None, :] >= ys[:, None]) & (rows[None, :] < ys[:, None] + c)
        in_x = (cols[None, :] >= xs[:, None]) & (cols[None, :] < xs[:, None] + c)
        patch = (in_y[:, :, None] & in_x[:, None, :] & on[:, None, None])[:, None]
        x = torch.where(patch, med, x)
    if recipe.hist_eq > 0:
        x = hist_eq_augment(x, recipe.hist_eq, gen, model_name)
    if recipe.rotate_deg > 0 or recipe.scale > 0 or recipe.translate > 0:
        x = affine_augment(x, recipe, gen, model_name)
    s = recipe.max_shift
    if s > 0:
        if x.ndim != 4:
            raise ValueError(f"max_shift needs (N, C, H, W) inputs, {model_name} has {tuple(x.shape[1:])}")
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
        raise ValueError(f"unknown class weighting {mode!r} (none | inverse | sqrt; inverse-dataset is per sample: "
                         "dataset_class_weights; logit-adjust: logit_adjustment)")
    return torch.tensor(w, dtype=torch.float32)


def logit_adjustment(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """``log(prior)`` of the training labels, added to the training logits (logit-adjusted loss, tau = 1).

    Training on ``logits + log(prior)`` makes the plain logits estimate a class-balanced posterior
    (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021); a class absent from the
    labels gets the prior of one sample, so the offset stays finite.
    """
    counts = np.maximum(np.bincount(labels, minlength=n_classes).astype(np.float64), 1.0)
    return torch.tensor(np.log(counts / counts.sum()), dtype=torch.float32)


def dataset_class_weights(labels: np.ndarray, strata: list[str]) -> torch.Tensor:
    """Per-sample loss weights ``inverse-dataset``: n_s / (C_s n_{s,c}) within each dataset s, normalised to mean 1.

    Every class present in a dataset gets that dataset's share of the loss in equal parts, so a
    class that is rare in one dataset only (e.g. SAMM's surprise) is not diluted by the others.
    """
    labels = np.asarray(labels)
    strata_arr = np.asarray(strata, dtype=object)
    if len(strata_arr) != len(labels):
        raise ValueError(f"{len(strata_arr)} dataset names for {len(labels)} training samples")
    w = np.empty(len(labels), np.float64)
    for s in np.unique(strata_arr):
        m = strata_arr == s
        classes, counts = np.unique(labels[m], return_counts=True)
        per = {c: m.sum() / (len(classes) * n) for c, n in zip(classes, counts, strict=True)}
        w[m] = [per[c] for c in labels[m]]
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def as_input(images: np.ndarray) -> np.ndarray:
    """Model input of a batch: uint8 apex-flow images (N, H, W, 3) via ``to_model_input``, float32 inputs as they are."""
    a = np.asarray(images)
    if a.dtype == np.uint8:
        return to_model_input(a)
    return np.ascontiguousarray(a, dtype=np.float32)


@torch.no_grad()
def predict_proba(model: nn.Module, images: np.ndarray, batch: int | None = None) -> np.ndarray:
    """Softmax probabilities (N, C) float64 of uint8 (N, 28, 28, 3) images or float32 (N, *contract.shape) inputs.

    ``batch`` None: 1024 for small inputs, fewer for large clip inputs (bounded memory).
    """
    model.eval()
    x = torch.from_numpy(as_input(images))
    if batch is None:
        batch = int(max(1, min(1024, 2**21 // max(1, int(np.prod(x.shape[1:]))))))
    dev = next((p.device for p in model.parameters()), torch.device("cpu"))
    out = [F.softmax(model(x[i : i + batch].to(dev)).float(), dim=1).cpu() for i in range(0, len(x), batch)]
    return torch.cat(out).double().numpy() if out else np.zeros((0, 0))


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer over ``model``'s parameters."""
    params = model.parameters()
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay, foreach=True)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay, foreach=True)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay,
                               foreach=True)
    if recipe.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=recipe.lr, weight_decay=recipe.weight_decay, foreach=True)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r} (adamw | adam | sgd | rmsprop)")


def stratified_subsample(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``n`` samples, classes kept in proportion (``n`` <= 0 or >= len: all)."""
    labels = np.asarray(labels)
    if n <= 0 or n >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    # round-robin over classes in a seeded order: proportional, every class represented
    by_class = [order[labels[order] == c] for c in np.unique(labels)]
    share = [len(b) / len(labels) for b in by_class]
    take = [max(1, round(n * s)) for s in share]
    while sum(take) > n:
        take[int(np.argmax(take))] -= 1
    return np.sort(np.concatenate([b[:k] for b, k in zip(by_class, take, strict=True)]))


MEMBER_PREFIX = "member"  # keys of a several-network init file: member<m>.<parameter>


def load_init(model: nn.Module, path: str, member: int = 0) -> None:
    """Load the initial weights ``recipe.init`` into ``model``: a name of ``paths.BUNDLED_INITS`` or the path of a
    .safetensors state dict of one network, or of several (keys ``member<m>.<name>``: ensemble member ``member``
    takes network ``member`` modulo their count); weights that do not fit the model are one DataError line."""
    from pathlib import Path

    from safetensors.torch import load_file

    from mer_lab.paths import BUNDLED_INITS
    from realtime_mer.errors import DataError, fail

    p = BUNDLED_INITS.get(path, Path(path).expanduser())
    if not p.is_file():
        raise fail(DataError, f"initial weights {p} not found", "pass init=PATH of a .safetensors state dict "
                   f"(tools/pretrain_apexflow.py writes one), init={' or init='.join(BUNDLED_INITS)}, or init= for none")
    state = load_file(str(p))
    member_key = re.compile(rf"{MEMBER_PREFIX}(\d+)\.")
    nets = sorted({int(m.group(1)) for k in state if (m := member_key.match(k))})
    if nets:
        pick = f"{MEMBER_PREFIX}{nets[member % len(nets)]}."
        state = {k[len(pick):]: v for k, v in state.items() if k.startswith(pick)}
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1].strip()
        raise fail(DataError, f"initial weights {p} do not fit this {type(model).__name__} ({first})",
                   "pass initial weights of the same model and class count, or init= to train from scratch") from None


@dataclass
class FitResult:
    """A trained model and what happened while training it."""

    model: nn.Module
    epochs_run: list[int]  # per ensemble member
    seconds: float


def _fit_one(x: torch.Tensor, y: torch.Tensor, recipe: Recipe, seed: int, model_name: str,
             val: tuple[torch.Tensor, np.ndarray] | None, aux: torch.Tensor | None = None,
             sample_w: torch.Tensor | None = None, member: int = 0) -> tuple[nn.Module, int]:
    """Train one network (ensemble member ``member``); with ``val`` keep the epoch with the best validation UF1
    (patience stops).

    ``sample_w`` (N,) are per-sample loss weights (``class_weighting="inverse-dataset"``); the
    per-class weights are then ones.

    ``aux`` (N, T) are per-step phase-intensity targets for a model with ``forward_all`` (tcgru),
    used when ``recipe.intensity_weight`` > 0.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)  # augmentation and batch order: on the CPU, identical on every device
    dev = torch.device(recipe.device)
    use_amp = dev.type == "cuda" and recipe.amp
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    model = create_model(model_name, **recipe.model_kwargs)
    if recipe.init:
        load_init(model, recipe.init, member)
    model = model.to(dev)
    opt = make_optimizer(model, recipe)
    n_classes = int(recipe.model_kwargs.get("num_classes", len(input_contract(model_name).classes)))
    adjust = None
    if recipe.class_weighting == "logit-adjust":
        adjust, weights = logit_adjustment(y.numpy(), n_classes), torch.ones(n_classes)
    elif sample_w is not None:
        weights = torch.ones(n_classes)
    else:
        weights = class_weights(y.numpy(), n_classes, recipe.class_weighting)
    use_aux = aux is not None and recipe.intensity_weight > 0 and hasattr(model, "forward_all")
    minority = None
    if recipe.augment_minority:
        counts = np.bincount(y.numpy(), minlength=weights.numel())
        minority = torch.from_numpy(counts < counts.max())  # per class: smaller than the largest class
    lr_now = recipe.lr
    plateau_best, plateau_bad = -math.inf, 0
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
        epoch_loss, epoch_n = 0.0, 0
        for b in range(steps_per_epoch):
            idx = order[b * recipe.batch_size : (b + 1) * recipe.batch_size]
            if len(idx) < 2:  # BatchNorm needs >= 2 samples
                continue
            yb = y[idx]
            xb = augment(x[idx], recipe, gen, model_name, None if minority is None else minority[yb]).to(dev)
            yb = yb.to(dev)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, warm, recipe.lr) if recipe.schedule == "cosine" else lr_now
            target = F.one_hot(yb, weights.numel()).float()
            if beta is not None:
                lam = float(beta.sample())
                perm = torch.randperm(len(idx), generator=gen).to(dev)
                xb = lam * xb + (1 - lam) * xb[perm]
                target = lam * target + (1 - lam) * target[perm]
            with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                if use_aux:
                    logits, intensity = model.forward_all(xb)  # type: ignore[operator]
                    extra = recipe.intensity_weight * F.l1_loss(intensity.float(), aux[idx].to(dev))  # type: ignore[index]
                else:
                    logits, extra = model(xb), 0.0
            logits = logits.float()
            if adjust is not None:
                logits = logits + adjust.to(dev)
            if sample_w is None:
                ce = F.cross_entropy(logits, target, weight=weights.to(dev), label_smoothing=recipe.label_smoothing)
            else:
                ce = (F.cross_entropy(logits, target, reduction="none", label_smoothing=recipe.label_smoothing)
                      * sample_w[idx].to(dev)).mean()
            loss = ce + extra
            epoch_loss += float(loss.detach()) * len(idx)
            epoch_n += len(idx)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # a no-op scaler on the CPU
            scaler.step(opt)
            scaler.update()
            step += 1
            if averaged is not model:
                with torch.no_grad():
                    torch._foreach_mul_(dst, recipe.ema)
                    torch._foreach_add_(dst, src, alpha=1.0 - recipe.ema)
        uf1 = None
        if val is not None:
            uf1 = scores(val[1], predict_proba(averaged, val[0].numpy()).argmax(1)).uf1
        if recipe.schedule == "plateau":  # monitored: inner-validation UF1, else the training loss
            metric = uf1 if uf1 is not None else -epoch_loss / max(epoch_n, 1)
            if metric > plateau_best + 1e-6:
                plateau_best, plateau_bad = metric, 0
            else:
                plateau_bad += 1
                if plateau_bad > recipe.plateau_patience:
                    lr_now, plateau_bad = lr_now * recipe.plateau_factor, 0
        elif recipe.schedule not in ("cosine", "constant"):
            raise ValueError(f"unknown schedule {recipe.schedule!r} (cosine | constant | plateau)")
        if uf1 is not None:
            if uf1 > best[0]:
                best = (uf1, epoch + 1, {k: v.clone() for k, v in averaged.state_dict().items()})
            elif recipe.early_stopping and epoch + 1 - best[1] >= recipe.patience:
                break
    if recipe.early_stopping and val is not None and best[2] is not None:
        averaged.load_state_dict(best[2])
        return averaged.cpu().eval(), best[1]
    return averaged.cpu().eval(), recipe.epochs


def fit(images: np.ndarray, labels: np.ndarray, recipe: Recipe, seed: int, model_name: str = "apexflow",
        subjects: list[str] | None = None, strata: list[str] | None = None, aux: np.ndarray | None = None) -> FitResult:
    """Train ``recipe.ensemble`` networks on uint8 (N, 28, 28, 3) images or float32 model inputs.

    Early stopping / plateau monitoring use an inner split of ``subjects`` (the training subjects
    only); ``aux`` are optional per-sample auxiliary targets (tcgru phase intensities).
    """
    t0 = time.perf_counter()
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        labels = np.asarray(labels, np.int64)
        fit_idx, val_idx = np.arange(len(labels)), np.zeros(0, np.int64)
        if recipe.early_stopping or recipe.schedule == "plateau":
            if subjects is None and recipe.early_stopping:
                raise ValueError("early stopping needs the subjects of the training samples")
            if subjects is not None and len(set(subjects)) >= 2:  # a subject-disjoint split needs 2 subjects
                fit_idx, val_idx = inner_split(subjects, fit_idx, recipe.val_fraction, seed, strata)
        fit_idx = fit_idx[stratified_subsample(labels[fit_idx], recipe.max_train_samples, seed)]
        val_idx = val_idx[stratified_subsample(labels[val_idx], recipe.max_val_samples, seed + 1)]
        x = torch.from_numpy(as_input(images[fit_idx]))
        y = torch.from_numpy(labels[fit_idx])
        val = (torch.from_numpy(as_input(images[val_idx])), labels[val_idx]) if len(val_idx) else None
        a = torch.from_numpy(np.asarray(aux, np.float32)[fit_idx]) if aux is not None else None
        sw = None
        if recipe.class_weighting == "inverse-dataset":
            if strata is None:
                raise ValueError("class_weighting 'inverse-dataset' needs the dataset of each training sample "
                                 "(strata); use 'inverse' for data without one")
            sw = dataset_class_weights(labels[fit_idx], [strata[i] for i in fit_idx])
        if not 0.0 < recipe.member_fraction <= 1.0:
            raise ValueError(f"member_fraction must be in (0, 1], got {recipe.member_fraction}")
        members, epochs = [], []
        for m in range(recipe.ensemble):
            # each member its own stratified share (more diverse members); all samples (a view) at 1.0
            keep = slice(None) if recipe.member_fraction >= 1.0 else torch.from_numpy(stratified_subsample(
                y.numpy(), max(2, round(recipe.member_fraction * len(y))), seed * 1000 + m))
            net, ep = _fit_one(x[keep], y[keep], recipe, seed * 1000 + m, model_name, val,
                               None if a is None else a[keep], None if sw is None else sw[keep], member=m)
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


def resolve_device(device: str = "auto") -> str:
    """``cuda`` for ``auto`` when torch sees a GPU, else ``cpu``; ``cuda`` requested without one: one-line DataError."""
    from realtime_mer.errors import DataError, fail

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise fail(DataError, f"--device {device} requested but torch sees no CUDA GPU",
                   "use --device cpu (or auto), or install a CUDA build of torch on a machine with a GPU")
    if device != "cpu" and not device.startswith("cuda"):
        raise fail(DataError, f"unknown device {device!r}", "use --device auto, cpu or cuda")
    return device


def make_deterministic(seed: int, device: str) -> None:
    """Seed torch and numpy and, on CUDA, ask for deterministic kernels (cuDNN without autotuning, cuBLAS
    workspace pinned), so the same seed gives the same run on the same machine and software."""
    import os
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def fold_seed(seed: int, fold_index: int) -> int:
    """The seed of one fold, derived from the run seed."""
    return seed * 100_003 + fold_index


def cross_validate(images: np.ndarray, labels: np.ndarray, subjects: list[str], folds: list[Fold], recipe: Recipe,
                   seed: int, model_name: str = "apexflow", strata: list[str] | None = None,
                   on_fold: Callable[[int, Fold, FitResult], None] | None = None,
                   aux: np.ndarray | None = None, n_classes: int | None = None) -> CVResult:
    """Train one model per fold on its training samples and predict its held-out samples (``n_classes``:
    the class set's size; default: the labels' range, at least 3)."""
    t0 = time.perf_counter()
    if n_classes is None:
        n_classes = max(int(labels.max()) + 1 if len(labels) else 0, 3)
    probs = np.full((len(labels), n_classes), np.nan)
    fold_of = np.full(len(labels), -1, np.int64)
    for i, fold in enumerate(folds):
        tr = fold.train_idx
        res = fit(images[tr], labels[tr], recipe, fold_seed(seed, i), model_name,
                  [subjects[j] for j in tr], [strata[j] for j in tr] if strata is not None else None,
                  aux[tr] if aux is not None else None)
        if len(fold.test_idx):
            probs[fold.test_idx] = predict_proba(res.model, images[fold.test_idx])
            fold_of[fold.test_idx] = i
        if on_fold is not None:
            on_fold(i, fold, res)
    return CVResult(probs, fold_of, folds, time.perf_counter() - t0)
