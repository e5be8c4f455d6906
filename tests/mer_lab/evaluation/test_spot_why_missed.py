"""The spotting benchmark explains every miss, and refuses to report on tuning faces (issue 22)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer_lab.evaluation.spot_bench import Aligned
from mer_lab.evaluation.spot_faces import (
    FACES,
    LISTENING,
    REASONS,
    REPORTING,
    TUNING,
    Replay,
    check_reportable,
    group_files,
    save_aligned,
    score_variant,
    why_missed,
)
from realtime_mer.errors import DataError
from realtime_mer.types import Interval

N = 1000


def rep(intervals: list[Interval], blind: dict[str, tuple[int, int]] | None = None, peak_at: int | None = None) -> Replay:
    reason = np.zeros(N, np.int8)
    for name, (a, b) in (blind or {}).items():
        reason[a:b] = REASONS.index(name)
    signal = np.full(N, 1.0, np.float32)
    if peak_at is not None:
        signal[peak_at] = 9.0
    return Replay(intervals, reason, signal, np.full(N, 5.0, np.float32), lookahead=10, fps=200.0)


def micro(on: int, off: int) -> Interval:
    return Interval(on, (on + off) // 2, off, "micro")


def macro(on: int, off: int) -> Interval:
    return Interval(on, (on + off) // 2, off, "macro")


def test_every_miss_gets_its_reason() -> None:
    truth = [micro(100, 160), micro(300, 360), micro(500, 560), micro(700, 760), micro(850, 900), macro(10, 80)]
    preds = [
        micro(101, 159),  # finds the first: not a miss
        macro(298, 362),  # the second, typed macro
        micro(540, 600),  # the third, IoU 21/101 < 0.5
        micro(15, 75),  # the macro truth found as micro: typed other
    ]
    r = rep(preds, blind={"busy": (700, 775)}, peak_at=880)  # the fourth blind (busy); the fifth reached the threshold
    got = {(t.onset, t.kind): why for t, why in why_missed(truth, r)}
    assert got == {(300, "micro"): "typed_other", (500, "micro"): "iou_below_0.5", (700, "micro"): "busy",
                   (850, "micro"): "not_reported", (10, "macro"): "typed_other"}
    r2 = rep([], blind={"calibrating": (0, 200)})
    got2 = {t.onset: why for t, why in why_missed([micro(100, 160), micro(400, 460)], r2)}
    assert got2 == {100: "calibrating", 400: "below_threshold"}


def test_blind_reason_is_read_at_the_scoring_time() -> None:
    """A frame is scored ``lookahead`` frames after its update: blindness is looked up there."""
    t = micro(100, 160)
    assert why_missed([t], rep([], blind={"busy": (110, 171)}))[0][1] == "busy"
    assert why_missed([t], rep([], blind={"busy": (60, 100)}))[0][1] == "below_threshold"


def test_busy_runs_and_blind_share() -> None:
    r = rep([], blind={"busy": (100, 140), "no_face": (500, 520)})
    r.reason[600:610] = REASONS.index("busy")
    assert r.busy_runs_ms() == pytest.approx([200.0, 50.0])
    assert r.blind_share()["no_face"] == pytest.approx(0.02) and r.blind_share()["calibrating"] == 0.0


def test_reported_rows_refuse_tuning_faces(tmp_path: Path) -> None:
    check_reportable([{"face": "stock_beanie_man.mp4", "split": REPORTING}])
    with pytest.raises(DataError, match="tuning faces"):
        check_reportable([{"face": "stock_beanie_man.mp4", "split": REPORTING}, {"face": "single_face.mp4", "split": TUNING}])
    # through the scoring of a row: a cached clip of a tuning face cannot be reported
    f = tmp_path / "played" / "single_face_0_abc.npz"
    al = Aligned(np.zeros((30, 128, 128), np.uint8), np.zeros((30, 468, 2), np.float32), np.zeros(30, bool), 200.0)
    save_aligned(f, al, [], {"face": "single_face.mp4", "clip": 0, "split": TUNING, "person": "single_face_man"})
    with pytest.raises(DataError, match="tuning faces"):
        score_variant([f], "lagflow", reportable=True)
    assert score_variant([f], "lagflow")["clips"] == 1  # a tuning run is allowed (and labelled as such)


def test_listening_reporting_faces_were_never_used_before_and_rows_group_by_condition(tmp_path: Path) -> None:
    listening_reporting = {n for n, f in FACES.items() if f.condition == LISTENING and f.split == REPORTING}
    assert listening_reporting == {"stock_beanie_man.mp4", "stock_closeup_man.mp4"}
    for old in ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov"):  # roiflow's and gru's development faces
        assert FACES[old].split == TUNING
    groups = group_files({"native": [tmp_path / "stock_beanie_man_0_x.npz", tmp_path / "grid_lwbsza_1_y.npz"]})
    assert {g: [p.name for p in fs] for g, fs in groups.items()} == {"listening/native": ["stock_beanie_man_0_x.npz"], "talking/native": ["grid_lwbsza_1_y.npz"]}


def test_false_alarms_are_attributed_to_their_distractor() -> None:
    from realtime_mer.spotting.regions import REGIONS

    names = [r.name for r in REGIONS]
    r = rep([])
    r.region = np.full(N, names.index("chin"), np.int16)
    r.region[300:400] = names.index("brow_inner_l")
    r.blink = np.zeros(N, bool)
    r.blink[600:620] = True
    assert r.distractor(micro(100, 150)) == "lower_face"
    assert r.distractor(micro(320, 360)) == "upper_face"
    assert r.distractor(micro(560, 595)) == "blink"  # a blink within 50 ms (10 frames) after it
    assert r.distractor(micro(500, 540)) == "lower_face"
    r.region[700:] = -1
    assert r.distractor(micro(750, 780)) == "unknown"
