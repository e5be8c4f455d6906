"""Shared preprocessing of aligned-crop clips into model inputs: ONE code path for training and live use.

``sampling`` (uniform / anchored positions, linear interpolation), ``magnify`` (phase-based video
magnification with a complex steerable pyramid), ``dynamic`` (dynamic images by approximate rank
pooling), ``flowseq`` (flow between consecutive frames) and ``inputs.clip_input`` (any registered
model's input from a clip, following its ``InputContract``).
"""

from __future__ import annotations

from realtime_mer.recognition.preprocess.dynamic import dynamic_image, rank_pool_coefficients, scale_unit
from realtime_mer.recognition.preprocess.flowseq import consecutive_flows, encode_flow_unit
from realtime_mer.recognition.preprocess.inputs import BUILDERS, PreprocessConfig, check_clip, clip_input
from realtime_mer.recognition.preprocess.magnify import MagnifyConfig, magnify_phase
from realtime_mer.recognition.preprocess.sampling import (
    anchored_positions,
    interpolate_frames,
    resize_frames,
    uniform_indices,
    uniform_positions,
)

__all__ = [
    "BUILDERS",
    "MagnifyConfig",
    "PreprocessConfig",
    "anchored_positions",
    "check_clip",
    "clip_input",
    "consecutive_flows",
    "dynamic_image",
    "encode_flow_unit",
    "interpolate_frames",
    "magnify_phase",
    "rank_pool_coefficients",
    "resize_frames",
    "scale_unit",
    "uniform_indices",
    "uniform_positions",
]
