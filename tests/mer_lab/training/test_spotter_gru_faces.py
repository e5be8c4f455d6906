"""Training the ``gru`` spotter on played real backdrops of the TUNING faces only: the clips carry
the injected movements' profile as target, validation is split off by person, and nothing from the
reporting faces can enter. Needs ``../shared/data/real_faces/single_face.mp4`` (a tuning face)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer_lab.evaluation.spot_faces import FACES, REPORTING, TUNING, FacesConfig
from mer_lab.training import spotter_gru as gt
from realtime_mer.errors import DataError
from realtime_mer.spotting.gru import N_FEATURES


@pytest.fixture(scope="module")
def one_face_data(real_faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding only single_face.mp4 (a tuning face), so one small clip is built."""
    src = real_faces / "single_face.mp4"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    assert FACES[src.name][2] == TUNING
    root = tmp_path_factory.mktemp("data")
    (root / "real_faces").mkdir()
    (root / "real_faces" / src.name).symlink_to(src)
    return root


def small(**kw: object) -> FacesConfig:
    return FacesConfig(**({"faces": TUNING, "clips_per_face": 1, "listening_clips": 1, "seconds": 2.6, "width": 320, "height": 240, "seed": gt.MIN_SEED, "variants": ("played",)} | kw))  # type: ignore[arg-type]


def test_played_tuning_clips_carry_the_injected_profile(one_face_data: Path, tmp_path: Path) -> None:
    clips = gt.faces_training_clips(one_face_data, tmp_path, small())
    assert len(clips) == 1
    c = clips[0]
    assert c["person"] == "single_face_man" and c["variant"] == "played" and c["split"] == TUNING
    assert c["x"].shape == (520, N_FEATURES) and np.isfinite(c["x"][c["present"]]).all()
    assert len(c["truth"]) >= 1
    for onset, apex, offset, _ in c["truth"]:  # the target is the movement's onset -> apex -> offset profile
        assert c["y"][onset] == 0.0 and c["y"][min(offset, 519)] == 0.0 and c["y"][apex] == pytest.approx(1.0) and 0.0 < c["y"][(onset + apex) // 2] < 1.0
    inside = np.zeros(520, bool)
    for onset, _, offset, _ in c["truth"]:
        inside[onset : offset + 1] = True
    assert (c["y"][~inside] == 0.0).all()
    # features are cached beside the clip: a second call reads them back
    assert gt.faces_training_clips(one_face_data, tmp_path, small())[0]["x"].tobytes() == c["x"].tobytes()


def test_reporting_faces_and_benchmark_seeds_are_refused(one_face_data: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="leak"):
        gt.faces_training_clips(one_face_data, tmp_path, small(faces=REPORTING))
    with pytest.raises(DataError, match="seed"):
        gt.faces_training_clips(one_face_data, tmp_path, small(seed=0))


def test_validation_is_split_off_by_person() -> None:
    def clip(person: str, variant: str) -> dict[str, str]:
        return {"person": person, "variant": variant}

    clips = [clip(p, v) for p in ("a", "b", "c") for v in ("played", "jpeg")]
    trn, val = gt.split_by_person(clips, {"b"})  # type: ignore[arg-type]
    assert {c["person"] for c in trn} == {"a", "c"} and len(trn) == 4
    assert val == [clip("b", "played")]  # the validation person's other variants are in neither set
    with pytest.raises(DataError, match="not among"):
        gt.split_by_person(clips, {"z"})  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no training"):
        gt.split_by_person(clips, {"a", "b", "c"})  # type: ignore[arg-type]
