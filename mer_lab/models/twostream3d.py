"""Enriched two-stream 3D-CNN: original frames + TV-L1 flow of phase-magnified frames (after Yan, Li).

As in the paper, the clip is magnified with phase-based video magnification (alpha = 20) and TV-L1
optical flow is computed on the *magnified* frames (stream 2), while stream 1 sees the *original*
frames. Each stream is 3D conv (32 filters, 3x3x3) -> 3D max-pool 3x3x3 -> dropout -> dense 128;
the two 128-vectors are concatenated (256) and a linear layer gives the logits (the paper's softmax
is applied by the loss / the runner). ~7.4 M parameters at our 8x64x64 input (the paper reports
~13.6 M for its own input length; the layer widths are the paper's).

One input tensor (so ONNX export has one input): (N, 3, 8, 64, 64), channel 0 = original frames,
channels 1 and 2 = flow u and v; depth slice d holds frame s_{d+1} and the flow s_d -> s_{d+1}
(of the magnified frames) of a 9-frame uniform sampling s_0..s_8 (s_0 = onset, the magnification
reference). The paper magnifies the whole video before cropping to 64x64; here the 128 px aligned
crops are resized to 64x64 first (magnifying a 200 fps camera stream before face alignment is not
affordable live).
"""

from __future__ import annotations

import torch
from torch import nn

from mer_lab.models.paper_recipe import PaperRecipe
from mer_lab.models.registry import register
from realtime_mer.recognition.contracts import MAGNIFICATION_ALPHA, TWOSTREAM_CONTRACT, TWOSTREAM_FRAMES, TWOSTREAM_SIZE
from realtime_mer.types import CLASSES

TWOSTREAM_RECIPE = PaperRecipe(
    optimizer="adam",
    lr=1e-3,
    batch_size=8,
    notes="magnification alpha ~20, TV-L1 flow and batch 8 from the paper; optimizer, lr and epochs are not stated "
          "(Adam 1e-3 is our default)",
    extra={"alpha": MAGNIFICATION_ALPHA},
)


class Stream(nn.Module):
    """3D conv -> 3D max-pool -> dropout -> dense 128 (ReLU)."""

    def __init__(self, cin: int, width: int, pool: tuple[int, int, int], dropout: float, out: int = 128) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv3d(cin, width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool3d(pool))
        self.dropout = nn.Dropout(dropout)
        d, h, w = (TWOSTREAM_FRAMES // pool[0], TWOSTREAM_SIZE // pool[1], TWOSTREAM_SIZE // pool[2])  # floor, as MaxPool3d
        self.dense = nn.Sequential(nn.Linear(width * d * h * w, out), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.dropout(torch.flatten(self.conv(x), 1)))


@register("twostream3d")
class TwoStream3DNet(nn.Module):
    """(N, 3, 8, 64, 64) in [0, 1] -> (N, 3) logits; stream 1 reads channel 0, stream 2 channels 1-2."""

    contract = TWOSTREAM_CONTRACT
    recipe = TWOSTREAM_RECIPE

    def __init__(self, width: int = 32, pool: tuple[int, int, int] = (3, 3, 3), dropout: float = 0.5,
                 num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.frames = Stream(1, width, pool, dropout)
        self.flow = Stream(2, width, pool, dropout)
        self.head = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 8, 64, 64) -> (N, num_classes) logits."""
        a = self.frames(x[:, :1] - 0.5)
        b = self.flow((x[:, 1:] - 0.5) * 2.0)
        return self.head(torch.cat([a, b], dim=1))
