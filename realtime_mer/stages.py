"""The stage interfaces the pipeline wires, as ``typing.Protocol``s (structural: a test fake or a new
implementation only needs the members, no base class). mypy checks the pipeline against them (strictly:
``pyproject.toml``, ``tests/test_typecheck.py``).

- source: ``capture.Source`` (an ABC: the grabber thread drives its ``open`` / ``read`` / ``close``);
- face stage: ``FaceStage`` (``face.aligner.FaceAligner``: one face), or ``MultiFaceStage`` (``face.multi.MultiFaceAligner``:
  ``--max-faces N``); the pipeline drives a ``FaceStage`` through ``OneFace``;
- spotter: ``SpotterStage`` (defined once, in ``spotting.base``; every ``Spotter`` implements it);
- classifier: ``ClassifierStage`` (what every classifier has), and its optional capabilities as small Protocols
  that the pipeline checks once, when it is set up: ``ClipInput`` (takes a spotted interval's crops
  onset..offset), ``IntensityWindow`` (a continuous intensity over the newest crops), ``ModelFile`` (the model
  file and its hash, carried by events and the provenance);
- sinks: ``events.sinks.EventSink`` (JSONL, CSV); ``events.frames.FrameSink`` (one row per frame) and its
  ``HoldsForIntensity`` capability (here).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from realtime_mer.capture import Source
from realtime_mer.events.sinks import EventSink
from realtime_mer.recognition.clip_classifier import Intensity
from realtime_mer.spotting.base import SpotterStage
from realtime_mer.types import AlignedFace, Frame, Image


@runtime_checkable
class FaceStage(Protocol):
    """Finds and aligns the face of a frame into ``out`` (crop_size x crop_size, uint8); None: no face."""

    def process(self, frame: Frame, out: Image) -> AlignedFace | None: ...

    def close(self) -> None: ...


@runtime_checkable
class MultiFaceStage(Protocol):
    """Finds and aligns up to ``max_faces`` faces of a frame, slot ``k``'s crop into ``outs[k]``; each ``AlignedFace``
    carries its ``face_id`` (stable over the run) and ``slot`` (``face.multi.MultiFaceAligner``)."""

    @property
    def max_faces(self) -> int: ...

    def process_all(self, frame: Frame, outs: Sequence[Image]) -> list[AlignedFace]: ...

    def close(self) -> None: ...


class OneFace:
    """A ``FaceStage`` as a ``MultiFaceStage`` of one slot: its face is face_id 0 (``--max-faces 1``)."""

    max_faces = 1

    def __init__(self, stage: FaceStage) -> None:
        self.stage = stage

    def process_all(self, frame: Frame, outs: Sequence[Image]) -> list[AlignedFace]:
        face = self.stage.process(frame, outs[0])
        return [] if face is None else [face]

    def close(self) -> None:
        self.stage.close()


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

    def classify(self, onset_crop: Image, apex_crop: Image) -> dict[str, float]: ...

    def close(self) -> None: ...


@runtime_checkable
class HoldsForIntensity(Protocol):
    """A per-frame sink (``events.frames.FrameSink``) whose rows wait for the model's continuous intensity
    (``FramesWriter``): ``hold_for_intensity(n)`` keeps the newest ``n`` rows back until their values arrive."""

    def hold_for_intensity(self, frames: int) -> None: ...


@runtime_checkable
class ClipInput(Protocol):
    """A classifier that takes a spotted interval's crops onset..offset (every live model can). With ``needs_clip`` the
    pipeline copies the whole interval out of the ring buffer, else the onset / apex pair (``classify``).
    ``last_intensity``: the per-step intensity of the last clip (None for a model without an intensity head)."""

    @property
    def needs_clip(self) -> bool: ...

    @property
    def last_intensity(self) -> Intensity | None: ...

    def classify_clip(self, frames: Image, onset: int, apex: int, offset: int) -> dict[str, float]: ...


@runtime_checkable
class ClipClassifierStage(ClassifierStage, ClipInput, Protocol):
    """A classifier with the clip form (``recognition.clip_classifier.ClipClassifier``, ``ApexFlowClassifier``)."""


@runtime_checkable
class IntensityWindow(Protocol):
    """A model with an intensity head (``has_intensity``): its intensity over a window of the newest crops."""

    @property
    def has_intensity(self) -> bool: ...

    def window_intensity(self, frames: Image) -> Intensity: ...


@runtime_checkable
class ModelFile(Protocol):
    """The model file a classifier runs (None: an in-memory model) and its SHA-256 (events carry it)."""

    @property
    def model_path(self) -> Path | None: ...

    @property
    def model_sha256(self) -> str: ...


__all__ = ["ClassifierStage", "ClipClassifierStage", "ClipInput", "EventSink", "FaceStage", "HoldsForIntensity",
           "IntensityWindow", "ModelFile", "MultiFaceStage", "OneFace", "Source", "SpotterStage"]
