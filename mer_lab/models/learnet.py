"""LEARNet: a lateral accretive hybrid network on dynamic images (Verma, Vipparthi, Singh, Murala, TIP 2019).

The clip is summarised by approximate rank pooling into dynamic images (3x112x112). As in the paper:
a Conv-1 stem (3x3/2, 16 filters; 112 -> 56) feeds four lateral paths whose kernels grow per stage,
1x1 (16 filters) -> 3x3 (32) -> 5x5 (64), each stage stride 2 (56 -> 28 -> 14 -> 7). Two paths are
*sequential* (plain stacks), two are *accretive*: after every stage an accretion layer adds the two
accretive paths element-wise and that hybrid map is what both convolve next; the paths are decoupled
until the end. The four 64-channel maps are concatenated to 256, Conv-5 (3x3, 256 filters, stride 2,
no padding; 7 -> 3) and a 256-unit fully connected layer lead to the classifier: ~1.4 M parameters,
the paper's count. No max-pooling anywhere.

Deviation: the paper's dynamic image is of RGB video; our crops are grayscale, so the three channels
are the dynamic images of onset..offset, onset..apex and apex..offset.
"""

from __future__ import annotations

import torch
from torch import nn

from mer_lab.models.paper_recipe import PaperRecipe
from mer_lab.models.registry import register
from realtime_mer.recognition.contracts import LEARNET_CONTRACT
from realtime_mer.types import CLASSES

LEARNET_RECIPE = PaperRecipe(
    optimizer="sgd",
    lr=1e-3,
    momentum=0.9,
    batch_size=25,
    epochs=100,
    augmentation=("rotation +-45 deg", "histogram equalisation", "horizontal flip"),
    notes="SGD lr 1e-3, batch 25, 100 epochs and the augmentation are the paper's; momentum 0.9 is not stated",
)

KERNELS: tuple[int, int, int] = (1, 3, 5)  # per stage, the paper's growing receptive field


def _conv_bn(cin: int, cout: int, k: int, stride: int, padding: int | None = None) -> nn.Sequential:
    """k x k conv (same padding unless given) + BatchNorm + ReLU."""
    pad = k // 2 if padding is None else padding
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _path(cin: int, widths: tuple[int, ...]) -> nn.ModuleList:
    chans = (cin, *widths)
    return nn.ModuleList([_conv_bn(chans[i], chans[i + 1], KERNELS[i], 2) for i in range(len(widths))])


class SequentialPath(nn.Module):
    """One plain lateral path: the stages one after the other."""

    def __init__(self, cin: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.stages = _path(cin, widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return x


class AccretivePair(nn.Module):
    """Two lateral paths; after each stage their sum (the accretion layer) feeds both. Returns both last maps."""

    def __init__(self, cin: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.a = _path(cin, widths)
        self.b = _path(cin, widths)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = b = x
        n = len(self.a)
        for i, (conv_a, conv_b) in enumerate(zip(self.a, self.b, strict=True)):
            a, b = conv_a(x), conv_b(x)
            if i < n - 1:
                x = a + b  # accretion layer: the hybrid map both paths read next
        return a, b


@register("learnet")
class LEARNet(nn.Module):
    """(N, 3, 112, 112) in [0, 1] -> (N, num_classes) logits."""

    contract = LEARNET_CONTRACT
    recipe = LEARNET_RECIPE

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64), top: int = 256, fc: int = 256,
                 dropout: float = 0.5, num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.stem = _conv_bn(3, 16, 3, 2)  # Conv-1: 112 -> 56
        self.seq1 = SequentialPath(16, widths)
        self.seq2 = SequentialPath(16, widths)
        self.accretive = AccretivePair(16, widths)
        self.conv5 = _conv_bn(4 * widths[-1], top, 3, 2, padding=0)  # 7 -> 3
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(top * 3 * 3, fc), nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.head = nn.Linear(fc, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 112, 112) -> (N, num_classes) logits."""
        s = self.stem(x - 0.5)
        a, b = self.accretive(s)
        z = torch.cat([self.seq1(s), self.seq2(s), a, b], dim=1)  # 4 x 64 = 256 channels at 7x7
        return self.head(self.fc(self.conv5(z)))
