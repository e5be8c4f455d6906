"""Every tool exits through the one handler: bad input is one line on stderr and exit 2, no traceback,
refused before any data is read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def run_tool(name: str, *args: str | Path) -> str:
    """Run ``tools/<name>``; assert exit 2, no traceback, one stderr line starting ``<name>: error:``; return it."""
    proc = subprocess.run([sys.executable, str(TOOLS / name), *map(str, args)], capture_output=True, text=True, timeout=180)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{name}: error: "), lines[0]
    return lines[0]


def test_train_refuses_an_unknown_optimizer_before_reading_data(tmp_path: Path) -> None:
    # the data root does not exist: an error about it would mean the data was looked at first
    line = run_tool("train.py", "--data-root", tmp_path / "nowhere", "--out", tmp_path / "out", "--set", "optimizer=lamb")
    assert "optimizer 'lamb' is not known; use one of adamw, adam, sgd, rmsprop" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("override", "valid"),
    [("schedule=step", "cosine, constant, plateau"), ("class_weighting=balanced", "none, inverse, sqrt, inverse-dataset, logit-adjust")],
)
def test_train_refuses_unknown_schedule_and_class_weighting(tmp_path: Path, override: str, valid: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_tool", TOOLS / "train.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--data-root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), "--set", override]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("train.py: error: bad recipe override") and f"use one of {valid}" in err[0], err


def test_evaluate_spotting_missing_truth(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    line = run_tool("evaluate_spotting.py", "--truth", tmp_path / "nope.csv", "--events-dir", tmp_path / "events")
    assert "truth file" in line and "not found" in line


def test_tune_recipe_bad_base_json_before_reading_data(tmp_path: Path) -> None:
    line = run_tool("tune_recipe.py", "--data-root", tmp_path / "nowhere", "--base", "{epochs: 60")
    assert "--base is not JSON" in line


def test_make_synthetic_unwritable_out(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = run_tool("make_synthetic.py", "--out", blocker / "set", "--n", "1", "--seconds", "0.2")
    assert str(blocker) in line
