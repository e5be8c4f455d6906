"""The local executor survives a worker that dies: the input it ran fails, a new pool runs the rest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from realtime_mer.app.batch.executors import LocalExecutor
from realtime_mer.app.batch.inputs import BatchInput
from realtime_mer.app.batch.jobs import run_batch
from realtime_mer.app.batch.work import BatchSettings
from realtime_mer.config import PipelineConfig


def fake_input(item: BatchInput, out: str, settings: BatchSettings) -> dict[str, Any]:
    """Stands in for run_input in the worker: ``boom`` kills its process like a crash in native code."""
    if item.key == "boom":
        os._exit(3)
    return {"key": item.key, "source": item.path, "kind": item.kind, "status": "done", "events": 1, "frames": 10,
            "elapsed_s": 0.0, "error": ""}


def test_a_dead_worker_fails_its_input_and_the_batch_goes_on(tmp_path: Path) -> None:
    items = [BatchInput(str(tmp_path / k), "video", k) for k in ("a", "boom", "c")]
    report = run_batch(items, tmp_path, BatchSettings(PipelineConfig()), LocalExecutor(1, fn=fake_input))
    got = {r["key"]: (r["status"], r["error"]) for r in report.results}
    assert got["a"] == ("done", "") and got["c"] == ("done", "")
    assert got["boom"][0] == "failed" and "BrokenProcessPool" in got["boom"][1]
    assert report.done == 2 and len(report.failed) == 1 and report.interrupted == 0


def test_ray_missing_is_one_line_naming_the_extra(monkeypatch) -> None:
    import sys

    import pytest

    from realtime_mer.app.batch.executors import RayExecutor
    from realtime_mer.errors import MerError

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MerError, match=r"--ray needs Ray, which is not installed; pip install 'realtime-mer\[cluster\]'"):
        RayExecutor("auto", None)
