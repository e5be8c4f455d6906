"""STSTNet-style network (Liong et al., 2019): three shallow parallel conv branches over one apex-flow image.

The network the MEGC 2019 composite features (u, v, optical strain at 28x28) were published
with: three 3x3 conv branches of 3, 5 and 8 filters over the full-resolution image (each with
BatchNorm and ReLU), a 3x3 max-pool of stride 3, concatenation to 16 channels, a 2x2 average pool
to 5x5 and one linear layer (~1.7 k parameters). Written from the paper's description; used as a
second, differently-biased member of the apex-flow ensemble (full-resolution 3x3 receptive fields
and heavy pooling, where ApexFlowNet keeps a 7x7 position map). Same input contract as
``apexflow``.
"""

from __future__ import annotations

import torch
from torch import nn

from realtime_mer.models import register
from realtime_mer.models.apexflow import APEXFLOW_CONTRACT
from realtime_mer.types import CLASSES


@register("ststnet")
class STSTNet(nn.Module):
    """(N, 3, 28, 28) in [0, 1] -> branches (3 / 5 / 8 filters, 3x3) -> max-pool 3 -> concat -> avg-pool 2 -> linear."""

    contract = APEXFLOW_CONTRACT

    def __init__(self, filters: tuple[int, ...] = (3, 5, 8), dropout: float = 0.5,
                 num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(3, f, 3, padding=2, bias=False), nn.BatchNorm2d(f), nn.ReLU(inplace=True),
                          nn.MaxPool2d(3, stride=3, padding=1))
            for f in filters
        )  # 28 + 2*2 - 2 = 30 -> 10x10
        self.pool = nn.AvgPool2d(2)  # -> 5x5
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(sum(filters) * 25, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 28, 28) in [0, 1] -> (N, num_classes) logits."""
        x = (x - 0.5) * 2.0
        x = self.pool(torch.cat([b(x) for b in self.branches], dim=1))
        return self.fc(self.dropout(torch.flatten(x, 1)))
