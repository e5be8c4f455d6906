"""mypy over the runtime with the settings in pyproject.toml ([tool.mypy]): every module checked, the stage
interfaces strict (no untyped defs, no bare generics, no Any returned through them). CI runs it with the suite."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_mypy_passes_on_the_runtime(tmp_path: Path, monkeypatch) -> None:
    from mypy import api

    monkeypatch.chdir(REPO)  # [tool.mypy] packages are found from the repository root
    out, err, status = api.run(["--config-file", str(REPO / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"),
                                "--no-error-summary", "--hide-error-context"])
    assert status == 0, f"mypy found problems (run: mypy, in {REPO}):\n{out}{err}"
