"""MEGC spotting evaluation on hand-worked fixtures (inclusive frames, IoU >= 0.5, pooled counts)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mer_lab.evaluation.spotting import (
    Counts,
    count_found,
    evaluate,
    evaluate_dirs,
    iou,
    load_truth,
    write_report,
)
from realtime_mer.errors import DataError
from realtime_mer.types import Interval

TOOL = Path(__file__).resolve().parents[3] / "tools" / "evaluate_spotting.py"


def mi(a: int, b: int) -> Interval:
    return Interval(a, a, b, "micro")


def ma(a: int, b: int) -> Interval:
    return Interval(a, a, b, "macro")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((10, 20), (10, 20), 1.0),  # exact match
        ((0, 9), (0, 4), 0.5),  # 5 of 10 frames: exactly 0.5 only with inclusive counting
        ((0, 9), (0, 3), 0.4),
        ((0, 9), (9, 18), 1 / 19),  # sharing one frame
        ((0, 9), (10, 19), 0.0),  # touching, no common frame
        ((0, 9), (3, 12), 7 / 13),
        ((5, 5), (5, 5), 1.0),  # one-frame intervals are one frame long
        ((5, 4), (4, 5), 0.0),  # an empty (reversed) interval
    ],
)
def test_iou_inclusive(a: tuple[int, int], b: tuple[int, int], expected: float) -> None:
    assert iou(a, b) == pytest.approx(expected)
    assert iou(b, a) == pytest.approx(expected)


def test_iou_exactly_half_is_a_hit() -> None:
    c = evaluate({"v": [mi(0, 9)]}, {"v": [mi(0, 4)]}).counts["micro"]
    assert (c.tp, c.fp, c.fn) == (1, 0, 0)
    c = evaluate({"v": [mi(0, 9)]}, {"v": [mi(0, 3)]}).counts["micro"]
    assert (c.tp, c.fp, c.fn) == (0, 1, 1)


def test_exact_match_scores_one() -> None:
    rep = evaluate({"v": [mi(10, 20), ma(100, 400)]}, {"v": [mi(10, 20), ma(100, 400)]})
    for k in ("micro", "macro", "overall"):
        c = rep.counts[k]
        assert (c.precision, c.recall, c.f1) == (1.0, 1.0, 1.0)
    assert rep.counts["overall"].tp == 2


def test_touching_truths_each_matched_by_their_own_prediction() -> None:
    c = evaluate({"v": [mi(0, 9), mi(10, 19)]}, {"v": [mi(0, 9), mi(10, 19)]}).counts["micro"]
    assert (c.tp, c.fp, c.fn) == (2, 0, 0)
    c = evaluate({"v": [mi(0, 9)]}, {"v": [mi(10, 19)]}).counts["micro"]  # touching but disjoint
    assert (c.tp, c.fp, c.fn) == (0, 1, 1)


def test_one_prediction_over_two_truths() -> None:
    # spanning two separate truths: IoU 10/22 with each, below 0.5: nothing found
    c = evaluate({"v": [mi(0, 9), mi(12, 21)]}, {"v": [mi(0, 21)]}).counts["micro"]
    assert (c.tp, c.fp, c.fn) == (0, 1, 2)
    # over two overlapping truths with IoU >= 0.5 each: it finds one of them, not both
    c = evaluate({"v": [mi(0, 9), mi(1, 10)]}, {"v": [mi(0, 10)]}).counts["micro"]
    assert (c.tp, c.fp, c.fn) == (1, 0, 1)
    assert c.precision == 1.0 and c.recall == 0.5


def test_two_predictions_on_one_truth_one_tp_one_fp() -> None:
    c = evaluate({"v": [mi(0, 9)]}, {"v": [mi(0, 9), mi(1, 9)]}).counts["micro"]
    assert (c.tp, c.fp, c.fn) == (1, 1, 0)
    assert c.precision == 0.5 and c.recall == 1.0 and c.f1 == pytest.approx(2 / 3)


def test_matching_is_maximal_not_greedy() -> None:
    # P1 [2, 11] hits both T1 [0, 9] and T2 [4, 13]; P2 [0, 7] hits only T1: both truths are found
    assert count_found([mi(0, 9), mi(4, 13)], [mi(2, 11), mi(0, 7)]) == 2


def test_empty_predictions_and_empty_truth() -> None:
    c = evaluate({"v": [mi(0, 9), ma(20, 200)]}, {"v": []}).counts["overall"]
    assert (c.tp, c.fp, c.fn, c.precision, c.recall, c.f1) == (0, 0, 2, 0.0, 0.0, 0.0)
    c = evaluate({}, {}).counts["overall"]
    assert (c.n_truth, c.n_pred, c.f1) == (0, 0, 0.0)


def test_per_type_split_a_prediction_competes_only_for_its_own_type() -> None:
    truth = {"v": [mi(0, 9), ma(100, 300)]}
    crossed = evaluate(truth, {"v": [ma(0, 9), mi(100, 300)]}).counts
    assert (crossed["micro"].tp, crossed["micro"].fp, crossed["micro"].fn) == (0, 1, 1)
    assert (crossed["macro"].tp, crossed["macro"].fp, crossed["macro"].fn) == (0, 1, 1)
    right = evaluate(truth, {"v": [mi(0, 9), ma(110, 300)]}).counts
    assert right["micro"].tp == 1 and right["macro"].tp == 1 and right["overall"].f1 == 1.0


def test_counts_pool_over_videos() -> None:
    truth = {"a": [mi(0, 9)], "b": [mi(0, 9), mi(50, 59)]}
    preds = {"a": [mi(0, 9)], "b": [mi(30, 39), mi(50, 59)]}
    rep = evaluate(truth, preds)
    c = rep.counts["micro"]
    assert (c.n_truth, c.n_pred, c.tp, c.fp, c.fn) == (3, 3, 2, 1, 1)
    assert c.f1 == pytest.approx(2 / 3)
    assert rep.per_video["b"]["micro"].tp == 1
    assert isinstance(rep.counts["overall"], Counts) and rep.counts["overall"].tp == 2


def write_case(tmp_path: Path) -> tuple[Path, Path]:
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "video,onset,apex,offset,type,aus,label\n"
        "clip_a.avi,10,15,20,micro,12,positive\n"
        "clip_a.avi,100,200,400,macro,6+12,positive\n"
        "clip_b.avi,30,35,40,micro,4,negative\n"
    )
    events = tmp_path / "events"
    events.mkdir()
    lines = [
        {"type": "micro", "onset_frame": 11, "apex_frame": 15, "offset_frame": 20, "label": "positive"},
        {"type": "micro", "onset_frame": 300, "apex_frame": 305, "offset_frame": 310},
        {"type": "macro", "onset_frame": 120, "apex_frame": 200, "offset_frame": 400},
    ]
    (events / "clip_a.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    (events / "clip_z.jsonl").write_text(json.dumps({"type": "micro", "onset_frame": 1, "apex_frame": 2, "offset_frame": 3}) + "\n")
    return truth, events


def test_events_folder_missing_file_is_all_missed_and_unknown_video_all_false(tmp_path: Path) -> None:
    truth, events = write_case(tmp_path)
    rep = evaluate_dirs(truth, events)
    assert rep.missing_events == ["clip_b"] and rep.extra_videos == ["clip_z"]
    mic, mac = rep.counts["micro"], rep.counts["macro"]
    assert (mic.n_truth, mic.n_pred, mic.tp, mic.fp, mic.fn) == (2, 3, 1, 2, 1)
    assert (mac.tp, mac.fp, mac.fn) == (1, 0, 0)
    assert rep.per_video["clip_b"]["micro"].fn == 1


def test_tool_prints_table_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth, events = write_case(tmp_path)
    spec = importlib.util.spec_from_file_location("evaluate_spotting", TOOL)
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / "res" / "metrics.json"
    assert tool.main(["--truth", str(truth), "--events-dir", str(events), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "micro" in text and "macro" in text and "overall" in text and "clip_b" in text
    data = json.loads(out.read_text())
    assert data["micro"]["tp"] == 1 and data["overall"]["truth"] == 3 and data["iou_threshold"] == 0.5
    assert data["overall"]["f1"] == pytest.approx(2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3), abs=1e-6)
    assert tool.main(["--truth", str(tmp_path / "nope.csv"), "--events-dir", str(events)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evaluate_spotting.py: error: truth file") and err.count("\n") == 1


def test_malformed_inputs_raise_data_errors(tmp_path: Path) -> None:
    bad = tmp_path / "t.csv"
    bad.write_text("video,start,end\nv,1,2\n")
    with pytest.raises(DataError, match="has the columns video,start,end"):
        load_truth(bad)
    truth, events = write_case(tmp_path)
    (events / "clip_b.jsonl").write_text('{"type": "micro", "onset_frame": 1}\n')
    with pytest.raises(DataError, match=r"clip_b\.jsonl:1"):
        evaluate_dirs(truth, events)


def test_write_report_writes_json_or_fails_in_one_line(tmp_path: Path) -> None:
    from realtime_mer.errors import OutputError

    out = write_report(tmp_path / "sub" / "report.json", {"micro": {"f1": 0.5}})
    assert json.loads(out.read_text()) == {"micro": {"f1": 0.5}}
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match=r"cannot write .*choose a writable --out path"):
        write_report(blocker / "report.json", {})
