"""Numeric options a careless user types: refused before capture, one line, exit 2 (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realtime_mer.app.cli.helpers import assert_one_line_error, cli


@pytest.mark.parametrize("args,needle", [
    (["--seed", "-1"], "--seed"),
    (["--fps", "inf"], "--fps"),
    (["--demo-seconds", "inf"], "--demo-seconds"),
    (["--demo-seconds", "1e300"], "--demo-seconds"),
    (["--width", "100000"], "--width"),
    (["--height", "100000"], "--height"),
    (["--frames", "DIR", "--fps", "1e9"], "--fps"),
])
def test_out_of_range_numbers_are_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    args = [str(tmp_path) if a == "DIR" else a for a in args]
    ev = tmp_path / "e.jsonl"
    proc = cli(*args, "--no-ui", "--events", str(ev), timeout=60)
    assert proc.returncode == 2
    assert_one_line_error(proc, needle)
    assert not ev.exists()  # refused before anything was opened
