"""BIDS export: events as a BIDS ``*_events.tsv`` with its ``*_events.json`` sidecar describing every column.

``onset`` and ``duration`` are in seconds from the first frame of the recording (BIDS: relative to the
start of the data file); ``trial_type`` is the event type and label joined, e.g. ``micro_negative``;
``sample`` is the onset frame. The other columns (type, label, apex, spotting score, one probability
per class, face_id, model) are described in the JSON, with the levels of the categorical ones. Missing
values are ``n/a``, as BIDS asks.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from realtime_mer.errors import OutputError, fail
from realtime_mer.events.sidecar import write_text_atomic
from realtime_mer.events.table import classes_of, prob_column
from realtime_mer.types import CLASSES, MICRO_MAX_MS, Event

NA = "n/a"


def trial_type(e: Event) -> str:
    """``<type>_<label>``, e.g. ``micro_positive``."""
    return f"{e.type}_{e.label}"


def bids_json_path(tsv: Path) -> Path:
    """``sub-01_task-x_events.tsv`` -> ``sub-01_task-x_events.json``."""
    return Path(tsv).with_suffix(".json")


def check_bids_path(path: Path) -> None:
    """A BIDS events file name ends in ``events.tsv`` (``sub-01_task-rest_events.tsv``)."""
    name = Path(path).name
    if not name.endswith("events.tsv"):
        raise fail(OutputError, f"--bids {path}: a BIDS events file is named *_events.tsv",
                   "pass e.g. --bids sub-01_task-rest_events.tsv")


def columns(classes: Sequence[str]) -> tuple[str, ...]:
    return ("onset", "duration", "trial_type", "sample", "type", "label", "apex", "spot_score",
            *(prob_column(c) for c in classes), "face_id", "model")


def rows(events: Sequence[Event], classes: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for e in sorted(events, key=lambda e: (e.onset_s, e.offset_s)):
        r: dict[str, Any] = {
            "onset": round(e.onset_s, 6), "duration": round(e.duration_ms / 1000.0, 6), "trial_type": trial_type(e),
            "sample": e.onset_frame, "type": e.type, "label": e.label, "apex": round(e.apex_s, 6),
            "spot_score": e.spot_score, "face_id": e.face_id, "model": e.model or NA,
        }
        for c in classes:
            p = e.probabilities.get(c)
            r[prob_column(c)] = NA if p is None else p
        out.append(r)
    return out


def describe(classes: Sequence[str]) -> dict[str, Any]:
    """The ``events.json`` sidecar: every column's meaning, units and levels."""
    labels = [*classes, "unknown"]
    d: dict[str, Any] = {
        "onset": {"LongName": "Onset", "Description": "Onset of the facial movement, from the first frame of the recording.", "Units": "s"},
        "duration": {"LongName": "Duration", "Description": "Offset minus onset time of the movement.", "Units": "s"},
        "trial_type": {
            "LongName": "Event type and label",
            "Description": "The movement's type (micro / macro) and its recognised emotion class, joined by '_'.",
            "Levels": {f"{t}_{lab}": f"a {t}-expression classified {lab}" for t in ("micro", "macro") for lab in labels},
        },
        "sample": {"LongName": "Onset frame", "Description": "0-based index of the onset frame in the recording."},
        "type": {"LongName": "Movement type", "Levels": {
            "micro": f"a movement lasting at most {MICRO_MAX_MS:g} ms", "macro": f"a movement lasting more than {MICRO_MAX_MS:g} ms"}},
        "label": {"LongName": "Emotion class", "Description": "The most probable class; unknown when the movement could not be classified.",
                  "Levels": {lab: f"classified {lab}" for lab in labels}},
        "apex": {"LongName": "Apex", "Description": "Time of the movement's peak, from the first frame of the recording.", "Units": "s"},
        "spot_score": {"LongName": "Spotting score", "Description": "Peak spotting signal of the movement in robust noise units (z)."},
    }
    for c in classes:
        d[prob_column(c)] = {"LongName": f"Probability of {c}", "Description": f"Softmax probability of the class {c}; n/a when unclassified."}
    d["face_id"] = {"LongName": "Face", "Description": "The tracked face's id: stable over the run, 0 for the first face found; "
                                                      "with --max-faces 1 always 0."}
    d["model"] = {"LongName": "Recognition model", "Description": "Name of the model that classified the movement."}
    return d


def write_bids(events: Sequence[Event], tsv: Path, classes: Sequence[str] | None = None) -> tuple[Path, Path]:
    """Write ``tsv`` and its JSON sidecar (each atomically); return both paths."""
    tsv = Path(tsv)
    cls = tuple(classes) if classes else classes_of(events, CLASSES)
    cols = columns(cls)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, delimiter="\t", lineterminator="\n")
    w.writeheader()
    w.writerows(rows(events, cls))
    js = bids_json_path(tsv)
    try:
        write_text_atomic(tsv, buf.getvalue())
        write_text_atomic(js, json.dumps(describe(cls), indent=2) + "\n")
    except OSError as exc:
        raise fail(OutputError, f"cannot write the BIDS events {tsv}: {exc.strerror or exc}", "choose a writable path") from exc
    return tsv, js


__all__ = ["bids_json_path", "check_bids_path", "describe", "rows", "trial_type", "write_bids"]
