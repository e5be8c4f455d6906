"""Input scaling of the raw-frame clip models (c3d, convlstm): make the motion, not the face, the signal.

A synthetic AU (or a real micro-expression) moves the face by 1-2 px: in the frames of a clip the
change from the onset frame has an RMS of ~0.01 against ~0.19 for the face's appearance, so a
network fed ``x - 0.5`` sees a 5 % ripple on a face and, with three training faces, can neither
memorise nor generalise (issue 27: c3d / convlstm at chance, unable to overfit 16 clips).
``onset_rms`` subtracts the clip's first (onset) frame and divides by the RMS of what is left, so the
input is the movement itself at unit scale; runs inside the model, so the input contract (frames /255)
and the exported ONNX graph carry it.
"""

from __future__ import annotations

import torch

NORMS: tuple[str, ...] = ("paper", "onset-rms")
MIN_RMS = 1e-3  # a clip with (almost) no change is not blown up to unit scale


def onset_rms(x: torch.Tensor, time_axis: int) -> torch.Tensor:
    """``(x - x[onset]) / rms(x - x[onset])`` per sample; ``time_axis`` is the frame axis of the batch."""
    m = x - x.narrow(time_axis, 0, 1)
    rms = m.pow(2).mean(dim=tuple(range(1, x.ndim)), keepdim=True).sqrt().clamp_min(MIN_RMS)
    return m / rms


def scale_input(x: torch.Tensor, norm: str, time_axis: int) -> torch.Tensor:
    """``paper``: ``x - 0.5`` (the frames as the papers feed them); ``onset-rms``: ``onset_rms``."""
    if norm == "onset-rms":
        return onset_rms(x, time_axis)
    return x - 0.5


def check_norm(norm: str) -> str:
    """``norm`` if it is one of ``NORMS``, else ValueError naming them."""
    if norm not in NORMS:
        raise ValueError(f"unknown input norm {norm!r} (use one of {', '.join(NORMS)})")
    return norm
