"""The runtime's stages satisfy the Protocols the pipeline is typed with (members present, by name)."""

from __future__ import annotations

import pytest

from realtime_mer.config import FaceConfig, SpotConfig
from realtime_mer.recognition.classifier import ApexFlowClassifier
from realtime_mer.spotting import SPOTTERS, make_spotter
from realtime_mer.stages import (
    ClassifierStage,
    ClipClassifierStage,
    ClipInput,
    FaceStage,
    IntensityWindow,
    ModelFile,
    SpotterStage,
)


@pytest.mark.parametrize("name", SPOTTERS)
def test_every_spotter_is_a_spotter_stage(name: str) -> None:
    sp = make_spotter(name, 200.0, SpotConfig(name=name))
    assert isinstance(sp, SpotterStage) and sp.name == name


def test_classifier_and_face_stage() -> None:
    clf = ApexFlowClassifier()
    assert isinstance(clf, ClassifierStage)
    clf.close()
    from realtime_mer.face.aligner import FaceAligner

    aligner = FaceAligner(FaceConfig())
    try:
        assert isinstance(aligner, FaceStage)
    finally:
        aligner.close()
    assert not isinstance(object(), FaceStage) and not isinstance(object(), ClassifierStage)


def test_the_classifier_capabilities_are_protocols_the_bundled_model_declares() -> None:
    clf = ApexFlowClassifier()
    try:
        assert isinstance(clf, ClipClassifierStage) and isinstance(clf, ClipInput) and not clf.needs_clip
        assert isinstance(clf, ModelFile) and len(clf.model_sha256) == 64 and clf.model_path is not None
        assert not isinstance(clf, IntensityWindow) and not clf.has_intensity and clf.last_intensity is None
    finally:
        clf.close()


def test_a_bare_classifier_has_none_of_the_capabilities() -> None:
    class Bare:
        name = backend = backend_reason = "bare"
        classes = ("a", "b")

        def classify(self, onset_crop, apex_crop):
            return {"a": 1.0, "b": 0.0}

        def close(self) -> None:
            pass

    b = Bare()
    assert isinstance(b, ClassifierStage)
    assert not isinstance(b, ClipInput) and not isinstance(b, IntensityWindow) and not isinstance(b, ModelFile)


def test_the_pipeline_reaches_no_stage_member_by_name() -> None:
    """The pipeline resolves optional capabilities once, through the Protocols (issue 25 §4): no getattr / hasattr."""
    import inspect

    import realtime_mer.app.pipeline as pipeline

    src = inspect.getsource(pipeline)
    assert "getattr(" not in src and "hasattr(" not in src and "type: ignore" not in src
