"""Train tcgru with an intensity head that follows the face (issue 27).

The class head learns from labelled onset..offset clips (cross-entropy, as ``tools/train.py``); the
intensity head from the same clips *and* from windows with neutral context
(``mer_lab.synthetic.intensity_windows``), all with the movement-intensity target: 0 on neutral frames,
0 -> 1 from onset to apex, 1 -> 0 from apex to offset. Every step draws one clip batch and one window
batch, half of whose windows touch a movement (a fixed choice: neutral windows outnumber them ~3:1). After the
last step the BatchNorm statistics are re-estimated for the final weights (``recalibrate_batchnorm``).
The recipe (optimizer, lr, augmentation, epochs) is tcgru's fixed ``recipe_for("tcgru", preset)``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mer_lab.models import create_model
from mer_lab.synthetic.intensity_windows import intensity_profile
from mer_lab.training.trainer import Recipe, augment, make_optimizer
from realtime_mer.recognition.contracts import TCGRU_STEPS
from realtime_mer.recognition.preprocess import uniform_positions
from realtime_mer.types import Interval


def clip_intensity_targets(onset: np.ndarray, apex: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(N, 8) movement-intensity targets of onset..offset clips at tcgru's step ends (0 at onset, 1 at apex, 0 at offset)."""
    out = np.empty((len(onset), TCGRU_STEPS), np.float32)
    for i, (on, ap, off) in enumerate(zip(onset, apex, offset, strict=True)):
        pos = uniform_positions(int(on), int(off), TCGRU_STEPS + 1)[1:]
        out[i] = intensity_profile(pos, [Interval(int(on), int(ap), int(off), "micro")])
    return out


@dataclass
class IntensityFit:
    model: nn.Module
    seconds: float
    steps: int


def fit_intensity(clip_x: np.ndarray, clip_y: np.ndarray, clip_t: np.ndarray, win_x: np.ndarray, win_t: np.ndarray,
                  recipe: Recipe, seed: int, window_batch: int = 16) -> IntensityFit:
    """A tcgru trained on clips (class + intensity) and windows (intensity only); see the module docstring."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = create_model("tcgru", **recipe.model_kwargs)
    opt = make_optimizer(model, recipe)
    cx, cy, ct = torch.from_numpy(np.asarray(clip_x, np.float32)), torch.from_numpy(np.asarray(clip_y, np.int64)), \
        torch.from_numpy(np.asarray(clip_t, np.float32))
    wx, wt = torch.from_numpy(np.asarray(win_x)), torch.from_numpy(np.asarray(win_t, np.float32))
    moving = torch.nonzero(wt.amax(1) > 0).flatten()
    still = torch.nonzero(wt.amax(1) <= 0).flatten()
    if len(moving) == 0 or len(still) == 0:
        raise ValueError("the windows need both neutral ones and ones that touch a movement")
    steps_per_epoch = max(1, math.ceil(len(cx) / recipe.batch_size))
    step = 0
    for _ in range(recipe.epochs):
        model.train()
        order = torch.randperm(len(cx), generator=gen)
        for b in range(steps_per_epoch):
            idx = order[b * recipe.batch_size : (b + 1) * recipe.batch_size]
            if len(idx) < 2:
                continue
            half = window_batch // 2
            widx = torch.cat([moving[torch.randint(0, len(moving), (half,), generator=gen)],
                              still[torch.randint(0, len(still), (window_batch - half,), generator=gen)]])
            xb = augment(torch.cat([cx[idx], wx[widx].float()]), recipe, gen, "tcgru")
            logits, inten = model.forward_all(xb)
            n = len(idx)
            loss = F.cross_entropy(logits[:n], cy[idx]) + recipe.intensity_weight * F.l1_loss(
                inten, torch.cat([ct[idx], wt[widx]]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
    recalibrate_batchnorm(model, [torch.cat([cx[idx], wx[widx].float()]) for idx, widx in
                                  _bn_batches(len(cx), moving, still, recipe.batch_size, window_batch, gen)])
    return IntensityFit(model.eval(), time.perf_counter() - t0, step)


def _bn_batches(n_clips: int, moving: torch.Tensor, still: torch.Tensor, batch: int, window_batch: int,
                gen: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of (clip, window) index batches composed like the training batches."""
    out = []
    order = torch.randperm(n_clips, generator=gen)
    for b in range(0, n_clips, batch):
        half = window_batch // 2
        out.append((order[b : b + batch], torch.cat([moving[torch.randint(0, len(moving), (half,), generator=gen)],
                                                     still[torch.randint(0, len(still), (window_batch - half,), generator=gen)]])))
    return out


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: list[torch.Tensor]) -> None:
    """Re-estimate every BatchNorm's running mean / variance for the final weights (a cumulative average over
    ``batches`` in train mode): the running averages kept during training trail weights that were still moving,
    and live inference (batch 1, eval mode) uses nothing else."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or not batches:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    model.train()
    for xb in batches:
        model(xb)
    for m, mom in zip(norms, saved, strict=True):
        m.momentum = mom
    model.eval()


@torch.no_grad()
def predict_intensity(model: nn.Module, x: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, 8) intensities of tcgru inputs."""
    model.eval()
    out = [model.forward_all(torch.from_numpy(np.asarray(x[i : i + batch], np.float32)))[1]  # type: ignore[operator]
           for i in range(0, len(x), batch)]
    return torch.cat(out).numpy() if out else np.zeros((0, TCGRU_STEPS), np.float32)
