"""ApexFlowNet: a tiny multi-branch CNN for one 3x28x28 apex-flow image (u, v, optical strain).

Inspired by STSTNet (shallow parallel conv branches of different receptive fields over
u / v / strain): the 28x28 image is space-to-depth'ed to 14x14x12 (cheap: ~0.5 M MACs per
sample, so a 68-fold LOSO trains in minutes on one CPU thread), two branches (3x3 and dilated
3x3: 6 and 10 px receptive fields at 28x28) -> max-pool -> 3x3 conv -> 1x1 conv, and a
position-keeping head: the 7x7 map is flattened rather than globally pooled, because *where* the
face moves (brows vs. mouth corners) carries the class. ~10 k parameters (< 50 KB).

The input scaling is part of the network (``normalize``): the shipped recipe uses ``norm="robust"``
(each channel centred on its median and scaled by a high percentile of its deviation), the
constructor's default ``"none"`` (2x - 1) is what checkpoints written before that option hold.
``stem="full"`` runs the branches at 28x28 on the three channels instead (2x the MACs; tried in
recipe round 7, not adopted).
"""

from __future__ import annotations

import torch
from torch import nn

from mer_lab.models.registry import register
from realtime_mer.recognition.contracts import APEXFLOW_CONTRACT
from realtime_mer.types import CLASSES


def _conv_bn(cin: int, cout: int, k: int, dilation: int = 1) -> nn.Sequential:
    """Conv (same padding, no bias) + BatchNorm + ReLU."""
    pad = dilation * (k - 1) // 2
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


NORMS: tuple[str, ...] = ("none", "center", "robust")
STEMS: tuple[str, ...] = ("s2d", "full")


def normalize(x: torch.Tensor, norm: str = "none", quantile: float = 0.9) -> torch.Tensor:
    """The network's input scaling of (N, C, H, W) images in [0, 1], per image and channel.

    ``none``: 2x - 1; ``center``: 2 (x - mean); ``robust``: (x - median) / (the ``quantile`` of
    |x - median|), clipped to +-4 and scaled by 1/4, so the zero-motion grey (the median: most of
    a face does not move) maps to 0 and one extreme pixel does not set the scale (the published
    images are min-max normalised per channel). Built from ``topk`` so it exports to ONNX.
    """
    if norm == "robust":
        flat = x.flatten(2)
        n = flat.shape[2]
        med = torch.topk(flat, n // 2 + 1, dim=2).values[:, :, -1:]
        dev = (flat - med).abs()
        k = max(1, int(n * (1.0 - quantile) + 0.5))  # (a constant when traced: H and W are fixed by the contract)
        scale = torch.topk(dev, k, dim=2).values[:, :, -1:]
        return ((flat - med) / (scale + 1e-3)).clamp(-4.0, 4.0).view_as(x) * 0.25
    if norm == "center":
        return (x - x.mean(dim=(2, 3), keepdim=True)) * 2.0
    if norm == "none":
        return (x - 0.5) * 2.0
    raise ValueError(f"unknown apexflow input norm {norm!r} ({' | '.join(NORMS)})")


@register("apexflow")
class ApexFlowNet(nn.Module):
    """Space-to-depth -> branches (3x3, dilated 3x3) -> pool -> 3x3 conv -> 1x1 conv -> flatten -> linear."""

    contract = APEXFLOW_CONTRACT

    def __init__(self, width: int = 8, mid: int = 24, head: int = 12, dropout: float = 0.5, norm: str = "none",
                 norm_quantile: float = 0.9, stem: str = "s2d", num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown apexflow input norm {norm!r} ({' | '.join(NORMS)})")
        if stem not in STEMS:
            raise ValueError(f"unknown apexflow stem {stem!r} ({' | '.join(STEMS)})")
        self.norm, self.norm_quantile = norm, norm_quantile  # input scaling, see normalize()
        self.stem = stem
        # s2d: space-to-depth to 14x14x12, branches at 14x14; full: branches at 28x28 on the 3 channels,
        # pooled to 14x14 (2x the MACs, finer receptive fields)
        self.unshuffle = nn.PixelUnshuffle(2) if stem == "s2d" else nn.Identity()
        cin = 12 if stem == "s2d" else 3
        self.branches = nn.ModuleList([_conv_bn(cin, width, 3), _conv_bn(cin, width, 3, dilation=2)])
        self.pool = nn.MaxPool2d(2)
        self.pool0 = nn.Identity() if stem == "s2d" else nn.MaxPool2d(2)
        self.stage2 = _conv_bn(2 * width, mid, 3)
        self.reduce = _conv_bn(mid, head, 1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(head * 7 * 7, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 28, 28) in [0, 1] -> (N, num_classes) logits."""
        x = self.unshuffle(normalize(x, self.norm, self.norm_quantile))
        x = self.pool0(torch.cat([b(x) for b in self.branches], dim=1))
        x = self.pool(self.stage2(x)) if self.stem == "full" else self.stage2(self.pool(x))
        x = self.reduce(x)
        return self.fc(self.dropout(torch.flatten(x, 1)))
