"""Scene planning: spacing, durations, distractors clear of movements, truth.csv."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from realtime_mer.errors import DataError
from realtime_mer.synth.aus import label_for_aus, parse_aus
from realtime_mer.synth.scene import SceneConfig, plan_scene
from realtime_mer.synth.truth import TRUTH_COLUMNS, read_truth_csv, write_truth_csv

FPS = 200.0


def test_movements_spaced_timed_and_labelled() -> None:
    cfg = SceneConfig()
    kinds = []
    for seed in range(8):
        sc = plan_scene(4000, FPS, seed, cfg)
        ms = sc.movements
        assert len(ms) >= 4
        for m in ms:
            dur = (m.offset - m.onset) / FPS * 1000
            kind = m.kind(FPS)
            kinds.append(kind)
            lo, hi = cfg.micro_ms if kind == "micro" else cfg.macro_ms
            assert lo - 5 <= dur <= hi + 5
            assert m.onset < m.apex < m.offset and 0 <= m.onset and m.offset < 4000
            assert label_for_aus(m.aus) == m.label
        for a, b in itertools.pairwise(ms):
            assert b.onset - a.offset >= cfg.min_gap_s * FPS
        busy = np.zeros(4000, bool)
        for m in ms:
            busy[m.onset : m.offset + 1] = True
        for ev in [*sc.blinks, *sc.jerks, *sc.flickers]:
            assert not busy[ev.onset : ev.offset + 1].any()
        assert sc.blinks and all(20 <= e.offset - e.onset <= 60 for e in sc.blinks)
    assert kinds.count("micro") > kinds.count("macro") > 0


def test_scene_is_deterministic_and_respects_face_presence() -> None:
    a, b = plan_scene(3000, FPS, 5), plan_scene(3000, FPS, 5)
    assert a.movements == b.movements and a.blinks == b.blinks and a.pose_at(1234) == b.pose_at(1234)
    assert plan_scene(3000, FPS, 6).movements != a.movements
    face_ok = np.zeros(3000, bool)
    face_ok[1500:] = True
    sc = plan_scene(3000, FPS, 5, face_ok=face_ok)
    assert sc.movements and all(m.onset >= 1500 for m in sc.movements)
    assert all(e.onset >= 1500 for e in [*sc.blinks, *sc.jerks, *sc.flickers])


def test_truth_csv_round_trip(tmp_path: Path) -> None:
    sc = plan_scene(2000, FPS, 1)
    rows = sc.truth("v0")
    path = write_truth_csv(tmp_path / "truth.csv", rows)
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(TRUTH_COLUMNS) == "video,onset,apex,offset,type,aus,label"
    assert len(lines) == len(rows) + 1
    back = read_truth_csv(path)
    assert back == rows
    for r in back:
        assert r.interval.kind in ("micro", "macro") and parse_aus(r.aus) and r.label == label_for_aus(parse_aus(r.aus))


HEADER = "video,onset,apex,offset,type,aus,label\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "v,5,3,9,micro,12,positive\n", r"t\.csv:2: frames onset 5, apex 3, offset 9 are not 0 <= onset < apex < offset"),
        (HEADER + "v,5,5,5,micro,12,positive\n", r"t\.csv:2: frames onset 5, apex 5, offset 5"),  # a truth has a rise and a fall
        (HEADER + "v,1,2,x,micro,12,positive\n", r"t\.csv:2: onset/apex/offset .* are not integers"),
        (HEADER + "v,1,2,3,nano,12,positive\n", r"t\.csv:2: type 'nano' is not micro or macro"),
        (HEADER + "v,1,2,3,ME,12,positive\n", r"type 'ME' is not micro or macro"),
        (HEADER + "v,1,2,3,micro,12,happy\n", r"label 'happy' is not one of negative, positive, surprise"),
        (HEADER + "v,1,2,3,micro\n", r"t\.csv:2: expected 7 fields"),
        ("video,onset,offset,type\nv,1,3,micro\n", r"has the columns video,onset,offset,type; write the columns video,onset,apex"),
        ("", r"has the columns none"),
    ],
)
def test_truth_csv_rejects_bad_rows_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "t.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=message) as err:
        read_truth_csv(p)
    assert "\n" not in str(err.value)


def test_truth_csv_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"truth file .*nope\.csv not found; pass a truth\.csv"):
        read_truth_csv(tmp_path / "nope.csv")
