"""Live terminal overlay (rich): source and rates, drops, per-stage latency, face status,
a sparkline of the spotting signal against its threshold, and the latest events."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from realtime_mer.pipeline import Pipeline

_BLOCKS = " ▁▂▃▄▅▆▇█"
_UI_STAGES = ("face", "spotting", "recognition", "total")


def sparkline(signal: np.ndarray, threshold: np.ndarray, width: int = 80) -> Text:
    """Two-row sparkline; cells above the threshold are red, the threshold level is marked ─."""
    sig = np.asarray(signal, np.float64)[-width:]
    thr = np.asarray(threshold, np.float64)[-width:]
    text = Text()
    if len(sig) == 0:
        return text.append("(waiting for signal)", style="dim")
    top = max(float(np.max(sig)), float(np.max(thr)) * 1.25, 1e-9)
    levels = np.clip(np.round(sig / top * 16), 0, 16).astype(int)  # 2 rows x 8 levels
    tl = np.clip(np.round(thr / top * 16), 0, 16).astype(int)
    for row in (1, 0):
        for lv, t, s, th in zip(levels, tl, sig, thr, strict=True):
            h = min(8, max(0, lv - 8 * row))
            above = s > th
            if h == 0 and (t - 8 * row) in range(1, 9):
                text.append("─", style="yellow")
            else:
                text.append(_BLOCKS[h], style="bold red" if above else "cyan")
        text.append("\n")
    text.append(f"signal {sig[-1]:.2f}  threshold {thr[-1]:.2f}", style="dim")
    return text


def render(p: Pipeline) -> Group:
    st = p.state
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    req = f"{st.fps_requested:.0f}" if st.fps_requested else "-"
    granted = f"{st.fps_granted:.1f}" if st.fps_granted else "-"
    head.add_row("source", st.source)
    head.add_row("fps", f"requested {req} · granted {granted} · achieved [bold]{p.achieved_fps:.0f}[/bold]")
    frames = f"{st.processed}" + (f"/{st.total_frames}" if st.total_frames else "")
    drop_style = "red" if st.dropped else "green"
    head.add_row("frames", f"{frames} processed · {st.captured} captured · [{drop_style}]{st.dropped} dropped[/{drop_style}]")
    if not st.face_present:
        face = "[bold red]NO FACE[/] — spotting paused" if st.processed else "[dim]waiting[/]"
    elif st.calibrating:
        face = "[yellow]face tracked — spotter calibrating (blind)[/]"
    elif st.blind:
        face = "[yellow]face tracked — spotter busy / re-acquiring (blind)[/]"
    else:
        face = "[green]face tracked — spotter watching[/]"
    head.add_row("face", face)
    if st.processed:
        no_face = st.processed - st.with_face
        share = 100.0 * (st.blind_frames + no_face) / st.processed
        head.add_row("blind", f"{share:.1f} % of frames (spotter {st.blind_frames}, no face {no_face})")
    head.add_row("model", f"{st.model} on {st.backend} · spotter {st.spotter}")

    lat = Table(title="stage latency (ms, last 200 frames)", expand=False, show_edge=False)
    lat.add_column("stage")
    lat.add_column("p50", justify="right")
    lat.add_column("p95", justify="right")
    for s in _UI_STAGES:
        v = p.latency.recent(s)
        if len(v):
            p50, p95 = np.percentile(v, [50, 95])
            lat.add_row(s, f"{p50:.2f}", f"{p95:.2f}")

    ev = Table(title=f"events ({st.n_events})", expand=False, show_edge=False)
    for c in ("time s", "type", "label", "conf", "dur ms"):
        ev.add_column(c, justify="right" if c != "label" else "left")
    for e in reversed(list(st.events)):
        style = {"negative": "red", "positive": "green", "surprise": "yellow"}.get(e.label, "")
        ev.add_row(f"{e.apex_s:.2f}", e.type, f"[{style}]{e.label}[/]" if style else e.label, f"{e.confidence:.2f}", f"{e.duration_ms:.0f}")

    spark = Panel(sparkline(np.asarray(st.signal), np.asarray(st.threshold)), title="spotting signal", expand=False)
    parts = [Panel(head, title="realtime-mer", expand=False), spark, lat, ev]
    if st.warnings:
        parts.append(Text("\n".join(f"warning: {w}" for w in st.warnings[-3:]), style="yellow"))
    return Group(*parts)
