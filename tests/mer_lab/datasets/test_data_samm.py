"""SAMM loader: the table sits below a notes block."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.datasets.samm import load_samm
from realtime_mer.errors import DataError
from tests.helpers.data import write_frames, write_xlsx

HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration", "Type",
          "Action Units", "Notes", "Estimated Emotion"]


def make_samm(root: Path) -> Path:
    notes = [["SAMM micro-movement FACS codes"], ["Coder: ..."], [], ["Notes: frame numbers are file numbers"]]
    write_xlsx(root / "SAMM_Micro_FACS_Codes_v2.xlsx", {"FACS": [*notes, HEADER,
        ["006", "006_1_2", 1, 5562, 5588, 5605, 44, "Micro - 1/2", "4", "", "Anger"],
        [7, "007_3_1", 2, 100, -1, 104, 5, "Micro - 1/2", "12", "", "Happiness"],
        ["007", "007_5_1", 3, 200, 201, 203, 4, "Micro - 1/2", "1+2", "", "Other"],
    ]})
    base = root / "SAMM"
    write_frames(base / "006" / "006_1_2", [f"006_{n:05d}.jpg" for n in range(5560, 5610)])
    write_frames(base / "007" / "007_3_1", [f"007_{n:05d}.jpg" for n in range(100, 105)])
    return root


def test_header_below_notes_and_labels(tmp_path: Path) -> None:
    clips = load_samm(make_samm(tmp_path))
    assert [(c.subject, c.clip, c.label, c.emotion) for c in clips] == [
        ("006", "006_1_2", "negative", "anger"), ("007", "007_3_1", "positive", "happiness")]
    a, b = clips
    assert a.frames[0].name == "006_05562.jpg" and a.frames[-1].name == "006_05605.jpg"
    assert (a.onset, a.apex, a.offset, a.first_frame) == (0, 26, 43, 5562)
    assert (b.apex, b.apex_annotated) == (2, False)  # apex -1 -> middle


def test_missing_frame_and_sheet(tmp_path: Path) -> None:
    root = make_samm(tmp_path / "a")
    (root / "SAMM" / "006" / "006_1_2" / "006_05600.jpg").unlink()
    with pytest.raises(DataError, match=r"SAMM 006/006_1_2: frame 5600 is missing"):
        load_samm(root)
    (root / "SAMM_Micro_FACS_Codes_v2.xlsx").unlink()
    with pytest.raises(DataError, match="SAMM annotation file"):
        load_samm(root)
    write_xlsx(root / "SAMM_Micro_FACS_Codes_v2.xlsx", {"FACS": [["Subject", "Filename"], ["006", "006_1_2"]]})
    with pytest.raises(DataError, match="no header row with the columns"):
        load_samm(root)
