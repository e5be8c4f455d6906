"""Timeline picture: spotting signal, threshold, detected intervals (coloured by label) and,
when given, the true intervals — what a researcher looks at to trust or tune the spotter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from realtime_mer.types import Event, Interval

LABEL_COLOURS = {"negative": "tab:red", "positive": "tab:green", "surprise": "tab:orange", "unknown": "tab:gray"}
Labelled = tuple[Interval, str]  # a detected interval and the class it was given


def labelled(events: Sequence[Event]) -> list[Labelled]:
    """(interval, label) of every event."""
    return [(e.interval(), e.label) for e in events]


def read_truth(path: Path, video: str | None = None) -> list[Interval]:
    """Truth intervals of one video (or all) from a generator ``truth.csv`` (validated by ``read_truth_csv``)."""
    from realtime_mer.synth.truth import read_truth_csv

    rows = read_truth_csv(Path(path))
    return [t.interval for t in rows if video is None or Path(t.video).stem == Path(video).stem]


def read_trace(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A trace CSV (frame, signal, threshold) as written next to a ``--timeline`` PNG."""
    if len(Path(path).read_text().splitlines()) < 2:  # the header alone: no frames
        return np.zeros(0), np.zeros(0), np.zeros(0)
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return a[:, 0], a[:, 1], a[:, 2]


def write_trace(path: Path, frames: Sequence[int], signal: Sequence[float], threshold: Sequence[float]) -> None:
    a = np.column_stack([np.asarray(frames, np.float64), np.asarray(signal), np.asarray(threshold)]) if len(frames) else np.zeros((0, 3))
    np.savetxt(path, a, delimiter=",", header="frame,signal,threshold", comments="", fmt=["%d", "%.6g", "%.6g"])


def plot(
    out: Path,
    frames: np.ndarray,
    signal: np.ndarray,
    threshold: np.ndarray,
    detected: Sequence[Labelled],
    truth: Sequence[Interval] = (),
    title: str = "",
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(14, 4), dpi=110)
    if len(frames):
        ax.plot(frames, signal, lw=0.8, color="tab:blue", label="spotting signal")
        ax.plot(frames, threshold, lw=0.8, color="k", ls="--", label="threshold")
    top = float(max(np.max(signal) if len(signal) else 1.0, np.max(threshold) if len(threshold) else 1.0, 1e-6))
    for s in truth:
        ax.axvspan(s.onset, s.offset + 1, ymin=0.0, ymax=0.08, color="tab:purple", alpha=0.6, lw=0)
    for s, label in detected:
        c = LABEL_COLOURS.get(label, "tab:gray")
        ax.axvspan(s.onset, s.offset + 1, color=c, alpha=0.25 if s.kind == "micro" else 0.12, lw=0)
        ax.text(s.onset, top * 1.02, f"{s.kind[:2]}:{label[:3]}", fontsize=7, color=c)
    from matplotlib.patches import Patch

    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(color=c, alpha=0.3, label=f"detected {k}") for k, c in LABEL_COLOURS.items() if any(label == k for _, label in detected)]
    if truth:
        handles.append(Patch(color="tab:purple", alpha=0.6, label="ground truth"))
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    ax.set_xlabel("frame")
    ax.set_ylabel("signal")
    ax.set_ylim(0, top * 1.12)
    ax.set_title(title or "realtime-mer timeline")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return Path(out)


def plot_timeline(timeline: Any, events: Sequence[Event], out: Path, title: str = "", truth: Sequence[Interval] = ()) -> Path:
    """Plot a pipeline ``Timeline`` and its events; also writes ``<out>.trace.csv`` for re-plotting."""
    out = Path(out)
    write_trace(out.with_suffix(".trace.csv"), timeline.frames, timeline.signal, timeline.threshold)
    return plot(out, np.asarray(timeline.frames), np.asarray(timeline.signal), np.asarray(timeline.threshold), labelled(events), truth, title)
