"""TC-GRU: time-contrasted features with a GRU memory (after Nag, Bhunia, Konwer, Roy, ICASSP 2019).

Per time step the input holds two consecutive frames (t, t+1) and their optical flow. A shared
*spatial encoder* maps each frame to local features L and a context branch (dilated conv) to
context features C; a *temporal encoder* maps the flow (u, v) to motion features M. The
time-contrasted features cat(L1 - C2, L1 - L2, L2 - C1) (local minus context across the two
frames) are fused with the spatial map L2 and M, pooled to a vector, and a GRU runs over the
steps. Two heads read the GRU: a class head (last step -> 3 logits) and an intensity head
(every step -> sigmoid phase value in [0, 1], trained with an L1 loss) whose value maps to
onset / onset-apex / apex / apex-offset / offset via ``phase_name``.

Deviation, so that it runs live on a CPU: the paper's heavy DeepLab / MPNet-style encoders are
replaced by light 3-layer conv encoders (~0.1 M parameters in all). ``forward(x)`` returns only
the class logits (export and runners treat every model alike); ``forward_all(x)`` also returns
the per-step intensities.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mer_lab.models.paper_recipe import PaperRecipe
from mer_lab.models.registry import register
from realtime_mer.recognition.contracts import TCGRU_CONTRACT
from realtime_mer.types import CLASSES

PHASES: tuple[str, ...] = ("onset", "onset-apex", "apex", "apex-offset", "offset")


TCGRU_RECIPE = PaperRecipe(
    optimizer="rmsprop",
    lr=1e-4,
    weight_decay=0.005,
    loss="cross-entropy (class) + L1 (intensity / phase value per step)",
    augmentation=("rotation", "scale", "translation"),
    notes="RMSProp lr 1e-4, weight decay 0.005, Xavier initialisation and rotation / scale / translation "
          "augmentation are the paper's; batch, epochs and the augmentation ranges are not stated",
    extra={"intensity_weight": 1.0, "init": "xavier"},
)


def phase_targets(positions: np.ndarray, onset: float, apex: float, offset: float) -> np.ndarray:
    """Phase value of frame positions: 0 at onset, 0.5 at apex, 1 at offset, linear in between (float32)."""
    p = np.asarray(positions, dtype=np.float64)
    rise = 0.5 * (p - onset) / max(apex - onset, 1e-9)
    fall = 0.5 + 0.5 * (p - apex) / max(offset - apex, 1e-9)
    return np.clip(np.where(p < apex, rise, fall), 0.0, 1.0).astype(np.float32)


def phase_name(value: float) -> str:
    """Map an intensity-head value in [0, 1] to onset / onset-apex / apex / apex-offset / offset (nearest of 0, .25, .5, .75, 1)."""
    k = int(np.clip(np.rint(float(value) * 4.0), 0, 4))
    return PHASES[k]


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 conv + BatchNorm + ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Encoder(nn.Module):
    """Light encoder: 64x64 -> 16x16 feature map (two stride-2 convs and one stride-1 conv)."""

    def __init__(self, cin: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(_conv(cin, width // 2, 2), _conv(width // 2, width, 2), _conv(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register("tcgru")
class TCGRUNet(nn.Module):
    """(N, 8, 4, 64, 64) in [0, 1] -> (N, 3) class logits; ``forward_all`` adds (N, 8) phase intensities."""

    contract = TCGRU_CONTRACT
    recipe = TCGRU_RECIPE

    def __init__(self, width: int = 32, hidden: int = 64, dropout: float = 0.3, num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.spatial = Encoder(1, width)
        self.context = _conv(width, width, dilation=3)
        self.temporal = Encoder(2, width)
        self.contrast = nn.Sequential(nn.Conv2d(3 * width, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.fuse = _conv(3 * width, hidden, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, num_classes)
        self.intensity = nn.Linear(hidden, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier (Glorot) uniform initialisation of every conv / linear / GRU weight, zero biases (the paper's)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for name, p in self.gru.named_parameters():
            if name.startswith("weight"):
                nn.init.xavier_uniform_(p)
            else:
                nn.init.zeros_(p)

    def _steps(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, 4, H, W) -> (N, T, hidden) GRU outputs."""
        n, t, _, hh, ww = x.shape
        flat = x.reshape(n * t, 4, hh, ww)
        frames = torch.cat([flat[:, 0:1], flat[:, 1:2]], dim=0) - 0.5  # both frames through one encoder pass
        local = self.spatial(frames)
        ctx = self.context(local)
        l1, l2 = torch.chunk(local, 2, dim=0)
        c1, c2 = torch.chunk(ctx, 2, dim=0)
        tc = self.contrast(torch.cat([l1 - c2, l1 - l2, l2 - c1], dim=1))
        motion = self.temporal((flat[:, 2:4] - 0.5) * 2.0)
        v = self.pool(self.fuse(torch.cat([tc, l2, motion], dim=1))).reshape(n, t, -1)
        out, _ = self.gru(v)
        return out

    def forward_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, T, 4, 64, 64) -> ((N, num_classes) logits, (N, T) phase intensities in [0, 1])."""
        out = self._steps(x)
        logits = self.head(self.dropout(out[:, -1]))
        # per step through a 2-D Linear (Gemm): the 3-D MatMul form crashed ONNX Runtime's CPU session on the FP16 graph
        steps = self.intensity(out.reshape(-1, out.shape[-1])).reshape(out.shape[0], out.shape[1])
        return logits, torch.sigmoid(steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, 4, 64, 64) -> (N, num_classes) class logits."""
        return self.forward_all(x)[0]
