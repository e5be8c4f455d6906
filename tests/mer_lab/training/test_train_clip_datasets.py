"""The training runner on licensed clip datasets (CASME II / SAMM / SMIC-HS), on tiny fake trees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mer_lab.training.run import load_dataset, model_data
from realtime_mer.errors import DataError
from tests.helpers.tools import load_tool
from tests.mer_lab.datasets.test_data_casme2 import make_casme2
from tests.mer_lab.datasets.test_data_samm import make_samm
from tests.mer_lab.datasets.test_data_smic import make_smic

TOOLS = Path(__file__).resolve().parents[3] / "tools"


def test_casme2_trains_a_clip_model_subject_disjointly(tmp_path: Path) -> None:
    train = load_tool("train")

    root = make_casme2(tmp_path / "casme2")
    out = tmp_path / "run"
    rc = train.main(["--dataset", "casme2", "--data-root", str(root), "--model", "learnet", "--protocol", "loso",
                     "--no-align", "--out", str(out), "--set", "epochs=1"])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["n"] == 3 and [f["test_subjects"] for f in m["per_fold"]] == [["sub01"], ["sub02"]]
    assert set(m["per_dataset"]) == {"casme2"} and m["data"]["subjects"] == {"sub01": 2, "sub02": 1}
    assert any((out / "cache").glob("casme2-crops-*.npz"))  # aligned / resized crops cached for the next model


@pytest.mark.parametrize(("name", "make"), [("samm", make_samm), ("smic", make_smic)])
def test_samm_and_smic_become_model_inputs(tmp_path: Path, name: str, make) -> None:
    data = load_dataset(name, make(tmp_path / name), tmp_path / "cache", align=False)
    x, aux = model_data(data, "tcgru")
    assert len(x) == len(data) > 0 and x.shape[1:] == (8, 4, 64, 64) and aux is not None
    assert len(set(data.subjects)) >= 1 and set(data.datasets) == {name}


def test_alignment_without_a_face_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no face found.*--no-align"):
        load_dataset("casme2", make_casme2(tmp_path / "c"), tmp_path / "cache", align=True)


def test_generator_folder_is_a_synthetic_clips_root(tmp_path: Path) -> None:
    """A tools/make_synthetic.py-style folder (MJPEG .avi + truth.csv) is cut once, cached, and gives model inputs."""
    import cv2
    import numpy as np

    from mer_lab.training.clip_inputs import load_synthetic

    face = cv2.imread(str(Path(__file__).resolve().parents[3] / "realtime_mer" / "assets" / "astronaut.png"))
    assert face is not None
    h, w = face.shape[:2]
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:h, :w] = face[:480, :640]
    folder = tmp_path / "set"
    folder.mkdir()
    writer = cv2.VideoWriter(str(folder / "000_astronaut.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (640, 480))
    for _ in range(40):
        writer.write(frame)
    writer.release()
    (folder / "truth.csv").write_text("video,onset,apex,offset,type,aus,label\n000_astronaut,28,31,35,micro,12,positive\n")
    data = load_synthetic(folder)
    assert len(data) == 1 and data.subjects == ["astronaut"] and data.cache_dir == folder / ".clip_cache"
    assert (folder / ".clip_cache" / "clips.npz").is_file() and data.clips.clip(0).shape == (8, 128, 128)
    x, _ = model_data(data, "c3d")
    assert x.shape == (1, 1, 18, 64, 64)
