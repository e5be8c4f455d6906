"""The one shared-data path helper honours REALTIME_MER_SHARED_DATA, and the defaults that need the path use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.paths import REPO, SHARED_DATA_ENV, shared_data


def test_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    assert shared_data() == tmp_path
    assert shared_data("real_faces", "a.mp4") == tmp_path / "real_faces" / "a.mp4"
    monkeypatch.delenv(SHARED_DATA_ENV)
    assert shared_data("x") == REPO.parent / "shared" / "data" / "x"


def test_training_default_data_root_follows_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mer_lab.training.run import RecognitionTrainConfig

    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    assert RecognitionTrainConfig().data_root == tmp_path / "megc2019_composite_flow"
