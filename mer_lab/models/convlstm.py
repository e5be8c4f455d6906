"""ConvLSTM: one convolutional-LSTM layer over 9 key frames (Shukla, Rai, Verlekar).

Nine 90x90 grayscale frames (onset, apex, offset and uniform samples in between) pass through
one ConvLSTM layer (32 kernels 3x3, stride 1, same padding; the cell of Shi et al. 2015 is
implemented here: gates i, f, o, g from one convolution of [x_t, h_{t-1}] plus the peephole terms
W_ci * c_{t-1}, W_cf * c_{t-1}, W_co * c_t, Hadamard products with per-channel, per-pixel weights);
the last hidden state is max-pooled 2x2 with
stride 1 (89x89), flattened, fed to a 48-unit sigmoid dense layer, dropout 0.3 and a 3-way head
whose softmax the paper applies (``forward`` returns the logits). The flattened 32x89x89 map makes
the dense layer hold ~12 M of the ~12.2 M parameters, as in the paper's design.
"""

from __future__ import annotations

import torch
from torch import nn

from mer_lab.models.clip_norm import check_norm, scale_input
from mer_lab.models.paper_recipe import PaperRecipe
from mer_lab.models.registry import register
from realtime_mer.recognition.contracts import CONVLSTM_CONTRACT, CONVLSTM_SIZE
from realtime_mer.types import CLASSES

CONVLSTM_RECIPE = PaperRecipe(
    optimizer="adam",
    lr=1e-4,
    batch_size=16,
    schedule="reduce-on-plateau, factor 0.5",
    early_stopping=True,
    augmentation=("horizontal flip", "brightness", "salt-and-pepper noise (smaller classes only)"),
    notes="softmax head trained with categorical cross-entropy; patience values not stated",
)


class ConvLSTMCell(nn.Module):
    """One ConvLSTM step (Shi et al. 2015, with peepholes): gates from a conv of [x_t, h] plus W_c* . c;
    i = s(. + W_ci c), f = s(. + W_cf c), c' = f c + i tanh(g), o = s(. + W_co c'), h' = o tanh(c').

    ``size`` (H, W) sizes the peephole weights (per channel and pixel, as in the paper's Hadamard
    products); ``size=None`` leaves them out (the plain cell).
    """

    def __init__(self, cin: int, hidden: int, kernel: int = 3, size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.hidden = hidden
        self.conv = nn.Conv2d(cin + hidden, 4 * hidden, kernel, padding=kernel // 2)
        self.peephole = size is not None
        if size is not None:
            self.w_ci = nn.Parameter(torch.zeros(hidden, *size))
            self.w_cf = nn.Parameter(torch.zeros(hidden, *size))
            self.w_co = nn.Parameter(torch.zeros(hidden, *size))

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, cin, H, W), (N, hidden, H, W) x2 -> new (h, c)."""
        i, f, o, g = torch.chunk(self.conv(torch.cat([x, h], dim=1)), 4, dim=1)
        if self.peephole:
            i, f = i + self.w_ci * c, f + self.w_cf * c
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if self.peephole:
            o = o + self.w_co * c
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


@register("convlstm")
class ConvLSTMNet(nn.Module):
    """(N, 9, 1, 90, 90) in [0, 1] -> (N, 3) logits (softmax applied by the loss / the runner); ``norm``:
    ``paper`` (``x - 0.5``) or ``onset-rms`` (the change from the onset frame at unit RMS, ``clip_norm``)."""

    contract = CONVLSTM_CONTRACT
    recipe = CONVLSTM_RECIPE

    def __init__(self, hidden: int = 32, dense: int = 48, dropout: float = 0.3, num_classes: int = len(CLASSES),
                 peephole: bool = True, norm: str = "paper") -> None:
        super().__init__()
        self.norm = check_norm(norm)
        self.cell = ConvLSTMCell(1, hidden, size=(CONVLSTM_SIZE, CONVLSTM_SIZE) if peephole else None)
        self.pool = nn.MaxPool2d(2, stride=1)
        side = CONVLSTM_SIZE - 1
        self.dense = nn.Linear(hidden * side * side, dense)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dense, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, 1, 90, 90) -> (N, num_classes) logits; the ConvLSTM runs over the T frames."""
        n, t = x.shape[0], x.shape[1]
        x = scale_input(x, self.norm, time_axis=1)
        h = x.new_zeros(n, self.cell.hidden, x.shape[3], x.shape[4])
        c = torch.zeros_like(h)
        for k in range(t):
            h, c = self.cell(x[:, k], h, c)
        z = torch.sigmoid(self.dense(torch.flatten(self.pool(h), 1)))
        return self.head(self.dropout(z))
