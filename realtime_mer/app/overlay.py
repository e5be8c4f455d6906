"""Live terminal overlay (rich), readable from an 80x24 terminal up.

Top to bottom: what runs (source, model, backend, spotter); the rates (requested / camera /
processing fps); frames and drops; the spotter's state (watching, calibrating, busy, face lost) and
the blind share; stage latencies; the spotting signal against its threshold over the last seconds
of the stream with a time scale; the latest events, newest first; warnings. The layout is computed
for the console's size at each refresh: the graph and the event columns widen with the terminal,
the event list takes the rows that are left, and the latest event is always on screen (the
latency line and warnings give way first on a short terminal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

if TYPE_CHECKING:
    from realtime_mer.app.pipeline import Pipeline
    from realtime_mer.app.run_state import RunRecord

_BLOCKS = " ▁▂▃▄▅▆▇█"
_UI_STAGES = (("face", "face"), ("spotting", "spot"), ("recognition", "recog"), ("total", "total"))
_LABEL_STYLE = {"negative": "red", "positive": "green", "surprise": "yellow"}
GRAPH_SECONDS = 4.0  # the graph shows this much of the stream (>= 2 s; the run state keeps enough samples)
GRAPH_ROWS = 3
GRAPH_HEADROOM = 3.0  # the scale ends at most this many times above the threshold: taller peaks are cut, the threshold stays in view
_MARGIN = 6  # y-axis labels left of the graph


def bin_signal(t: np.ndarray, sig: np.ndarray, thr: np.ndarray, cells: int, window_s: float,
               end: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per cell of the last ``window_s`` seconds (ending at ``end``, default the newest sample): the largest signal (a
    30 ms peak is never averaged away) and the last threshold; NaN where a cell has no sample."""
    out_s = np.full(cells, np.nan)
    out_t = np.full(cells, np.nan)
    if len(t) == 0:
        return out_s, out_t
    start = (t[-1] if end is None else max(end, t[-1])) - window_s
    keep = t > start
    idx = np.minimum(((t[keep] - start) / window_s * cells).astype(int), cells - 1)
    s, th = sig[keep], thr[keep]
    ok = np.isfinite(s)
    if ok.any():
        np.fmax.at(out_s, idx[ok], s[ok])
        out_t[idx[ok]] = th[ok]  # later samples overwrite: the last threshold of the cell
    return out_s, out_t


def graph_top(s: np.ndarray, th: np.ndarray, rows: int = GRAPH_ROWS) -> float:
    """The value at the top of the graph: about the largest signal, but at least 1.25 and at most ``GRAPH_HEADROOM``
    times the threshold, so the threshold is always on screen (a taller peak is cut at the top, in red); rounded so
    the threshold falls on a row boundary and its line gets a row of its own above the bars below it."""
    thr = float(np.nanmax(th)) if np.isfinite(th).any() else np.nan
    peak = float(np.nanmax(s)) if np.isfinite(s).any() else np.nan
    if not np.isfinite(thr) or thr <= 0:
        return max(peak, 1e-9) if np.isfinite(peak) else 1e-9
    want = max(1.25 * thr, min(peak, GRAPH_HEADROOM * thr)) if np.isfinite(peak) else 1.25 * thr
    below = max(1, min(rows - 1, int(rows * thr / want)))  # whole rows under the threshold
    return thr * rows / below


def signal_graph(t: np.ndarray, sig: np.ndarray, thr: np.ndarray, width: int, rows: int = GRAPH_ROWS,
                 window_s: float = GRAPH_SECONDS, end: float | None = None, with_axis: bool = True) -> Text:
    """``rows`` rows of bars (red above the threshold), the threshold a ─ line wherever the signal is below it and its
    value on the scale, a y scale on the left and (``axis``) a time axis below: seconds before the newest sample (or
    before ``end``, the stream's newest time, so a face out of view scrolls away); ``with_axis``: draw the time axis."""
    cells = max(10, width - _MARGIN)
    s, th = bin_signal(np.asarray(t, np.float64), np.asarray(sig, np.float64), np.asarray(thr, np.float64), cells, window_s, end)
    text = Text(no_wrap=True, overflow="crop")
    top = graph_top(s, th, rows)
    n = rows * 8
    lv = np.where(np.isfinite(s), np.clip(np.round(s / top * n), 0, n), -1).astype(int)
    tl = np.where(np.isfinite(th), np.clip(np.round(th / top * n), 1, n), -1).astype(int)
    line_row = np.minimum(rows - 1, -(-tl // 8))  # the row just above the threshold (the top row when it is that high)
    last = th[np.isfinite(th)][-1] if np.isfinite(th).any() else np.nan
    label_row = int(min(rows - 1, -(-int(np.clip(round(last / top * n), 1, n)) // 8))) if np.isfinite(last) else -1
    for r in range(rows - 1, -1, -1):
        if r == label_row:  # the threshold's value beside its line
            text.append(f"{last:5.1f}", style="yellow")
            text.append("┤", style="dim")
        else:
            label = f"{top:5.1f}" if r == rows - 1 else ("  0.0" if r == 0 else "")
            text.append(f"{label:>5}│", style="dim")
        for c in range(cells):
            if lv[c] < 0:
                text.append("·" if r == 0 else " ", style="dim")  # no face / no sample
                continue
            h = min(8, max(0, lv[c] - 8 * r))
            if tl[c] > 0 and r == line_row[c] and lv[c] <= tl[c]:  # at or below the threshold: its line shows
                text.append("─", style="yellow")
            else:
                text.append(_BLOCKS[h], style="bold red" if s[c] > th[c] else "cyan")
        text.append("\n")
    if not with_axis:
        text.rstrip()
        return text
    text.append(" " * (_MARGIN - 1) + "└", style="dim")
    axis = [" "] * cells
    step = 1.0 if window_s <= 6 else 2.0
    for k in range(int(window_s / step) + 1):
        sec = k * step
        col = cells - 1 - round(sec / window_s * (cells - 1))
        lab = "now" if sec == 0 else f"-{sec:g}s"
        at = max(0, min(cells - len(lab), col - (len(lab) - 1 if sec == 0 else len(lab) // 2)))
        if all(ch == " " for ch in axis[max(0, at - 1):at + len(lab) + 1]):
            axis[at:at + len(lab)] = list(lab)
    text.append("".join(axis), style="dim")
    return text


def _rates(st: Any, achieved: float) -> str:
    req = f"{st.fps_requested:.0f}" if st.fps_requested else "-"
    cam = f"{st.fps_granted:.1f}".rstrip("0").rstrip(".") if st.fps_granted else "-"
    what = "camera" if st.total_frames is None else "source"  # a file's / the demo's own rate
    line = f"fps  requested {req} · {what} {cam}"
    if st.fps_container and st.fps_granted and abs(st.fps_container - st.fps_granted) > 0.01 * st.fps_granted:
        line += f" (container {st.fps_container:g})"  # --fps set a video's time base
    line += f" · processing [bold]{achieved:.0f}[/bold]"
    if st.total_frames and st.fps_granted and achieved > 1.05 * st.fps_granted:
        line += " [dim](not paced: faster than real time)[/dim]"  # a file or the demo without --realtime
    return line


def _state(st: Any) -> str:
    if not st.face_present:
        state = "[bold red]FACE LOST[/] — spotting paused" if st.processed else "[dim]waiting for the first frame[/]"
    elif st.calibrating:
        state = "[yellow]CALIBRATING[/] (blind)"
    elif st.blind:
        state = "[yellow]BUSY / RE-ACQUIRING[/] (blind)"
    else:
        state = "[green]WATCHING[/]"
    if st.processed:
        no_face = st.processed - st.with_face
        share = 100.0 * (st.blind_frames + no_face) / st.processed
        state += f" · blind {share:.1f} % (spotter {st.blind_frames}, no face {no_face})"
    return "spotter " + state


def _face_state(fs: Any, now_s: float) -> str:
    """One face's line (several faces): its id, state, events and blind share."""
    if now_s - fs.last_s > 0.25:
        state = f"[red]out of view[/] {now_s - fs.last_s:.1f} s"
    elif fs.small:
        state = "[yellow]TOO SMALL[/] to spot (tracked)"
    elif fs.calibrating:
        state = "[yellow]CALIBRATING[/]"
    elif fs.blind:
        state = "[yellow]BUSY[/]"
    else:
        state = "[green]WATCHING[/]"
    blind = 100.0 * fs.blind_frames / fs.frames if fs.frames else 0.0
    return f"[bold]face {fs.face_id}[/] {state} · {fs.events} events · blind {blind:.0f} %"


def _faces_line(st: Any) -> str:
    """The state line with several faces: how many are followed now, and the run's blind share."""
    line = f"faces {st.faces_now} followed now (up to {st.max_faces}) · {len(st.faces)} seen in all"
    if st.processed:
        no_face = st.processed - st.with_face
        line += f" · no face {100.0 * no_face / st.processed:.1f} % of frames"
    return line


def shown_faces(st: Any, room: int) -> list[Any]:
    """The faces the overlay has room for: the most recently seen first (ties: lower id), at most ``room``."""
    faces = sorted(st.faces.values(), key=lambda f: (-f.last_s, f.face_id))
    return sorted(faces[: max(0, room)], key=lambda f: f.face_id)


def _latency(p: Any) -> str:
    parts = []
    for stage, short in _UI_STAGES:
        v = p.latency.recent(stage)
        if len(v):
            p50, p95 = np.percentile(v, [50, 95])
            parts.append(f"{short} {p50:.1f}/{p95:.1f}")
    return "ms p50/p95  " + "  ".join(parts) if parts else ""


def _event_header(wide: bool, face: bool = False) -> str:
    """Column names over the event rows, aligned with ``_event_row``."""
    head = f"{'apex':>11}  {'type':<5}  {'label':<8}  {'conf':>4}  {'duration':>8}"
    if face:
        head = f"{'face':<8}{head}"
    return f"[dim]{head}  frames onset-apex-offset, spotting z[/dim]" if wide else f"[dim]{head}[/dim]"


def _event_row(e: Any, wide: bool, face: bool = False) -> str:
    style = _LABEL_STYLE.get(e.label, "")
    label = f"[{style}]{e.label:<8}[/]" if style else f"{e.label:<8}"
    row = f"{e.apex_s:9.2f} s  {e.type:<5}  {label}  {e.confidence:4.2f}  {e.duration_ms:5.0f} ms"
    if face:
        row = f"face {e.face_id:<2} {row}"
    if wide:
        row += f"  frames {e.onset_frame}-{e.apex_frame}-{e.offset_frame}  z {e.spot_score:.1f}"
    return row


class Overlay:
    """The overlay of one run, laid out for the console's size each time it is drawn."""

    def __init__(self, p: Pipeline | RunRecord) -> None:
        self.p = p

    def lines(self, width: int, height: int) -> list[Text]:
        p, st = self.p, self.p.state
        one = lambda markup: Text.from_markup(markup, overflow="ellipsis", end="")  # noqa: E731
        head = [
            one(f"[bold]realtime-mer[/] · {st.source} · {st.model} on {st.backend} · spotter {st.spotter}"),
            one(_rates(st, p.achieved_fps)),
            one(f"frames {st.processed}" + (f"/{st.total_frames}" if st.total_frames else "") +
                f" processed · {st.captured} captured · " + (f"[red]{st.dropped} dropped[/]" if st.dropped else "[green]0 dropped[/]")),
            one(_state(st)),
        ]
        lat = _latency(p)
        events = list(reversed(st.events))
        warnings = [one(f"[yellow]warning: {w}[/]") for w in st.warnings[-2:]]
        multi = st.max_faces > 1
        rows = GRAPH_ROWS if height < 36 else 2 * GRAPH_ROWS  # a tall terminal gets a finer graph
        if multi:  # a line and a graph per face: the most recently seen ones that fit (two at 80x24)
            head[-1] = one(_faces_line(st))
            rows = GRAPH_ROWS
            faces = shown_faces(st, 2 if height < 36 else max(2, (height - 14) // (rows + 1)))
            graph_lines: list[Text] = []
            for k, fs in enumerate(faces):
                graph_lines.append(one(_face_state(fs, st.now_s)))
                g = signal_graph(np.asarray(fs.signal_t), np.asarray(fs.signal), np.asarray(fs.threshold), width, rows,
                                 end=st.now_s, with_axis=k == len(faces) - 1)
                graph_lines.extend(list(g.split("\n")))
            if not faces:
                graph_lines.append(one("[dim]no face yet[/]"))
            more = len(st.faces) - len(faces)
            title: Text | None = one(f"[bold]signal per face[/] vs threshold [yellow]─[/], last {GRAPH_SECONDS:g} s"
                                     + (f" ({more} more face(s) not shown)" if more > 0 else ""))
        else:
            graph = signal_graph(np.asarray(st.signal_t), np.asarray(st.signal), np.asarray(st.threshold), width, rows)
            graph_lines = list(graph.split("\n"))
            title = one(f"[bold]signal[/] (noise units) vs threshold [yellow]─[/], last {GRAPH_SECONDS:g} s of the stream")
        ev_title = one(f"[bold]events[/] ({st.n_events}) newest first" + ("" if events else " — none yet"))
        budget = height - 1  # the live display keeps the cursor's line
        fixed = len(head) + 1 + len(graph_lines) + 1 + 2 * min(1, len(events))  # the events' title, header, latest
        out = list(head)
        if lat and fixed + 1 <= budget:
            out.append(one(lat))
            fixed += 1
        if fixed > budget:  # a very short terminal: the graph gives way, the latest event stays
            graph_lines, title = [], None
        if title is not None:
            out.append(title)
            out.extend(graph_lines)
        out.append(ev_title)
        wide = width >= 110
        if events:
            out.append(one(_event_header(wide, multi)))
        room = max(1, budget - len(out) - len(warnings))
        out.extend(one(_event_row(e, wide, multi)) for e in events[:room])
        out.extend(warnings[: max(0, budget - len(out))])
        for t in out:
            t.no_wrap = True
            t.overflow = "ellipsis"
            t.truncate(width, overflow="ellipsis")
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or console.height or 24
        yield Text("\n").join(self.lines(options.max_width, height))


def render(p: Pipeline | RunRecord) -> Overlay:
    """The overlay of ``p`` (a pipeline or its run record); lays itself out when drawn."""
    return Overlay(p)


__all__ = ["GRAPH_SECONDS", "Overlay", "bin_signal", "render", "signal_graph"]
