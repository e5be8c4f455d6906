"""Recognition: apex-flow features, the bundled classifier, the clip classifier of every other model, class sets."""

from __future__ import annotations

from realtime_mer.recognition.classes import CLASS_SETS, ClassSet, class_set
from realtime_mer.recognition.classifier import BUNDLED_MODEL, ApexFlowClassifier
from realtime_mer.recognition.clip_classifier import ClipClassifier
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
    "CLASS_SETS",
    "DEFAULT_FLOW_METHOD",
    "FLOW_METHODS",
    "ApexFlowClassifier",
    "ClassSet",
    "ClipClassifier",
    "apex_flow_image",
    "class_set",
    "encode_flow",
    "hflip_flow_image",
    "optical_flow",
    "optical_strain",
    "to_model_input",
]
