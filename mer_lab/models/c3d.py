"""C3D: a seven-layer 3D-CNN on 18 grayscale 64x64 frames (Dubey, Takkar, Lamba, FPA 2020).

The paper feeds a fixed-length stack of face frames to a small 3D-CNN (3D conv + 3D max-pool
blocks, Swish or ReLU; the paper found ReLU slightly better, so ReLU is the default) trained with
SGD. Here the seven layers are three conv/pool pairs and one fully connected layer: Conv3d(16) ->
MaxPool3d(1,2,2) -> Conv3d(32) -> MaxPool3d(2) -> Conv3d(64) -> MaxPool3d(2) -> dropout -> Linear(3).
Channel widths and the dropout are our choices (the paper's exact widths were not verified);
~0.1 M parameters, ~0.2 GMAC per sample. ``norm="onset-rms"`` (what the recipes train with) feeds the
change from the onset frame at unit RMS instead of ``x - 0.5`` (``clip_norm``: with raw frames the
model could not even memorise 16 synthetic clips; issue 27).
"""

from __future__ import annotations

import torch
from torch import nn

from mer_lab.models.clip_norm import check_norm, scale_input
from mer_lab.models.paper_recipe import PaperRecipe
from mer_lab.models.registry import register
from realtime_mer.recognition.contracts import C3D_CONTRACT
from realtime_mer.types import CLASSES

C3D_RECIPE = PaperRecipe(
    optimizer="sgd",
    lr=0.01,
    momentum=0.9,
    batch_size=8,
    epochs=100,
    notes="SGD as in the paper; lr 0.01, momentum 0.9, batch 8 and 100 epochs are NOT from the paper "
          "(common defaults; the paper's values were not verified)",
)


def _block(cin: int, cout: int, pool: tuple[int, int, int], swish: bool) -> nn.Sequential:
    """3x3x3 conv (same padding) + activation + 3D max-pool."""
    act: nn.Module = nn.SiLU() if swish else nn.ReLU()
    return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1), act, nn.MaxPool3d(pool))


@register("c3d")
class C3DNet(nn.Module):
    """(N, 1, 18, 64, 64) in [0, 1] -> (N, 3) logits; ReLU by default (the paper's better one), ``swish=True`` SiLU;
    ``norm``: ``paper`` (``x - 0.5``) or ``onset-rms`` (``clip_norm``)."""

    contract = C3D_CONTRACT
    recipe = C3D_RECIPE

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64), swish: bool = False, dropout: float = 0.5,
                 num_classes: int = len(CLASSES), norm: str = "paper") -> None:
        super().__init__()
        self.norm = check_norm(norm)
        w1, w2, w3 = widths
        self.features = nn.Sequential(
            _block(1, w1, (1, 2, 2), swish),  # 18x32x32
            _block(w1, w2, (2, 2, 2), swish),  # 9x16x16
            _block(w2, w3, (2, 2, 2), swish),  # 4x8x8
        )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(w3 * 4 * 8 * 8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 18, 64, 64) -> (N, num_classes) logits."""
        x = self.features(scale_input(x, self.norm, time_axis=2))
        return self.fc(self.dropout(torch.flatten(x, 1)))
