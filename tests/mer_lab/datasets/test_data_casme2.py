"""CASME II loader on a tiny fake tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.datasets.casme2 import load_casme2
from realtime_mer.errors import DataError
from tests.helpers.data import write_frames, write_xlsx

HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]


def make_casme2(root: Path, rows: list[list[object]] | None = None) -> Path:
    write_xlsx(root / "CASME2-coding-20140508.xlsx", {"Sheet1": [HEADER, *(rows or [
        ["01", "EP02_01f", 46, 59, 66, "12", "happiness"],
        [1, "EP03_02", 10, "/", 14, "4", "disgust"],
        ["02", "EP01_11f", 5, 6, 8, "1+2", "surprise"],
        ["02", "EP04_02", 1, 2, 3, "4", "others"],  # excluded from the 3 classes
    ])]})
    frames = root / "CASME2_RAW_selected"
    write_frames(frames / "sub01" / "EP02_01f", [f"img{n}.jpg" for n in range(40, 70)])
    write_frames(frames / "sub01" / "EP03_02", [f"img{n}.jpg" for n in range(8, 16)])
    write_frames(frames / "sub02" / "EP01_11f", [f"img{n}.jpg" for n in range(5, 9)])
    write_frames(frames / "sub02" / "EP04_02", [f"img{n}.jpg" for n in range(1, 4)])
    return root


def test_loads_clips_with_megc_labels(tmp_path: Path) -> None:
    clips = load_casme2(make_casme2(tmp_path))
    assert [(c.subject, c.clip, c.label) for c in clips] == [
        ("sub01", "EP02_01f", "positive"), ("sub01", "EP03_02", "negative"), ("sub02", "EP01_11f", "surprise")]
    a, b, c = clips
    assert a.dataset == "casme2" and a.fps == 200.0 and a.emotion == "happiness"
    assert len(a.frames) == 66 - 46 + 1 and a.frames[0].name == "img46.jpg" and a.frames[-1].name == "img66.jpg"
    assert (a.onset, a.apex, a.offset, a.first_frame, a.apex_annotated) == (0, 13, 20, 46, True)
    assert (b.apex, b.offset, b.apex_annotated) == (2, 4, False)  # "/" apex -> middle frame
    assert c.read_gray().shape == (4, 8, 8) and c.label_index == 2


def test_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a directory"):
        load_casme2(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"CASME2-coding-\*\.xlsx.*not found"):
        load_casme2(tmp_path / "empty")
    root = make_casme2(tmp_path / "gap")
    (root / "CASME2_RAW_selected" / "sub01" / "EP02_01f" / "img50.jpg").unlink()
    with pytest.raises(DataError, match=r"sub01/EP02_01f: frame 50 is missing") as err:
        load_casme2(root)
    assert "\n" not in str(err.value)
    root = make_casme2(tmp_path / "noclip", [["03", "EP09_09", 1, 2, 3, "", "happiness"]])
    with pytest.raises(DataError, match=r"sub03/EP09_09: folder .* not found"):
        load_casme2(root)
