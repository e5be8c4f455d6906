"""The spotting benchmark on two tiny astronaut clips: result structure and consistent counts."""

from __future__ import annotations

import pytest

from mer_lab.evaluation.spot_bench import BenchConfig, markdown_table, run_benchmark
from realtime_mer.errors import DataError
from realtime_mer.spotting import SPOTTERS
from realtime_mer.synth.clip import ASTRONAUT


@pytest.fixture(scope="module")
def result() -> dict:
    cfg = BenchConfig(n_videos=2, seconds=2.0, seed=3, fps=200.0, spotters=SPOTTERS, sources=(ASTRONAUT,))
    return run_benchmark(cfg)


def test_structure(result: dict) -> None:
    assert set(result) == {"params", "spotters", "clips", "timing_s"}
    assert [c["seed"] for c in result["clips"]] == [3, 4]
    assert all(c["frames"] == 400 and c["source"] == ASTRONAUT for c in result["clips"])
    assert set(result["spotters"]) == set(SPOTTERS)
    for r in result["spotters"].values():
        assert r["updates"] > 0 and r["update_ms_median"] > 0
        assert r["real"]["micro_alarms_per_min"] is None  # no real clips given
        for k in ("micro", "macro", "overall"):
            assert 0.0 <= r[k]["precision"] <= 1.0 and 0.0 <= r[k]["recall"] <= 1.0 and 0.0 <= r[k]["f1"] <= 1.0
    table = markdown_table(result)
    assert all(name in table for name in SPOTTERS)


def test_counts_consistent(result: dict) -> None:
    n_truth = {k: sum(c[f"truth_{k}"] for c in result["clips"]) for k in ("micro", "macro")}
    for r in result["spotters"].values():
        for k in ("micro", "macro"):
            c = r[k]
            assert c["tp"] + c["fn"] == c["truth"] == n_truth[k]
            assert c["tp"] + c["fp"] == c["predicted"]
        assert r["overall"]["truth"] == n_truth["micro"] + n_truth["macro"]
        assert r["overall"]["tp"] == r["micro"]["tp"] + r["macro"]["tp"]


def test_bad_size() -> None:
    with pytest.raises(DataError):
        run_benchmark(BenchConfig(n_videos=0))
