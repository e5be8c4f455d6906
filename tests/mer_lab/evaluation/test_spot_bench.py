"""The spotting benchmark on two short astronaut clips with injected micro-expressions: the default spotter
must find them, counts add up, and the result has its documented structure."""

from __future__ import annotations

import pytest

from mer_lab.evaluation.spot_bench import BenchConfig, markdown_table, run_benchmark
from realtime_mer.config import SpotConfig
from realtime_mer.errors import DataError
from realtime_mer.spotting import SPOTTERS
from realtime_mer.synth.clip import ASTRONAUT


@pytest.fixture(scope="module")
def result() -> dict:
    # 4 s: 1 s of calibration, then one injected micro-expression per clip (seeds 0 and 1)
    cfg = BenchConfig(n_videos=2, seconds=4.0, seed=0, fps=200.0, spotters=SPOTTERS, sources=(ASTRONAUT,))
    return run_benchmark(cfg)


def test_the_default_spotter_finds_the_injected_movements(result: dict) -> None:
    assert [(c["truth_micro"], c["truth_macro"]) for c in result["clips"]] == [(1, 0), (1, 0)]
    r = result["spotters"][SpotConfig().name]["micro"]
    assert r["truth"] == 2 and r["tp"] >= 1, r  # found with IoU >= 0.5 and the right type
    assert r["fp"] <= 1, r
    assert max(s["micro"]["recall"] for s in result["spotters"].values()) >= 0.5


def test_structure(result: dict) -> None:
    assert set(result) == {"params", "spotters", "clips", "timing_s"}
    assert [c["seed"] for c in result["clips"]] == [0, 1]
    assert all(c["frames"] == 800 and c["source"] == ASTRONAUT for c in result["clips"])
    assert set(result["spotters"]) == set(SPOTTERS)
    for r in result["spotters"].values():
        assert r["updates"] > 0 and r["update_ms_median"] > 0
        assert r["real"]["micro_alarms_per_min"] is None  # no real clips given
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
