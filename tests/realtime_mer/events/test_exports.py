"""The ELAN and BIDS exporters and the provenance sidecar: adapters over ``Event``, read back by their own readers."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest

from realtime_mer.errors import OutputError
from realtime_mer.events.bids import check_bids_path, write_bids
from realtime_mer.events.sidecar import read_sidecar, sidecar_path, write_sidecar, write_text_atomic
from realtime_mer.types import Event

from .test_sinks import _event


def _events() -> list[Event]:
    unknown = Event(type="macro", onset_frame=400, apex_frame=450, offset_frame=600, onset_s=2.0, apex_s=2.25, offset_s=3.0,
                    duration_ms=1000.0, wall_time="", label="unknown", model="apexflow")
    return [_event(0), unknown]


def test_eaf_has_one_tier_per_type_labels_as_values_and_the_video_linked(tmp_path: Path) -> None:
    elan = pytest.importorskip("pympi.Elan", reason="pympi-ling is the optional [elan] extra")
    from realtime_mer.events.eaf import write_eaf

    video = tmp_path / "media" / "clip.mp4"
    video.parent.mkdir()
    video.write_bytes(b"x")
    out = tmp_path / "out" / "run.eaf"
    out.parent.mkdir()
    write_eaf(_events(), out, media=video)
    doc = elan.Eaf(str(out))  # read back by pympi's own parser
    assert sorted(doc.get_tier_names()) == ["macro", "micro"]
    assert doc.get_annotation_data_for_tier("micro") == [(50, 150, "positive")]
    assert doc.get_annotation_data_for_tier("macro") == [(2000, 3000, "unknown")]
    (m,) = doc.media_descriptors
    assert m["MEDIA_URL"] == video.resolve().as_uri() and m["RELATIVE_MEDIA_URL"] == "../media/clip.mp4"
    assert m["MIME_TYPE"] == "video/mp4"
    assert not out.with_suffix(".bak").exists() and not list(out.parent.glob(".*"))  # nothing left beside it
    write_eaf(_events()[:1], out)  # written again (no media): replaced whole, no .bak
    assert elan.Eaf(str(out)).get_annotation_data_for_tier("macro") == [] and not out.with_suffix(".bak").exists()


def _two_faces() -> list[Event]:
    a, b = _events()
    late = Event(type="micro", onset_frame=700, apex_frame=710, offset_frame=720, onset_s=3.5, apex_s=3.55, offset_s=3.6,
                 duration_ms=100.0, wall_time="", label="surprise", face_id=2)
    return [a, dataclasses.replace(b, face_id=2), late]


def test_eaf_with_several_faces_has_a_pair_of_tiers_per_face(tmp_path: Path) -> None:
    elan = pytest.importorskip("pympi.Elan", reason="pympi-ling is the optional [elan] extra")
    from realtime_mer.events.eaf import tier_names, write_eaf

    assert tier_names(_events()) == tier_names([]) == ["micro", "macro"]  # every event face 0: the tiers as before
    events = _two_faces()
    out = write_eaf(events, tmp_path / "run.eaf")
    doc = elan.Eaf(str(out))
    assert list(doc.get_tier_names()) == tier_names(events) == ["micro (face 0)", "macro (face 0)", "micro (face 2)", "macro (face 2)"]
    assert doc.get_annotation_data_for_tier("micro (face 0)") == [(50, 150, "positive")]
    assert doc.get_annotation_data_for_tier("macro (face 0)") == []
    assert doc.get_annotation_data_for_tier("macro (face 2)") == [(2000, 3000, "unknown")]
    assert doc.get_annotation_data_for_tier("micro (face 2)") == [(3500, 3600, "surprise")]


def test_eaf_of_face_0_events_is_as_before(tmp_path: Path) -> None:
    pytest.importorskip("pympi.Elan", reason="pympi-ling is the optional [elan] extra")
    from realtime_mer.events.eaf import write_eaf

    text = write_eaf(_events(), tmp_path / "run.eaf").read_text()
    assert 'TIER_ID="micro"' in text and 'TIER_ID="macro"' in text and "(face" not in text


def test_missing_pympi_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    from realtime_mer.errors import MerError
    from realtime_mer.events.eaf import write_eaf

    monkeypatch.setitem(sys.modules, "pympi", None)  # import pympi -> ImportError
    with pytest.raises(MerError, match=r"pympi-ling.*realtime-mer\[elan\]") as ei:
        write_eaf(_events(), tmp_path / "x.eaf")
    assert "\n" not in str(ei.value) and not (tmp_path / "x.eaf").exists()


def test_bids_events_tsv_and_its_json_describe_every_column(tmp_path: Path) -> None:
    tsv = tmp_path / "sub-01_task-rest_events.tsv"
    tsv_out, js = write_bids(_events(), tsv, classes=("negative", "positive", "surprise"))
    assert js == tmp_path / "sub-01_task-rest_events.json"
    rows = list(csv.DictReader(tsv_out.open(), delimiter="\t"))
    assert list(rows[0])[:3] == ["onset", "duration", "trial_type"]
    assert (rows[0]["onset"], rows[0]["duration"], rows[0]["trial_type"], rows[0]["sample"]) == ("0.05", "0.1", "micro_positive", "10")
    assert rows[1]["trial_type"] == "macro_unknown" and rows[1]["p_positive"] == "n/a" and rows[1]["duration"] == "1.0"
    desc = json.loads(js.read_text())
    assert set(rows[0]) <= set(desc) | {"onset", "duration"}  # every extra column is described
    assert [r["face_id"] for r in rows] == ["0", "0"] and "stable over the run" in desc["face_id"]["Description"]
    assert desc["onset"]["Units"] == "s" and "micro_positive" in desc["trial_type"]["Levels"]
    with pytest.raises(OutputError, match=r"_events\.tsv"):
        check_bids_path(tmp_path / "events.csv")
    check_bids_path(tmp_path / "events.tsv")


def test_bids_rows_keep_each_events_face_id(tmp_path: Path) -> None:
    tsv, _js = write_bids(_two_faces(), tmp_path / "sub-01_task-rest_events.tsv")
    rows = list(csv.DictReader(tsv.open(), delimiter="\t"))
    assert [(r["trial_type"], r["face_id"]) for r in rows] == [("micro_positive", "0"), ("macro_unknown", "2"),
                                                                ("micro_surprise", "2")]


def test_sidecar_round_trip_and_atomic_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ev = tmp_path / "e.jsonl"
    assert read_sidecar(ev) is None  # a log without provenance (older runs)
    assert write_sidecar(ev, {"realtime_mer_version": "0.1.0", "path": Path("/x")}) == sidecar_path(ev) == tmp_path / "e.jsonl.meta.json"
    assert read_sidecar(ev) == {"realtime_mer_version": "0.1.0", "path": "/x"}
    assert write_sidecar(Path("/dev/null"), {"a": 1}) is None  # events to a device: no sidecar beside it
    target = tmp_path / "t.txt"
    target.write_text("old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("realtime_mer.events.sidecar.os.fsync", disk_full)
    with pytest.raises(OutputError, match=r"cannot write .*t\.txt: No space left"):  # one line naming the file
        write_text_atomic(target, "new")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["e.jsonl.meta.json", "t.txt"]


def test_sidecar_write_failure_is_one_line_naming_the_file(tmp_path: Path) -> None:
    """A full disk or a file-size limit while writing a sidecar: an OutputError naming the file, no temporary left."""
    import resource
    import signal

    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (10, old[1]))
    try:
        with pytest.raises(OutputError, match=r"cannot write .*run\.jsonl\.meta\.json: File too large"):
            write_text_atomic(tmp_path / "run.jsonl.meta.json", "y" * 100)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)
    assert list(tmp_path.iterdir()) == []
