"""``clip_input``: any registered model's input from a clip of aligned crops, following its ``InputContract``.

ONE code path for training and live use: a dataset clip (``mer_lab.datasets`` loaders), a
synthetic clip and a spotted interval from the camera all become model inputs here. ``frames``
are aligned grayscale face crops (T, H, W) uint8 (``FaceAligner``, 128x128 by default); onset,
apex and offset are 0-based indices into them.

Per model (see each model module for the architecture):

* ``apexflow``: onset / apex pair -> (3, 28, 28) u, v, strain (``recognition.features``).
* ``c3d``: 18 frames linearly interpolated over onset..offset, 64x64 -> (1, 18, 64, 64).
* ``convlstm``: onset, apex, offset + uniform positions in between (9), 90x90 -> (9, 1, 90, 90).
* ``tcgru``: 9 uniform positions, 64x64; step k = frames k, k+1 and their DIS flow -> (8, 4, 64, 64).
* ``twostream3d``: 9 uniform positions, 64x64; original frames 1..8 and the TV-L1 flow between
  consecutive phase-magnified frames (alpha 20, reference = onset) -> (3, 8, 64, 64).
* ``learnet``: dynamic images of onset..offset, onset..apex, apex..offset (each segment resampled
  to 16 positions), 112x112 -> (3, 112, 112).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from realtime_mer.errors import DataError, ModelError, fail
from realtime_mer.recognition.contracts import input_contract
from realtime_mer.recognition.features import DEFAULT_FLOW_METHOD, apex_flow_image, to_model_input
from realtime_mer.recognition.preprocess.dynamic import dynamic_image, scale_unit
from realtime_mer.recognition.preprocess.flowseq import FLOW_CLIP_PX, consecutive_flows, encode_flow_unit
from realtime_mer.recognition.preprocess.magnify import MagnifyConfig, magnify_phase
from realtime_mer.recognition.preprocess.sampling import (
    anchored_positions,
    interpolate_frames,
    resize_frames,
    to_uint8,
    uniform_positions,
)


@dataclass(frozen=True)
class PreprocessConfig:
    """Choices of the input builders (the same for training and live use)."""

    apex_flow_method: str = DEFAULT_FLOW_METHOD  # apexflow (see recognition.features)
    twostream_flow_method: str = "tvl1-fast"  # twostream3d: TV-L1 as in Yan & Li (fast solver), ~8 ms per 64x64 pair
    tcgru_flow_method: str = "dis"  # tcgru: the paper does not fix the flow; DIS is < 1 ms per 64x64 pair
    flow_clip_px: float = FLOW_CLIP_PX
    magnify: MagnifyConfig = field(default_factory=MagnifyConfig)  # twostream3d (alpha 20)
    dynamic_frames: int = 16  # learnet: positions per dynamic-image segment (frame-rate independent)


Builder = Callable[[np.ndarray, int, int, int, PreprocessConfig], np.ndarray]


def check_clip(frames: np.ndarray, onset: int, apex: int, offset: int) -> np.ndarray:
    """Validate (T, H, W) uint8 crops and 0 <= onset <= apex <= offset < T; returns the array."""
    f = np.asarray(frames)
    if f.ndim != 3 or f.shape[0] < 1 or f.dtype != np.uint8 or min(f.shape[1:]) < 8:
        raise fail(DataError, f"clip frames must be (T, H, W) uint8 aligned crops, got {f.shape} {f.dtype}",
                   "pass FaceAligner crops stacked along axis 0")
    if not 0 <= onset <= apex <= offset < f.shape[0]:
        raise fail(DataError, f"onset {onset}, apex {apex}, offset {offset} do not fit a {f.shape[0]}-frame clip",
                   "pass 0 <= onset <= apex <= offset < len(frames)")
    return f


def _sampled(frames: np.ndarray, positions: np.ndarray, size: int) -> np.ndarray:
    """Frames at fractional ``positions``, resized to ``size``² (float32, 0..255)."""
    return resize_frames(interpolate_frames(frames, positions), size)


def _apexflow(f: np.ndarray, onset: int, apex: int, offset: int, cfg: PreprocessConfig) -> np.ndarray:
    return to_model_input(apex_flow_image(f[onset], f[apex], cfg.apex_flow_method))[0]


def _c3d(f: np.ndarray, onset: int, apex: int, offset: int, cfg: PreprocessConfig) -> np.ndarray:
    x = _sampled(f, uniform_positions(onset, offset, 18), 64)
    return (x / np.float32(255.0))[None]


def _convlstm(f: np.ndarray, onset: int, apex: int, offset: int, cfg: PreprocessConfig) -> np.ndarray:
    x = _sampled(f, anchored_positions(onset, apex, offset, 9), 90)
    return (x / np.float32(255.0))[:, None]


def _tcgru(f: np.ndarray, onset: int, apex: int, offset: int, cfg: PreprocessConfig) -> np.ndarray:
    g = to_uint8(_sampled(f, uniform_positions(onset, offset, 9), 64))
    flow = encode_flow_unit(consecutive_flows(g, cfg.tcgru_flow_method), cfg.flow_clip_px)  # (8, H, W, 2)
    img = g.astype(np.float32) / np.float32(255.0)
    return np.concatenate([img[:-1, None], img[1:, None], flow.transpose(0, 3, 1, 2)], axis=1)


def _twostream3d(f: np.ndarray, onset: int, apex: int, offset: int, cfg: PreprocessConfig) -> np.ndarray:
    g = _sampled(f, uniform_positions(onset, offset, 9), 64)
    mag = to_uint8(magnify_phase(g, cfg.magnify, ref=0))
    flow = encode_flow_unit(consecutive_flows(mag, cfg.twostream_flow_method), cfg.flow_clip_px)  # (8, H, W, 2)
    img = g[1:] / np.float32(255.0)  # stream 1: the original frames (Yan & Li); only the flow sees magnification
    return np.concatenate([img[None], flow.transpose(3, 0, 1, 2)], axis=0)


def _learnet(f: np.ndarray, onset: int, apex: int, offset: int, cfg: PreprocessConfig) -> np.ndarray:
    n = cfg.dynamic_frames
    segments = ((onset, offset), (onset, apex), (apex, offset))
    return np.stack([scale_unit(dynamic_image(_sampled(f, uniform_positions(a, b, n), 112))) for a, b in segments])


BUILDERS: dict[str, Builder] = {
    "apexflow": _apexflow,
    "c3d": _c3d,
    "convlstm": _convlstm,
    "tcgru": _tcgru,
    "twostream3d": _twostream3d,
    "learnet": _learnet,
}


def clip_input(model_name: str, frames: np.ndarray, onset: int, apex: int, offset: int,
               cfg: PreprocessConfig | None = None) -> np.ndarray:
    """One sample of model ``model_name``'s input (float32, ``input_contract(model_name).shape``) from aligned crops."""
    contract = input_contract(model_name)  # ModelError for an unknown name
    if model_name not in BUILDERS:
        raise fail(ModelError, f"model {model_name!r} has no input builder",
                   f"add one to realtime_mer.recognition.preprocess.inputs.BUILDERS (known: {', '.join(sorted(BUILDERS))})")
    f = check_clip(frames, int(onset), int(apex), int(offset))
    x = np.ascontiguousarray(BUILDERS[model_name](f, int(onset), int(apex), int(offset), cfg or PreprocessConfig()),
                             dtype=np.float32)
    if x.shape != contract.shape:
        raise fail(ModelError, f"input builder of {model_name!r} made {x.shape}, the contract says {contract.shape}",
                   "fix the builder or the model's contract")
    return x
