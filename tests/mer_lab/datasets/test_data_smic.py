"""SMIC-HS loader: class from the folder, onset/offset = first/last frame, apex = middle."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.datasets.smic import load_smic
from realtime_mer.errors import DataError
from tests.helpers.data import write_frames


def make_smic(root: Path) -> Path:
    hs = root / "SMIC_all_raw" / "HS"
    write_frames(hs / "s1" / "micro" / "negative" / "s1_ne_01", [f"image{n:06d}.bmp" for n in range(46047, 46057)])
    write_frames(hs / "s1" / "micro" / "surprise" / "s1_sur_01", [f"image{n:06d}.bmp" for n in range(100, 105)])
    write_frames(hs / "s2" / "micro" / "positive" / "s2_po_01", [f"image{n:06d}.bmp" for n in range(7, 10)])
    (hs / "s2" / "non_micro").mkdir(parents=True)
    return root


def test_loads_hs_clips(tmp_path: Path) -> None:
    clips = load_smic(make_smic(tmp_path))
    assert [(c.subject, c.clip, c.label) for c in clips] == [
        ("s1", "s1_ne_01", "negative"), ("s1", "s1_sur_01", "surprise"), ("s2", "s2_po_01", "positive")]
    a = clips[0]
    assert (a.onset, a.apex, a.offset, a.apex_annotated, a.fps, a.first_frame) == (0, 4, 9, False, 100.0, 46047)
    assert [p.name for p in a.frames][:2] == ["image046047.bmp", "image046048.bmp"]
    assert load_smic(tmp_path / "SMIC_all_raw" / "HS")[2].clip == "s2_po_01"  # the HS folder itself works too


def test_gap_and_missing_hs(tmp_path: Path) -> None:
    root = make_smic(tmp_path / "a")
    (root / "SMIC_all_raw" / "HS" / "s1" / "micro" / "negative" / "s1_ne_01" / "image046050.bmp").unlink()
    with pytest.raises(DataError, match=r"SMIC-HS s1/s1_ne_01: frame 46050 is missing"):
        load_smic(root)
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match="no HS folder"):
        load_smic(tmp_path / "b")
