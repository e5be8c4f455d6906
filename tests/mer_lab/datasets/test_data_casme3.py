"""CAS(ME)^3 Part A loader: nested frame folders, names matched ignoring case."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.datasets.casme3 import load_casme3
from mer_lab.datasets.datasets import LOADERS
from realtime_mer.errors import DataError
from tests.helpers.data import write_frames, write_xlsx

HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]


def make_casme3(root: Path) -> Path:
    write_xlsx(root / "annotation" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", {"label": [HEADER,
        ["spNO.1", "a", 355, 360, 364, "4", 1, "disgust"],
        ["spNO.1", "a", 400, 401, 403, "12", 2, "happy"],
        ["spNO.2", "B", 10, 12, 15, "1+2", 3, "surprise"],
        ["spNO.2", "B", 30, 31, 33, "", 7, "others"],
    ]})
    base = root / "data" / "part_A"
    write_frames(base / "spNO.1" / "a" / "color", [f"{n}.jpg" for n in range(300, 420)])
    write_frames(base / "spNo.2" / "b" / "color", [f"{n}.jpg" for n in range(0, 40)])
    return root


def test_loads_part_a(tmp_path: Path) -> None:
    clips = load_casme3(make_casme3(tmp_path))
    assert [(c.subject, c.clip, c.label) for c in clips] == [
        ("spNO.1", "a_355", "negative"), ("spNO.1", "a_400", "positive"), ("spNO.2", "B_10", "surprise")]
    a = clips[0]
    assert a.frames[0].name == "355.jpg" and a.frames[0].parent.name == "color" and (a.apex, a.offset) == (5, 9)
    assert clips[2].frames[0].parent.parent.name == "b"
    assert LOADERS["casme3"](tmp_path)[1].clip == "a_400"


def test_missing_frame_and_unknown_dataset(tmp_path: Path) -> None:
    root = make_casme3(tmp_path)
    (root / "data" / "part_A" / "spNO.1" / "a" / "color" / "402.jpg").unlink()
    with pytest.raises(DataError, match=r"CAS\(ME\)\^3 spNO.1/a: frame 402 is missing"):
        load_casme3(root)
