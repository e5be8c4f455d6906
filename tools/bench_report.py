#!/usr/bin/env python
"""Regenerate the measured tables of the documentation from the commands that make them.

Every measured table in ``docs/`` sits between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``.
``BENCHES`` maps NAME to the run that measures it and to the function that turns the run's output into
the table's rows. Running a table's command saves ``docs/benchmarks/data/NAME.json`` (the rows, the
command, the date and the machine) and rewrites the text between the markers, caption included: a new
measurement replaces the old one, nothing is appended.

    python tools/bench_report.py --list                      # every table: its command and its page
    python tools/bench_report.py --only soak                 # measure one table again (see --list: most are long)
    python tools/bench_report.py --only spotting-reporting --dry-run   # print the commands, run nothing
    python tools/bench_report.py --from-json                 # re-render every table from the saved data
    python tools/bench_report.py --check                     # exit 1 when a page differs from its saved data

Tables that share a run (the spotting benchmark's results and its false alarms) are measured together.
Run it on a quiet machine: the numbers are the machine's, and the caption names it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
DATA = DOCS / "benchmarks" / "data"

Table = tuple[list[str], list[list[str]]]
MARKER = re.compile(r"^<!-- (/?)bench:([\w.-]+) -->[ \t]*$", re.MULTILINE)  # a marker is a line of its own


class ReportError(Exception):
    """A marker, data file or run that cannot be used; the message says which and what to do."""


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Run:
    """One measurement: the command as a user types it, and the argv lists that make it.

    In ``argv``, ``{python}`` is this interpreter, ``{out}`` a fresh output file per command and ``{tmp}`` a
    temporary folder shared by the run's commands."""

    command: str
    argv: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Bench:
    """A table in the docs: the run that measures it and how its output becomes rows."""

    name: str
    run: str  # a key of RUNS
    collect: Callable[[list[Path], list[str], Path], Table]  # (output files, stdouts, tmp folder) -> table
    what: str  # one line for --list


def _cli(*args: str) -> tuple[str, ...]:
    return ("{python}", "-m", "realtime_mer.app.cli", *args)


LIVE_MODELS = ("apexflow", "c3d", "convlstm", "tcgru", "twostream3d", "learnet")


def _live(model: str, *extra: str) -> tuple[str, ...]:
    path = () if model == "apexflow" else ("--model-path", f"runs/{model}-all/model.onnx")
    return _cli("--demo", "--realtime", "--fps", "200", "--demo-seconds", "60", "--no-ui", "--quiet", "--model", model,
                *path, "--stats", "{out}", *extra)


_SPOT = ("{python}", "tools/bench_spotting.py")
_LOFO = [(m, r) for m in ("c3d", "convlstm", "tcgru", "twostream3d", "learnet", "apexflow") for r in ("cpu", "paper")]
_F = "../shared/data/real_faces"

RUNS: dict[str, Run] = {
    "pipeline": Run("python tools/bench.py --repeats 5 --demo-seconds 20 --realtime 60",
                    (("{python}", "tools/bench.py", "--repeats", "5", "--demo-seconds", "20", "--realtime", "60", "--json", "{out}"),)),
    "backends": Run("python tools/bench.py --backends", (("{python}", "tools/bench.py", "--backends"),)),
    "models-event": Run("python tools/bench_models.py --repeats 5 --rounds 3",
                        (("{python}", "tools/bench_models.py", "--repeats", "5", "--rounds", "3", "--json", "{out}"),)),
    "models-live": Run("realtime-mer --demo --realtime --fps 200 --demo-seconds 60 --no-ui --model M "
                       "[--model-path runs/M-all/model.onnx] [--timeline t.png], one model after the other",
                       (*(_live(m) for m in LIVE_MODELS), _live("tcgru", "--timeline", "{tmp}/tcgru.png"))),
    "soak": Run("python tools/soak.py", (("{python}", "tools/soak.py", "--quiet", "--json", "{out}"),)),
    "throughput": Run("python tools/bench.py --throughput --repeats 3",
                      (("{python}", "tools/bench.py", "--throughput", "--repeats", "3", "--json", "{out}"),)),
    "spotting-reporting": Run("python tools/bench_spotting.py --faces reporting --spotters hybrid,roiflow,lagflow",
                              ((*_SPOT, "--faces", "reporting", "--spotters", "hybrid,roiflow,lagflow", "--out", "{out}"),)),
    "spotting-tuning": Run("python tools/bench_spotting.py --faces tuning --spotters hybrid,roiflow,lagflow --no-real",
                           ((*_SPOT, "--faces", "tuning", "--spotters", "hybrid,roiflow,lagflow", "--no-real", "--out", "{out}"),)),
    "spotting-held": Run("python tools/bench_spotting.py --faces none --n-videos 50 --seconds 6 --seed 0 --spotters hybrid,roiflow,lagflow",
                         ((*_SPOT, "--faces", "none", "--n-videos", "50", "--seconds", "6", "--seed", "0",
                           "--spotters", "hybrid,roiflow,lagflow", "--out", "{out}"),)),
    "spotting-held-baselines": Run("python tools/bench_spotting.py --faces none --n-videos 50 --seconds 6 --seed 0 --spotters roiflow,gru,lbp",
                                   ((*_SPOT, "--faces", "none", "--n-videos", "50", "--seconds", "6", "--seed", "0",
                                     "--spotters", "roiflow,gru,lbp", "--out", "{out}"),)),
    "alignment": Run("python tools/measure_alignment.py --every 1,8,16 --frames 400",
                     (("{python}", "tools/measure_alignment.py", "--every", "1,8,16", "--frames", "400"),)),
    "faces": Run("python tools/bench.py --faces --repeats 3",
                 (("{python}", "tools/bench.py", "--faces", "--repeats", "3", "--json", "{out}"),)),
    "identity": Run("python tools/measure_identity.py --seeds 0,1,2",
                    (("{python}", "tools/measure_identity.py", "--seeds", "0,1,2"),)),
    "alignment-gray": Run("python tools/measure_alignment.py --every 16 --frames 400, then the same with --gray",
                          (("{python}", "tools/measure_alignment.py", "--every", "16", "--frames", "400"),
                           ("{python}", "tools/measure_alignment.py", "--every", "16", "--frames", "400", "--gray"))),
    "lofo-synthetic": Run(
        "python tools/make_synthetic_clips.py --source astronaut --source $F/WolfgangLanger_Pexels.mp4 --source $F/single_face.mp4 "
        "--source $F/face_noface.mov --n-clips 24 --seconds 20 --seed 5000 --out clips.npz, then for each model M and recipe R: "
        "python tools/train.py --model M --dataset synthetic-clips --data-root clips.npz --protocol loso --recipe R --threads 1 "
        "--seed 0 --no-fold-checkpoints --out runs/M-R",
        (("{python}", "tools/make_synthetic_clips.py", "--source", "astronaut", "--source", f"{_F}/WolfgangLanger_Pexels.mp4",
          "--source", f"{_F}/single_face.mp4", "--source", f"{_F}/face_noface.mov", "--n-clips", "24", "--seconds", "20",
          "--seed", "5000", "--out", "{tmp}/clips.npz"),
         *(("{python}", "tools/train.py", "--model", m, "--dataset", "synthetic-clips", "--data-root", "{tmp}/clips.npz",
            "--protocol", "loso", "--recipe", r, "--threads", "1", "--seed", "0", "--no-fold-checkpoints",
            "--out", f"{{tmp}}/runs/{m}-{r}") for m, r in _LOFO))),
}


# ---------------------------------------------------------------- turning outputs into rows


def parse_md_table(text: str, index: int = 0) -> Table:
    """The ``index``-th Markdown table in ``text`` as (columns, rows of cells)."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.strip().startswith("|"):
            current.append(line.strip())
        elif current:
            tables.append(current)
            current = []
    if index >= len(tables) or len(tables[index]) < 2:
        raise ReportError(f"no Markdown table #{index} in the output; check that the command printed its table")

    def cells(row: str) -> list[str]:
        return [c.strip() for c in row.strip().strip("|").split(" | ")]

    lines = tables[index]
    return cells(lines[0]), [cells(r) for r in lines[2:]]


def _f(x: Any, nd: int = 3) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def _prf(d: dict[str, Any]) -> str:
    return f"{d['precision']:.3f} / {d['recall']:.3f} / **{d['f1']:.3f}**"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def collect_pipeline(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    from mer_lab.benchmarks.pipeline_runs import RunResult, format_table

    return parse_md_table(format_table([RunResult(name, stats) for name, stats in _load(outs[0]).items()]))


def collect_backends(_outs: list[Path], stdouts: list[str], _tmp: Path) -> Table:
    """``tools/bench.py --backends`` prints one row per model, backend and batch; one row per model here."""
    cols, rows = parse_md_table(stdouts[0])
    i = {c: k for k, c in enumerate(cols)}
    by: dict[str, dict[str, dict[int, tuple[str, str]]]] = {}
    for r in rows:
        by.setdefault(r[i["model"]], {}).setdefault(r[i["backend"]], {})[int(r[i["batch"]])] = (
            r[i["latency p50 ms"]], r[i["throughput samples/s"]])
    backends = list(dict.fromkeys(b for m in by.values() for b in m))
    batches = sorted({n for m in by.values() for b in m.values() for n in b})
    head = ["model", *(f"{b} " + " / ".join(f"b{n}" for n in batches) + " ms" for b in backends),
            *(f"{b} throughput b{batches[-1]} (samples/s)" for b in backends)]
    out = []
    for model, per in by.items():
        lat = [" / ".join(per.get(b, {}).get(n, ("–", ""))[0] for n in batches) for b in backends]
        thr = [per.get(b, {}).get(batches[-1], ("", "–"))[1] for b in backends]
        out.append([model, *lat, *thr])
    return head, out


def collect_models_event(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    from mer_lab.benchmarks.event_latency import EventTiming, format_event_table

    return parse_md_table(format_event_table([EventTiming(**r) for r in _load(outs[0])]))


def collect_models_live(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    names = [*LIVE_MODELS, "tcgru + continuous intensity (`--timeline`)"]
    rows = []
    for name, path in zip(names, outs, strict=True):
        s = _load(path)
        rec, emit = s["stage_latency_ms"].get("recognition", {}), s.get("emit_latency_ms") or {}
        rows.append([name, f"**{s['frames_dropped']}**", f"{s['processing_fps']:.1f}",
                     f"{_f(rec.get('p50'), 0)} / {_f(rec.get('p95'), 0)}", f"{_f(emit.get('p50'), 0)} / {_f(emit.get('p95'), 0)}"])
    return ["model", "dropped", "processed fps", "recognition ms p50 / p95", "emit latency ms p50 / p95"], rows


def collect_soak(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    r = _load(outs[0])
    return (["run s", "frames", "dropped", "events", "emit latency ms p50 / p95", "RSS after warm-up MB (first → last)",
             "RSS slope MB/min", "RSS spread MB"],
            [[f"{r['seconds']:.0f}", f"{r['frames_processed']}", f"**{r['frames_dropped']}**", f"{r['events']}",
              f"{_f(r['emit_p50_ms'], 0)} / {_f(r['emit_p95_ms'], 0)}", f"{r['rss_first_mb']:.1f} → {r['rss_last_mb']:.1f}",
              f"{r['rss_slope_mb_per_min']:.2f}", f"{r['rss_spread_mb']:.1f}"]])


def collect_throughput(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    from mer_lab.benchmarks.pipeline_runs import Throughput, format_throughput_table

    runs = [Throughput(name, r["decode"], r["luma"], r["rmer"], r.get("baseline", [])) for name, r in _load(outs[0]).items()]
    return parse_md_table(format_throughput_table(runs))


def collect_faces(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    from mer_lab.evaluation.spot_faces import faces_table

    return parse_md_table(faces_table(_load(outs[0])))


def collect_false_alarms(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    res = _load(outs[0])["spotters"]
    groups = list(dict.fromkeys(g for r in res.values() if "real" in r for g in r["real"]["groups"]))

    def cell(x: dict[str, Any]) -> str:
        return f"{x['micro_alarms']} in {x['face_minutes']:.2f} min = {_f(x['micro_alarms_per_min'], 2)}/min"

    rows = [[sp, *(cell(r["real"]["groups"][g]) if g in r["real"]["groups"] else "–" for g in groups), cell(r["real"])]
            for sp, r in res.items() if "real" in r]
    return ["spotter", *(g.replace("/", " ") for g in groups), "all clips"], rows


def collect_held(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    res = _load(outs[0])["spotters"]
    rows = [[sp, _prf(r["micro"]), f"{r['macro']['f1']:.3f}", f"{r['overall']['f1']:.3f}", f"{r['update_ms_median']:.2f}",
             f"{r['real']['micro_alarms']} in {r['real']['face_minutes']:.2f} min"] for sp, r in res.items()]
    return ["spotter", "micro P / R / F1", "macro F1", "overall F1", "update ms/frame (median)", "false micro alarms"], rows


def collect_held_baselines(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    res = _load(outs[0])["spotters"]

    def prf(d: dict[str, Any]) -> str:
        return f"{d['precision']:.3f} / {d['recall']:.3f} / {d['f1']:.3f}"

    rows = []
    for sp, r in res.items():
        fa = r["real"]
        rate = "n/a" if fa["micro_alarms_per_min"] is None else f"{fa['micro_alarms_per_min']:.1f}"
        rows.append([sp, prf(r["micro"]), prf(r["macro"]), f"{r['overall']['f1']:.3f}",
                     f"{r['update_ms_median']:.2f} / {r['update_ms_p95']:.2f}", f"{rate} ({fa['micro_alarms']} in {fa['face_minutes']:.2f} min)"])
    return ["spotter", "micro P / R / F1", "macro P / R / F1", "overall F1", "update ms/frame (median / p95)",
            "false micro alarms/min (real clips)"], rows


def collect_faces_cost(outs: list[Path], _out: list[str], _tmp: Path) -> Table:
    from mer_lab.benchmarks.faces import FacesRun, format_faces_table

    runs = [FacesRun(r["max_faces"], r["realtime"], r["stats"]) for r in _load(outs[0]).values()]
    return parse_md_table(format_faces_table(runs))


def collect_identity(_outs: list[Path], stdouts: list[str], _tmp: Path) -> Table:
    return parse_md_table(stdouts[0])


def collect_alignment(_outs: list[Path], stdouts: list[str], _tmp: Path) -> Table:
    """``tools/measure_alignment.py`` prints ``## title`` sections of space-aligned columns; the error tables
    (sections ``(a)``) become one table with the section as the first column."""
    cols: list[str] = ["input"]
    rows: list[dict[str, str]] = []
    title, head = "", None
    for line in stdouts[0].splitlines():
        if line.startswith("## "):
            title, head = line[3:].strip(), None
            continue
        if not title.startswith("(a)") or not line.strip():
            continue
        cells = re.split(r"\s{2,}", line.strip())
        if head is None:
            head = cells
            cols += [c for c in head if c not in cols]
        else:
            rows.append({"input": title[4:]} | dict(zip(head, cells, strict=False)))
    if not rows:
        raise ReportError("measure_alignment printed no (a) section; check its output")
    return cols, [[r.get(c, "") for c in cols] for r in rows]


def _alignment_sections(text: str) -> dict[str, dict[str, dict[str, str]]]:
    """``measure_alignment`` output: section title -> method -> column -> cell."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    title, head = "", None
    for line in text.splitlines():
        if line.startswith("## "):
            title, head = line[3:].strip(), None
            out[title] = {}
            continue
        if not title or not line.strip() or line.startswith((" ", "measure_alignment")):
            continue
        cells = re.split(r"\s{2,}", line.strip())
        if head is None:
            head = cells
        else:
            out[title][cells[0]] = dict(zip(head, cells, strict=False))
    return out


def collect_alignment_gray(_outs: list[Path], stdouts: list[str], _tmp: Path) -> Table:
    """The default aligner (tracked + smoothed, every 16) on colour frames and on gray frames: error and CPU time."""
    bgr, gray = (_alignment_sections(t) for t in stdouts[:2])
    rows = []
    for title, methods in bgr.items():
        if not title.startswith(("(a)", "(b)")) or "tracked+smoothed" not in methods:
            continue
        b, g = methods["tracked+smoothed"], gray.get(title, {}).get("tracked+smoothed", {})
        truth = "truth_mean" in b and b["truth_mean"] not in ("", "-")
        key = ("truth_mean", "truth_p95") if truth else ("vs_mesh_mean", "vs_mesh_p95")
        rows.append([title[4:], "known motion" if truth else "per-frame FaceMesh on colour",
                     f"{b.get(key[0], '–')} / {b.get(key[1], '–')}", f"{g.get(key[0], '–')} / {g.get(key[1], '–')}",
                     f"{b.get('cpu_ms', '–')} → {g.get('cpu_ms', '–')}"])
    if not rows:
        raise ReportError("measure_alignment printed no tracked+smoothed rows; check its output")
    return ["input", "error against", "colour frames: mean / p95 (crop px)", "gray frames: mean / p95", "CPU ms per frame, colour → gray"], rows


def collect_lofo(_outs: list[Path], _out: list[str], tmp: Path) -> Table:
    rows, folds = [], None
    for m, r in _LOFO:
        x = _load(tmp / "runs" / f"{m}-{r}" / "metrics.json")
        names = [f["fold"] for f in x["per_fold"]]
        folds = folds or names
        rows.append([m, r, f"{x['uf1']:.3f}", f"{x['uar']:.3f}", f"{x['accuracy']:.3f}",
                     " / ".join(f"{f['uf1']:.2f}" for f in x["per_fold"]),
                     " / ".join(str(f.get("epochs_run", "–")) for f in x["per_fold"]), f"{x['seconds']:.0f}"])
    return ["model", "recipe", "UF1", "UAR", "acc", f"UF1 per fold ({' / '.join(folds or [])})", "epochs per fold", "train s"], rows


BENCHES: dict[str, Bench] = {b.name: b for b in (
    Bench("pipeline", "pipeline", collect_pipeline, "end-to-end fps, stage latency, drops, memory of the real CLI"),
    Bench("backends", "backends", collect_backends, "inference latency per model, backend and batch"),
    Bench("models-event", "models-event", collect_models_event, "per-event recognition cost of every live model"),
    Bench("models-live", "models-live", collect_models_live, "every model live on the demo paced at 200 fps (needs runs/M-all/model.onnx)"),
    Bench("soak", "soak", collect_soak, "10 minutes paced at 200 fps: memory, drops, emit latency"),
    Bench("throughput", "throughput", collect_throughput, "realtime-mer against decoding the same file, with CPU per stage"),
    Bench("spotting-reporting", "spotting-reporting", collect_faces, "spotting on the reporting faces, per condition and variant"),
    Bench("spotting-false-alarms", "spotting-reporting", collect_false_alarms, "false micro alarms on untouched real clips"),
    Bench("spotting-tuning", "spotting-tuning", collect_faces, "spotting on the tuning faces (transparency, not results)"),
    Bench("spotting-held", "spotting-held", collect_held, "held-face synthetic benchmark, the shipped spotters"),
    Bench("spotting-held-baselines", "spotting-held-baselines", collect_held_baselines, "held-face benchmark, roiflow against gru and lbp"),
    Bench("alignment", "alignment", collect_alignment, "face alignment error against known motion and per-frame FaceMesh"),
    Bench("faces", "faces", collect_faces_cost, "the cost of 1, 2 and 4 faces on one 640x480 200 fps clip, and 2 faces paced at 200 fps"),
    Bench("identity", "identity", collect_identity, "face ids on composited real faces: swaps, ids per person, coverage"),
    Bench("alignment-gray", "alignment-gray", collect_alignment_gray, "the aligner on colour and on gray frames (issue 24)"),
    Bench("lofo-synthetic", "lofo-synthetic", collect_lofo, "leave-one-face-out training of every model on synthetic clips"),
)}


# ---------------------------------------------------------------- data files and markers


def machine() -> str:
    """This machine in a few words: cores, CPU model, GPU (or none)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = ""
    if shutil.which("nvidia-smi"):
        q = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
        gpu = ", ".join(g for g in dict.fromkeys(q.stdout.splitlines()) if g.strip()) if q.returncode == 0 else ""
    return f"{os.cpu_count()}-core CPU ({cpu}), {gpu or 'no GPU'}"


def render(data: dict[str, Any]) -> str:
    """A table block: the caption (date, machine, command, note) and the Markdown table."""
    cap = f"*Measured {data['date']} on {data['machine']}: `{data['command']}`.*"
    if data.get("note"):
        cap += f" {data['note']}"
    cols, rows = data["columns"], data["rows"]
    for r in rows:
        if len(r) != len(cols):
            raise ReportError(f"{data['name']}: a row has {len(r)} cells for {len(cols)} columns; fix docs/benchmarks/data/{data['name']}.json")
    lines = [cap, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols), *("| " + " | ".join(r) + " |" for r in rows)]
    return "\n".join(lines) + "\n"


def markers(text: str, where: str = "") -> list[str]:
    """The bench names marked in ``text``, checking that every marker opens, closes and is not nested."""
    names, open_name = [], None
    for m in MARKER.finditer(text):
        closing, name = m.group(1) == "/", m.group(2)
        if not closing:
            if open_name is not None:
                raise ReportError(f"{where}: bench:{name} opens inside bench:{open_name}; close that one first")
            open_name = name
        else:
            if open_name != name:
                raise ReportError(f"{where}: /bench:{name} closes {'nothing' if open_name is None else 'bench:' + open_name}")
            names.append(name)
            open_name = None
    if open_name is not None:
        raise ReportError(f"{where}: bench:{open_name} is never closed; add <!-- /bench:{open_name} -->")
    return names


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with everything between the markers of ``name`` replaced by ``body`` (the markers kept)."""
    pat = re.compile(rf"(^<!-- bench:{re.escape(name)} -->[ \t]*\n)(.*?)(^<!-- /bench:{re.escape(name)} -->)", re.DOTALL | re.MULTILINE)
    new, n = pat.subn(lambda m: m.group(1) + body + m.group(3), text)
    if n == 0:
        raise ReportError(f"no <!-- bench:{name} --> … <!-- /bench:{name} --> block to replace")
    return new


def pages(docs: Path) -> dict[str, Path]:
    """Every marked table in ``docs``: name → the page holding it (a name may be marked once only)."""
    found: dict[str, Path] = {}
    for page in sorted(docs.rglob("*.md")):
        for name in markers(page.read_text(encoding="utf-8"), str(page)):
            if name in found:
                raise ReportError(f"bench:{name} is marked in both {found[name]} and {page}; keep one")
            found[name] = page
    return found


def update_pages(docs: Path, data_dir: Path, names: Sequence[str] | None = None, write: bool = True) -> list[str]:
    """Re-render the tables ``names`` (default: all marked) from ``data_dir``; return the names whose text changed."""
    where = pages(docs)
    unknown = sorted(set(where) - set(BENCHES))
    if unknown:
        raise ReportError(f"marked in the docs but not in tools/bench_report.py BENCHES: {', '.join(unknown)}")
    changed = []
    for name in names or list(where):
        if name not in where:
            raise ReportError(f"bench:{name} is not marked in any page of {docs}")
        path = data_dir / f"{name}.json"
        if not path.is_file():
            raise ReportError(f"no saved data for bench:{name} ({path}); run python tools/bench_report.py --only {name}")
        page = where[name]
        text = page.read_text(encoding="utf-8")
        new = replace_block(text, name, render(_load(path)))
        if new != text:
            changed.append(name)
            if write:
                page.write_text(new, encoding="utf-8")
    return changed


def measure(run_name: str, dry_run: bool = False) -> tuple[list[Path], list[str], Path]:
    """Run a measurement's commands from the repository root; return their output files, stdouts and tmp folder."""
    run = RUNS[run_name]
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{run_name}-"))
    outs, stdouts = [], []
    for k, argv in enumerate(run.argv):
        out = tmp / f"out{k}.json"
        cmd = [a.replace("{python}", sys.executable).replace("{out}", str(out)).replace("{tmp}", str(tmp)) for a in argv]
        print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
        if dry_run:
            continue
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ReportError(f"{run_name}: `{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
        outs.append(out)
        stdouts.append(proc.stdout)
    return outs, stdouts, tmp


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true", help="list every table, its command and its page")
    ap.add_argument("--only", help="comma-separated table names (default: every marked table)")
    ap.add_argument("--from-json", action="store_true", help="re-render the tables from the saved data; run nothing")
    ap.add_argument("--check", action="store_true", help="exit 1 when a page differs from its saved data; write nothing")
    ap.add_argument("--dry-run", action="store_true", help="print the commands a measurement would run; run nothing")
    ap.add_argument("--note", default="", help="a sentence for the caption of the tables measured now")
    ap.add_argument("--docs", type=Path, default=DOCS, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    data_dir = a.data or a.docs / "benchmarks" / "data"
    try:
        names = [n for n in (a.only or "").split(",") if n]
        bad = [n for n in names if n not in BENCHES]
        if bad:
            raise ReportError(f"unknown table(s) {', '.join(bad)}; python tools/bench_report.py --list names them")
        if a.list:
            where = pages(a.docs)
            for b in BENCHES.values():
                page = where[b.name].relative_to(a.docs.parent) if b.name in where else "(not marked in any page)"
                print(f"{b.name}: {b.what}\n    page: {page}\n    run:  {RUNS[b.run].command}")
            return 0
        if a.from_json or a.check:
            changed = update_pages(a.docs, data_dir, names or None, write=not a.check)
            if a.check and changed:
                print(f"out of date with docs/benchmarks/data: {', '.join(changed)}; run python tools/bench_report.py --from-json",
                      file=sys.stderr)
                return 1
            print(f"{'would change' if a.check else 'changed'}: {', '.join(changed) or 'nothing'}")
            return 0
        todo = names or list(pages(a.docs))
        runs = list(dict.fromkeys(BENCHES[n].run for n in todo))
        today, host = dt.date.today().isoformat(), machine()
        for run_name in runs:
            outs, stdouts, tmp = measure(run_name, a.dry_run)
            if a.dry_run:
                continue
            for b in (b for b in BENCHES.values() if b.run == run_name and b.name in todo):
                cols, rows = b.collect(outs, stdouts, tmp)
                data = {"name": b.name, "command": RUNS[run_name].command, "date": today, "machine": host,
                        "note": a.note, "columns": cols, "rows": rows}
                data_dir.mkdir(parents=True, exist_ok=True)
                (data_dir / f"{b.name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
                update_pages(a.docs, data_dir, [b.name])
                print(f"{b.name}: measured and replaced")
            shutil.rmtree(tmp, ignore_errors=True)
        return 0
    except ReportError as e:
        print(f"bench_report.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
