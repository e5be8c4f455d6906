"""Two-stream 3D-CNN on magnified frames and their TV-L1 flow (after Yan, Li).

The clip is magnified with phase-based video magnification (alpha = 20) and TV-L1 optical flow is
computed on the magnified frames. Stream 1 sees 8 magnified grayscale frames, stream 2 the 8 flow
fields as 16 flow frames (u and v); each stream is 3D conv -> 3D max-pool -> dropout -> dense
128, the two 128-vectors are concatenated (256) and a linear layer gives the 3 logits (the paper's
softmax is applied by the loss / the runner).

One input tensor (so ONNX export has one input): (N, 3, 8, 64, 64), channel 0 = magnified frames,
channels 1 and 2 = flow u and v; depth slice d holds magnified frame s_{d+1} and the flow
s_d -> s_{d+1} of a 9-frame uniform sampling s_0..s_8 (s_0 = onset, the magnification reference).
Widths and pool sizes (16 filters, pool 4x4x4) are our choices to keep ~2.1 M parameters.
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
    notes="magnification alpha ~20 and TV-L1 flow from the paper; optimizer settings are our defaults",
    extra={"alpha": MAGNIFICATION_ALPHA},
)


class Stream(nn.Module):
    """3D conv -> 3D max-pool -> dropout -> dense 128 (ReLU)."""

    def __init__(self, cin: int, width: int, pool: tuple[int, int, int], dropout: float, out: int = 128) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv3d(cin, width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool3d(pool))
        self.dropout = nn.Dropout(dropout)
        d, h, w = (TWOSTREAM_FRAMES // pool[0], TWOSTREAM_SIZE // pool[1], TWOSTREAM_SIZE // pool[2])
        self.dense = nn.Sequential(nn.Linear(width * d * h * w, out), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.dropout(torch.flatten(self.conv(x), 1)))


@register("twostream3d")
class TwoStream3DNet(nn.Module):
    """(N, 3, 8, 64, 64) in [0, 1] -> (N, 3) logits; stream 1 reads channel 0, stream 2 channels 1-2."""

    contract = TWOSTREAM_CONTRACT
    recipe = TWOSTREAM_RECIPE

    def __init__(self, width: int = 16, pool: tuple[int, int, int] = (4, 4, 4), dropout: float = 0.5,
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
