"""The package layering is checked, not hoped for: import-linter's contracts (pyproject.toml), no import
cycles anywhere, and a demo run through the runtime that never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _import_graph():
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (pip install -e '.[test]')")
    return grimp.build_graph("realtime_mer", "mer_lab", include_external_packages=False)


def test_import_linter_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="import-linter is a test dependency (pip install -e '.[test]')")
    out = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = _import_graph()
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


DEMO = """
import sys
from realtime_mer.app.cli import main
code = main(["--demo", "--demo-seconds", "2.5", "--no-ui", "--events", sys.argv[1]])
# jax / jaxlib: installed only because mediapipe requires them (pyproject bounds them; README "Install size")
banned = sorted(m for m in ("torch", "mer_lab", "safetensors", "openpyxl", "jax", "jaxlib") if m in sys.modules)
print("BANNED=" + ",".join(banned))
sys.exit(code)
"""


def test_demo_runs_without_importing_torch_or_the_lab(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    out = subprocess.run([sys.executable, "-c", DEMO, str(events)], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "BANNED=\n" in out.stdout, out.stdout
    lines = [json.loads(x) for x in events.read_text().splitlines() if x.strip()]
    assert all(e["type"] in ("micro", "macro") for e in lines)
