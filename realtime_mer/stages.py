"""The stage interfaces the pipeline wires, as ``typing.Protocol``s (structural: a test fake or a new
implementation only needs the members, no base class).

- source: ``capture.Source`` (an ABC: the grabber thread drives its ``open`` / ``read`` / ``close``);
- face stage: ``FaceStage`` (``face.aligner.FaceAligner``);
- spotter: ``SpotterStage`` (every ``spotting.base.Spotter``; driven by ``spotting.driver.SpotDriver``);
- classifier: ``ClassifierStage`` (``recognition.classifier.ApexFlowClassifier`` on any Runner), and
  ``ClipClassifierStage`` for the clip form every live model has (``recognition.clip_classifier.ClipClassifier``);
- sinks: ``events.sinks.EventSink`` (JSONL, CSV).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from realtime_mer.capture import Source
from realtime_mer.events.sinks import EventSink
from realtime_mer.spotting.driver import Flushing, Stepper
from realtime_mer.types import AlignedFace, Frame, Interval


@runtime_checkable
class FaceStage(Protocol):
    """Finds and aligns the face of a frame into ``out`` (crop_size x crop_size, uint8); None: no face."""

    def process(self, frame: Frame, out: np.ndarray) -> AlignedFace | None: ...

    def close(self) -> None: ...


@runtime_checkable
class SpotterStage(Stepper[list[Interval]], Flushing, Protocol):
    """An online spotter (``update`` / ``reset`` / ``flush``) and the live values the overlay plots."""

    @property
    def name(self) -> str: ...

    @property
    def signal(self) -> float: ...

    @property
    def threshold(self) -> float: ...

    @property
    def calibrating(self) -> bool: ...

    @property
    def blind(self) -> bool: ...


@runtime_checkable
class ClassifierStage(Protocol):
    """Classifies an onset/apex pair of aligned grayscale crops into probabilities keyed by ``classes``."""

    @property
    def name(self) -> str: ...

    @property
    def backend(self) -> str: ...

    @property
    def backend_reason(self) -> str: ...

    @property
    def classes(self) -> tuple[str, ...]: ...

    def classify(self, onset_crop: np.ndarray, apex_crop: np.ndarray) -> dict[str, float]: ...

    def close(self) -> None: ...


@runtime_checkable
class ClipClassifierStage(ClassifierStage, Protocol):
    """A classifier that can take a spotted interval's crops onset..offset (every live model does). With
    ``needs_clip`` the pipeline copies the whole interval out of the ring buffer, else the onset / apex pair."""

    @property
    def needs_clip(self) -> bool: ...

    def classify_clip(self, frames: np.ndarray, onset: int, apex: int, offset: int) -> dict[str, float]: ...


__all__ = ["ClassifierStage", "ClipClassifierStage", "EventSink", "FaceStage", "Source", "SpotterStage"]
