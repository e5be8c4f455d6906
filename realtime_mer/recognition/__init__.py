"""Recognition: apex-flow features and the bundled classifier."""

from __future__ import annotations

from realtime_mer.recognition.classifier import BUNDLED_MODEL, ApexFlowClassifier
from realtime_mer.recognition.features import (
    DEFAULT_FLOW_METHOD,
    FLOW_METHODS,
    apex_flow_image,
    encode_flow,
    hflip_flow_image,
    optical_flow,
    optical_strain,
    to_model_input,
)

__all__ = [
    "BUNDLED_MODEL",
    "DEFAULT_FLOW_METHOD",
    "FLOW_METHODS",
    "ApexFlowClassifier",
    "apex_flow_image",
    "encode_flow",
    "hflip_flow_image",
    "optical_flow",
    "optical_strain",
    "to_model_input",
]
