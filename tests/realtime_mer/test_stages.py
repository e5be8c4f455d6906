"""The runtime's stages satisfy the Protocols the pipeline is typed with (members present, by name)."""

from __future__ import annotations

import pytest

from realtime_mer.config import FaceConfig, SpotConfig
from realtime_mer.recognition.classifier import ApexFlowClassifier
from realtime_mer.spotting import SPOTTERS, make_spotter
from realtime_mer.stages import ClassifierStage, FaceStage, SpotterStage


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
