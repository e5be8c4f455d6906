"""tools/bench_report.py: tables are replaced between their markers (never appended), every marker in docs/
has a registry entry and saved data, and the pages agree with the saved data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.tools import load_tool

br = load_tool("bench_report")
REPO = Path(__file__).resolve().parents[2]


def _data(name: str, value: str, date: str = "2026-12-08") -> dict[str, object]:
    return {"name": name, "command": "python tools/soak.py", "date": date, "machine": "a test machine, no GPU",
            "note": "", "columns": ["run s", "frames"], "rows": [["600", value]]}


def test_a_new_measurement_replaces_the_table(tmp_path: Path) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    docs.mkdir()
    data.mkdir()
    page = docs / "speed.md"
    page.write_text("# Speed\n\nbefore\n\n<!-- bench:soak -->\n<!-- /bench:soak -->\n\nafter\n", encoding="utf-8")
    for value, date in (("111", "2026-12-01"), ("222", "2026-12-08")):
        (data / "soak.json").write_text(json.dumps(_data("soak", value, date)), encoding="utf-8")
        assert br.main(["--from-json", "--docs", str(docs), "--data", str(data)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "222" in text and "111" not in text and "2026-12-01" not in text
    assert text.count("| run s | frames |") == 1
    assert text.startswith("# Speed\n\nbefore\n") and text.endswith("<!-- /bench:soak -->\n\nafter\n")
    assert "*Measured 2026-12-08 on a test machine, no GPU: `python tools/soak.py`.*" in text
    assert br.main(["--check", "--docs", str(docs), "--data", str(data)]) == 0
    (data / "soak.json").write_text(json.dumps(_data("soak", "333")), encoding="utf-8")
    assert br.main(["--check", "--docs", str(docs), "--data", str(data)]) == 1
    assert "333" not in page.read_text(encoding="utf-8")  # --check writes nothing


@pytest.mark.parametrize("text", [
    "<!-- bench:soak -->\nno end\n",
    "<!-- /bench:soak -->\n",
    "<!-- bench:soak -->\n<!-- bench:pipeline -->\n<!-- /bench:pipeline -->\n<!-- /bench:soak -->\n",
])
def test_broken_markers_are_one_line_errors(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "page.md").write_text(text, encoding="utf-8")
    assert br.main(["--from-json", "--docs", str(tmp_path), "--data", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_marker_inside_text_is_not_a_marker() -> None:
    assert br.markers("write `<!-- bench:NAME -->` on a line of its own\n") == []


def test_every_marker_in_docs_has_an_entry_and_saved_data() -> None:
    marked = br.pages(REPO / "docs")
    assert marked, "no bench markers found in docs/"
    assert set(marked) <= set(br.BENCHES), sorted(set(marked) - set(br.BENCHES))
    assert set(br.BENCHES) <= set(marked), f"registry entries without a table: {sorted(set(br.BENCHES) - set(marked))}"
    for name in marked:
        data = json.loads((br.DATA / f"{name}.json").read_text(encoding="utf-8"))
        assert data["command"] and data["date"] and data["machine"], name
        assert all(len(r) == len(data["columns"]) for r in data["rows"]), name
        assert br.BENCHES[name].run in br.RUNS


def test_the_pages_agree_with_the_saved_data() -> None:
    assert br.update_pages(REPO / "docs", br.DATA, write=False) == []


def test_collectors_turn_tool_output_into_rows(tmp_path: Path) -> None:
    stdout = ("| model | backend | batch | latency p50 ms | latency p90 ms | throughput samples/s | repeats |\n|---|---|---|---|---|---|---|\n"
              "| apexflow | torch-cpu | 1 | 0.910 | 1.000 | 1099 | 30 |\n| apexflow | torch-cpu | 8 | 2.680 | 3.000 | 2985 | 30 |\n"
              "| apexflow | onnxruntime-cpu | 1 | 0.360 | 0.400 | 2778 | 30 |\n| apexflow | onnxruntime-cpu | 8 | 2.100 | 2.200 | 3810 | 30 |\n")
    cols, rows = br.collect_backends([], [stdout], tmp_path)
    assert cols[0] == "model" and rows == [["apexflow", "0.910 / 2.680", "0.360 / 2.100", "2985", "3810"]]
    soak = {"seconds": 25.0, "frames_processed": 5000, "frames_dropped": 0, "events": 9, "emit_p50_ms": 50.0, "emit_p95_ms": 80.0,
            "rss_first_mb": 300.0, "rss_last_mb": 300.5, "rss_slope_mb_per_min": 0.1, "rss_spread_mb": 1.0}
    (tmp_path / "soak.json").write_text(json.dumps(soak), encoding="utf-8")
    cols, rows = br.collect_soak([tmp_path / "soak.json"], [""], tmp_path)
    assert len(cols) == len(rows[0]) and rows[0][2] == "**0**"


def test_dry_run_prints_the_commands_and_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert br.main(["--only", "spotting-reporting", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "tools/bench_spotting.py --faces reporting" in err
    assert br.main(["--only", "no-such-table"]) == 2
