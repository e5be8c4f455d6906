"""Issue 23 §5, through the real command line: outputs follow the umask; ``--eaf`` / ``--bids`` set in a config file;
``realtime-mer export`` and ``realtime-mer plot`` for an installed user (no clone needed), refusing to write over
what they read."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.realtime_mer.app.cli.helpers import REPO, assert_one_line_error, cli


def _cli_umask(umask: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "realtime_mer.app.cli", *args], capture_output=True, text=True, timeout=240,
                          cwd=REPO, preexec_fn=lambda: os.umask(umask))


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_every_output_follows_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    pytest.importorskip("pympi")
    args = ["--demo", "--demo-seconds", "0.3", "--no-ui", "--quiet", "--events", str(tmp_path / "e.jsonl"),
            "--csv", str(tmp_path / "e.csv"), "--stats", str(tmp_path / "s.json"), "--bids", str(tmp_path / "x_events.tsv"),
            "--eaf", str(tmp_path / "x.eaf"), "--frames-csv", str(tmp_path / "f.csv"), "--timeline", str(tmp_path / "t.png")]
    proc = _cli_umask(umask, *args)
    assert proc.returncode == 0, proc.stderr
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert {"e.jsonl.meta.json", "e.csv.meta.json", "x_events.tsv", "x_events.json", "s.json", "x.eaf"} <= set(modes)
    assert modes == dict.fromkeys(modes, mode), modes  # the sidecars and BIDS files were 0600


def test_eaf_and_bids_can_be_set_in_a_config_file(tmp_path: Path) -> None:
    pytest.importorskip("pympi")
    run_toml = tmp_path / "run.toml"
    run_toml.write_text(f'[output]\neaf = "{tmp_path / "run.eaf"}"\nbids = "{tmp_path / "sub-01_task-x_events.tsv"}"\n')
    printed = cli("--config", str(run_toml), "--print-config")
    assert printed.returncode == 0, printed.stderr
    assert f'eaf = "{tmp_path / "run.eaf"}"' in printed.stdout and f'bids = "{tmp_path / "sub-01_task-x_events.tsv"}"' in printed.stdout
    proc = cli("--config", str(run_toml), "--demo", "--demo-seconds", "0.3", "--no-ui", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run.eaf").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "sub-01_task-x_events.tsv").read_text().startswith("onset\tduration")
    # an option on the command line replaces the file's value; the checks are the same
    assert_one_line_error(cli("--config", str(run_toml), "--demo", "--bids", str(tmp_path / "x.tsv")), "--bids", "_events.tsv")
    assert_one_line_error(cli("--config", str(run_toml), "--demo", "--no-ui"), f"--eaf {tmp_path / 'run.eaf'}", "exists")


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The event log, provenance and timeline trace of a 2.5 s demo run (its movement at ~1.2 s)."""
    d = tmp_path_factory.mktemp("log")
    proc = cli("--demo", "--demo-seconds", "2.5", "--no-ui", "--quiet", "--events", str(d / "run.jsonl"), "--timeline",
               str(d / "run.png"))
    assert proc.returncode == 0, proc.stderr
    return d / "run.jsonl"


def test_export_and_plot_are_subcommands_of_the_installed_command(log: Path, tmp_path: Path) -> None:
    n = len(log.read_text().splitlines())
    exp = cli("export", str(log), "--bids", str(tmp_path / "sub-01_events.tsv"), "--csv", str(tmp_path / "e.csv"))
    assert exp.returncode == 0, exp.stderr
    assert f"{n} events from {log}" in exp.stdout
    assert len((tmp_path / "sub-01_events.tsv").read_text().splitlines()) == n + 1
    plot = cli("plot", str(log), "-o", str(tmp_path / "again.png"), "--trace", str(log.with_name("run.trace.csv")))
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "again.png").read_bytes()[:4] == b"\x89PNG" and "trace: " in plot.stdout
    # existing outputs are kept unless --overwrite, in the subcommands' one line
    assert_one_line_error(cli("plot", str(log), "-o", str(tmp_path / "again.png")), "-o", "exists", "--overwrite")
    assert_one_line_error(cli("export", str(log), "--csv", str(tmp_path / "e.csv")), "--csv", "exists", "--overwrite")
    for sub in ("export", "plot"):
        helped = cli(sub, "--help")
        assert helped.returncode == 0 and f"usage: realtime-mer {sub}" in helped.stdout
    assert "realtime-mer export" in cli("--help").stdout and "realtime-mer plot" in cli("--help").stdout


def test_export_and_plot_never_write_over_what_they_read(log: Path, tmp_path: Path) -> None:
    before = log.read_bytes()
    meta = log.with_name(log.name + ".meta.json")
    trace = log.with_name("run.trace.csv")
    assert_one_line_error(cli("export", str(log), "--csv", str(log), "--overwrite"), f"--csv {log}", "the events file being read")
    assert_one_line_error(cli("export", str(log), "--bids", str(meta.with_name("x_events.tsv")), "--csv", str(meta), "--overwrite"),
                          f"--csv {meta}", "the provenance of the events file")
    trace_png = tmp_path / "trace.png"
    trace_png.write_bytes(trace.read_bytes())  # a trace file that happens to end in .png
    assert_one_line_error(cli("plot", str(log), "--trace", str(trace_png), "-o", str(trace_png), "--overwrite"),
                          f"-o {trace_png}", "the trace being read")
    assert log.read_bytes() == before and trace_png.read_bytes() == trace.read_bytes()
