"""LEARNet: a lateral accretive hybrid network on a dynamic image (after Verma, Vipparthi, Singh, Murala, TIP 2019).

The clip is summarised by approximate rank pooling into dynamic images (3x112x112). A 3x3/2 conv
(16) stem feeds four lateral paths in two pairs, (3x3, 5x5) and (1x1, 3x3), each path three
stride-2 convs with 16 / 32 / 64 filters (56 -> 28 -> 14 -> 7). After every stage an accretion
layer adds the two paths of a pair element-wise, and that hybrid map is what both paths of the
pair convolve next (the lateral connection); the two pairs never mix until the end (decoupled).
The last accretion maps of both pairs are concatenated (128), batch-normalised, a 3x3 conv (256)
and global average pooling lead to the fully connected layer. No max-pooling anywhere.

Channels: the paper's dynamic image is of RGB video; our crops are grayscale, so the three
channels are the dynamic images of onset..offset, onset..apex and apex..offset. The exact path
wiring of the paper was not verified; ~0.5 M parameters.
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
    lr=0.01,
    momentum=0.9,
    notes="paper trains from scratch on dynamic images; optimizer values are common defaults, not verified",
)


def _conv_bn(cin: int, cout: int, k: int, stride: int) -> nn.Sequential:
    """k x k conv (same padding) + BatchNorm + ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class AccretivePair(nn.Module):
    """Two lateral paths (kernel sizes ``ka``, ``kb``); after each stride-2 stage their sum (accretion) feeds both."""

    def __init__(self, cin: int, widths: tuple[int, ...], ka: int, kb: int) -> None:
        super().__init__()
        chans = (cin, *widths)
        self.a = nn.ModuleList([_conv_bn(chans[i], chans[i + 1], ka, 2) for i in range(len(widths))])
        self.b = nn.ModuleList([_conv_bn(chans[i], chans[i + 1], kb, 2) for i in range(len(widths))])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv_a, conv_b in zip(self.a, self.b, strict=True):
            x = conv_a(x) + conv_b(x)  # accretion layer
        return x


@register("learnet")
class LEARNet(nn.Module):
    """(N, 3, 112, 112) in [0, 1] -> (N, 3) logits."""

    contract = LEARNET_CONTRACT
    recipe = LEARNET_RECIPE

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64), top: int = 256, dropout: float = 0.5,
                 num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.stem = _conv_bn(3, 16, 3, 2)
        self.pair1 = AccretivePair(16, widths, 3, 5)
        self.pair2 = AccretivePair(16, widths, 1, 3)
        self.norm = nn.BatchNorm2d(2 * widths[-1])
        self.top = nn.Sequential(nn.Conv2d(2 * widths[-1], top, 3, padding=1, bias=False), nn.BatchNorm2d(top), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(top, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 112, 112) -> (N, num_classes) logits."""
        s = self.stem(x - 0.5)
        z = self.norm(torch.cat([self.pair1(s), self.pair2(s)], dim=1))
        return self.fc(self.dropout(torch.flatten(self.pool(self.top(z)), 1)))
