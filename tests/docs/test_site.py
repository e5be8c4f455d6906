"""The documentation: the site builds in strict mode (no broken link, anchor, page or API object), the
README's relative links resolve, and the README's test command is what CI runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _mkdocs(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    proc = _mkdocs("build", "--strict", "--site-dir", str(tmp_path / "site"), cwd=REPO)
    warnings = [line for line in proc.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert proc.returncode == 0 and not warnings, proc.stderr[-3000:]
    api = (tmp_path / "site" / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "analyse" in api and "EventStream" in api  # the API pages were generated from the docstrings


def test_strict_mode_fails_on_a_broken_link(tmp_path: Path) -> None:
    """The check has teeth: a copy of the site with one broken link does not build."""
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "docs", copy / "docs")
    for name in ("mkdocs.yml", "CONTRIBUTING.md"):
        shutil.copy(REPO / name, copy / name)
    (copy / "realtime_mer").symlink_to(REPO / "realtime_mer")
    page = copy / "docs" / "status.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [nowhere](no-such-page.md).\n", encoding="utf-8")
    proc = _mkdocs("build", "--strict", "--site-dir", str(tmp_path / "site"), cwd=copy)
    assert proc.returncode != 0 and "no-such-page.md" in proc.stderr


def _relative_links(markdown: str) -> list[str]:
    links = re.findall(r"\]\(([^)\s]+)\)", markdown)
    return [link for link in links if not re.match(r"[a-z]+:", link) and not link.startswith("#")]


@pytest.mark.parametrize("name", ["README.md", "CONTRIBUTING.md"])
def test_relative_links_point_to_files(name: str) -> None:
    text = (REPO / name).read_text(encoding="utf-8")
    missing = [link for link in _relative_links(text) if not (REPO / link.split("#")[0]).exists()]
    assert not missing, f"{name} links to files that do not exist: {missing}"


def test_readme_is_short_and_its_test_command_is_what_ci_runs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = 'python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 -e ".[test]" && .venv/bin/python -m pytest'
    assert command in readme and command in ci
    assert "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/realtime-mer --demo" in readme


def test_user_facing_docs_keep_no_lab_notebook() -> None:
    """No "session N" / "round N" diaries in the README or the site (the lab's tuning history lives in git)."""
    pages = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").rglob("*.md"))]
    pattern = re.compile(r"\b(session \d+|round[- ]\d+|issue[- ]\d+)\b", re.IGNORECASE)
    found = [f"{p.relative_to(REPO)}: {m.group(0)}" for p in pages for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert not found, found
