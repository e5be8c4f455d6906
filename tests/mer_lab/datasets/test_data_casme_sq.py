"""CAS(ME)^2 loader: headerless code sheet + naming-rule sheets."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.datasets.casme_sq import load_casme_sq
from realtime_mer.errors import DataError
from tests.helpers.data import write_frames, write_xlsx


def make_casme_sq(root: Path) -> Path:
    write_xlsx(root / "CAS(ME)^2code_final.xlsx", {
        "CASFEcode_final": [
            [1, "disgust1_1", 3, 5, 9, "4", "negative", "micro-expression", "disgust"],
            [1, "disgust1_2", 20, 24, 0, "4", "negative", "micro-expression", "disgust"],  # offset not coded
            [2, "happy1_1", 2, 3, 6, "12", "positive", "micro-expression", "happy"],
            [2, "happy1_2", 10, 30, 60, "12", "positive", "macro-expression", "happy"],
            [1, "disgust1_3", 40, 41, 42, "4", "others", "micro-expression", ""],
        ],
        "naming rule1": [[15, "casme_015", 1], [16, "casme_016", 2]],
        "naming rule2": [["0101", "disgust1"], ["0502", "happy1"]],
    })
    raw = root / "rawpic"
    write_frames(raw / "s15" / "15_0101disgustingteeth", [f"img{n}.jpg" for n in range(1, 50)])
    write_frames(raw / "s16" / "16_0502funnyerrors", [f"img{n}.jpg" for n in range(1, 8)])
    return root


def test_micro_clips_via_naming_rules(tmp_path: Path) -> None:
    clips = load_casme_sq(make_casme_sq(tmp_path))
    assert [(c.subject, c.clip, c.label) for c in clips] == [
        ("s15", "disgust1_1", "negative"), ("s15", "disgust1_2", "negative"), ("s16", "happy1_1", "positive")]
    a, b, _ = clips
    assert a.frames[0].name == "img3.jpg" and (a.apex, a.offset, a.fps) == (2, 6, 30.0)
    assert b.frames[-1].name == "img28.jpg" and b.apex == 4  # offset 0 -> apex + (apex - onset)


def test_macro_kind_and_missing_folder(tmp_path: Path) -> None:
    root = make_casme_sq(tmp_path)
    with pytest.raises(DataError, match=r"s16/happy1_2: frame 10 is missing"):
        load_casme_sq(root, kinds=("micro", "macro"))
    write_xlsx(root / "CAS(ME)^2code_final.xlsx", {
        "CASFEcode_final": [[3, "anger1_1", 1, 2, 3, "", "negative", "micro-expression", ""]],
        "naming rule1": [[17, "casme_017", 3]], "naming rule2": [["0401", "anger1"]]})
    with pytest.raises(DataError, match=r"s17/anger1_1: no folder .*17_0401"):
        load_casme_sq(root)
