"""``--help`` names the spotters, the models and every default; ``--demo`` says how many injected movements it found."""

from __future__ import annotations

import json
import re
from pathlib import Path

from realtime_mer.app.cli import build_parser, truth_report
from realtime_mer.capture.demo import DemoSource
from realtime_mer.recognition.contracts import available_contracts
from realtime_mer.spotting import SPOTTERS
from realtime_mer.spotting.match import found_by_type
from realtime_mer.synth.truth import TruthRow
from realtime_mer.types import Event, Interval
from tests.realtime_mer.app.cli.helpers import cli

SOURCES = ("--demo", "--camera", "--video", "--frames")  # exclusive; none given means --demo


def test_help_names_spotters_models_and_every_default() -> None:
    p = build_parser()
    text = " ".join(p.format_help().split())
    for name in (*SPOTTERS, *available_contracts()):
        assert name in text
    for a in p._actions:
        if a.dest in ("help", "version") or any(o in SOURCES for o in a.option_strings):
            continue
        assert a.help and "default" in a.help, f"{a.option_strings} does not name its default"


def _event(onset: int, offset: int, kind: str = "micro") -> Event:
    return Event(kind, onset, (onset + offset) // 2, offset, onset / 200, 0.0, offset / 200, 0.0, "", "positive")  # type: ignore[arg-type]


def test_truth_report_counts_megc_matches() -> None:
    truth = [TruthRow("demo", Interval(100, 130, 160, "micro"), "12", "positive"),
             TruthRow("demo", Interval(400, 420, 440, "micro"), "4", "negative"),
             TruthRow("demo", Interval(800, 900, 1000, "macro"), "4", "negative")]
    events = [_event(105, 158), _event(90, 200, "micro"), _event(430, 600), _event(800, 1000)]  # one per truth at most
    assert found_by_type([t.interval for t in truth], [e.interval() for e in events]) == 1
    report = truth_report(truth, events)
    assert report.startswith("found 1 of the 3 injected movements")
    assert report.endswith("1 of them also with the injected label; 3 false alarms (events matching no injected movement)")
    events[0].label = events[1].label = "negative"  # both events that could match the positive truth: the wrong label
    assert "found 1 of the 3 injected movements (an event of the same type with IoU >= 0.5, as MEGC counts), 0 of them " \
           "also with the injected label; 3 false alarms" in truth_report(truth, events)


def test_demo_prints_how_many_injected_movements_it_found(tmp_path: Path) -> None:
    ev = tmp_path / "e.jsonl"
    proc = cli("--demo", "--demo-seconds", "5", "--no-ui", "--events", str(ev))
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"found (\d+) of the (\d+) injected movements", proc.stderr)
    assert m, proc.stderr
    truth = DemoSource(seconds=5.0, seed=0).truth
    events = [json.loads(line) for line in ev.read_text().splitlines()]
    preds = [Interval(d["onset_frame"], d["apex_frame"], d["offset_frame"], d["type"]) for d in events]
    assert int(m.group(2)) == len(truth) > 0
    assert int(m.group(1)) == found_by_type([t.interval for t in truth], preds)
    # issue 23: how many were also labelled as injected, and the false alarms by that name
    m2 = re.search(r"counts\), (\d+) of them also with the injected label; (\d+) false alarms?", proc.stderr)
    assert m2, proc.stderr
    right = sum(found_by_type([t.interval for t in truth if t.label == lab],
                              [p for p, d in zip(preds, events, strict=True) if d["label"] == lab]) for lab in {t.label for t in truth})
    assert int(m2.group(1)) == right and int(m2.group(2)) == len(events) - int(m.group(1))
    # the start-up line fits an 80-column terminal
    banner = proc.stderr.split("realtime-mer run")[0].rstrip().splitlines()
    assert banner[0].startswith("realtime-mer: demo · model apexflow") and all(len(line) <= 80 for line in banner)
    assert "backend" in " ".join(banner) and "spotter hybrid" in " ".join(banner)
