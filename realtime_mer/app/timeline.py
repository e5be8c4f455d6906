"""Timeline picture: what the spotter saw and decided, so a researcher can tell why a movement was or
was not reported.

The x axis is the stream's time in seconds (frame numbers on the top axis); the spotting signal and
its threshold; shaded stretches where the face was lost or the spotter was blind (calibrating, busy
with a movement, re-acquiring its reference: nothing new could be detected there); detected
intervals coloured by label; true intervals (when given) as a strip at the bottom. The legend sits
outside the data.

With several faces there is one panel per face (``face_id``), one above the other on the same time axis, each with
that face's signal, threshold and blind stretches, the events of that face, and as "face lost" the frames between the
face's first and last frame on which it was not there.

The per-frame trace behind it is streamed to ``<png stem>.trace.csv`` during the run (``TraceWriter``:
bounded memory however long the run) and read back (``read_trace``) to plot at the end or later with
``tools/plot_timeline.py``. Columns: ``frame, time_s, face, signal, threshold, blind, face_id`` (face and blind
0/1; signal and threshold ``nan`` on frames without a face; ``face_id`` the tracked face's id, 0 with one face, -1 on a
frame without any face when several are followed). With several faces a frame has one row per face present. A trace
written before ``face_id`` existed (six columns) reads as face 0 throughout.

The model's per-frame intensity (a model with an intensity head) goes beside it to ``<name>.intensity.csv``, columns
``frame, intensity, source, face_id`` (files without ``source`` or ``face_id`` read as ``event`` and face 0).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from realtime_mer.errors import DataError, fail
from realtime_mer.types import Event, Interval

LABEL_COLOURS = {"negative": "tab:red", "positive": "tab:green", "surprise": "tab:orange", "unknown": "tab:gray"}
TRACE_COLUMNS = ("frame", "time_s", "face", "signal", "threshold", "blind", "face_id")
OLD_TRACE_COLUMNS = TRACE_COLUMNS[:-1]  # traces written before face_id: all face 0
FACE_LOST_COLOUR = "tab:red"
BLIND_COLOUR = "0.55"
MAX_PLOT_POINTS = 20000  # longer traces are drawn as per-bin maxima (peaks stay visible)
Labelled = tuple[Interval, str]  # a detected interval and the class it was given
Series = tuple[np.ndarray, np.ndarray]  # (frames, values)


def labelled(events: Sequence[Event]) -> list[Labelled]:
    """(interval, label) of every event."""
    return [(e.interval(), e.label) for e in events]


def face_ids(events: Sequence[Event]) -> list[int]:
    """The face of every event, in the order of ``labelled(events)`` (``plot``'s ``detected_faces``)."""
    return [int(e.face_id) for e in events]


def anchors(events: Sequence[Event]) -> tuple[np.ndarray, np.ndarray]:
    """(frame, seconds) pairs the events carry: they place frames in time when no trace is at hand."""
    f = [x for e in events for x in (e.onset_frame, e.offset_frame)]
    s = [x for e in events for x in (e.onset_s, e.offset_s)]
    return np.asarray(f, np.float64), np.asarray(s, np.float64)


def read_truth(path: Path, video: str | None = None) -> list[Interval]:
    """Truth intervals of one video (or all) from a generator ``truth.csv`` (validated by ``read_truth_csv``)."""
    from realtime_mer.synth.truth import read_truth_csv

    rows = read_truth_csv(Path(path))
    return [t.interval for t in rows if video is None or Path(t.video).stem == Path(video).stem]


@dataclass
class Trace:
    """The per-frame trace of a run (arrays of equal length, in frame order)."""

    frame: np.ndarray
    time_s: np.ndarray
    face: np.ndarray  # bool
    signal: np.ndarray  # NaN where there was no face
    threshold: np.ndarray
    blind: np.ndarray  # bool: the spotter could not detect anything new at this frame
    face_id: np.ndarray | None = None  # int: the row's face (-1: a frame without any face); None: all 0

    def __post_init__(self) -> None:
        if self.face_id is None:
            self.face_id = np.zeros(len(self.frame), np.int64)
        else:
            self.face_id = np.asarray(self.face_id, np.int64)

    @property
    def ids(self) -> np.ndarray:
        """``face_id`` (always an array)."""
        assert self.face_id is not None
        return self.face_id

    @classmethod
    def empty(cls) -> Trace:
        z = np.zeros(0)
        return cls(z, z, z.astype(bool), z, z, z.astype(bool), z.astype(np.int64))

    def __len__(self) -> int:
        return len(self.frame)

    def faces(self) -> list[int]:
        """The face ids in the trace (-1, a frame without any face, is none), sorted."""
        return sorted(int(i) for i in np.unique(self.ids) if i >= 0)

    def for_face(self, face_id: int) -> Trace:
        """Face ``face_id``'s trace, one row per frame of the run from its first frame to its last: its own rows, and
        on the frames it was not there a row without a face (``face`` False, NaN signal, blind)."""
        mine = np.flatnonzero(self.ids == face_id)
        if not len(mine):
            return Trace.empty()
        if len(mine) == len(self) and len(np.unique(self.frame)) == len(self):  # one face, one row per frame: as it is
            return self
        frames, first = np.unique(self.frame, return_index=True)
        lo, hi = self.frame[mine].min(), self.frame[mine].max()
        sel = (frames >= lo) & (frames <= hi)
        frames, times = frames[sel], self.time_s[first[sel]]
        n = len(frames)
        face, blind = np.zeros(n, bool), np.ones(n, bool)
        signal, threshold = np.full(n, np.nan), np.full(n, np.nan)
        at = np.searchsorted(frames, self.frame[mine])
        face[at], blind[at] = self.face[mine], self.blind[mine]
        signal[at], threshold[at] = self.signal[mine], self.threshold[mine]
        return Trace(frames, times, face, signal, threshold, blind, np.full(n, face_id, np.int64))


class TraceWriter:
    """Streams trace rows to a CSV as they come (nothing is kept in memory)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._f: IO[str] | None = self.path.open("w", encoding="utf-8", buffering=1 << 16)
        self._f.write(",".join(TRACE_COLUMNS) + "\n")
        self.rows = 0

    def row(self, frame: int, time_s: float, face: bool, signal: float, threshold: float, blind: bool,
            face_id: int = 0) -> None:
        """One face's row of a frame (``face_id`` -1: a frame without any face, when several faces are followed)."""
        if self._f is None:
            return
        sig = f"{signal:.5g}" if face else "nan"
        thr = f"{threshold:.5g}" if face else "nan"
        self._f.write(f"{frame},{time_s:.6f},{int(face)},{sig},{thr},{int(blind)},{face_id}\n")
        self.rows += 1

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def write_trace(path: Path, trace: Trace) -> None:
    """Write a whole ``Trace`` (tests, re-plotting)."""
    with TraceWriter(path) as w:
        for i in range(len(trace)):
            w.row(int(trace.frame[i]), float(trace.time_s[i]), bool(trace.face[i]), float(trace.signal[i]),
                  float(trace.threshold[i]), bool(trace.blind[i]), int(trace.ids[i]))


def read_trace(path: Path) -> Trace:
    """A trace CSV as ``TraceWriter`` writes it (or as it did before ``face_id``: all face 0); a one-line
    ``DataError`` for anything else."""
    path = Path(path)
    fix = "pass the .trace.csv written next to a --timeline PNG"
    try:
        with path.open(encoding="utf-8") as f:
            header = tuple(c.strip() for c in f.readline().split(","))
            if header not in (TRACE_COLUMNS, OLD_TRACE_COLUMNS):
                raise fail(DataError, f"{path} is not a realtime-mer trace (header must be {','.join(TRACE_COLUMNS)})",
                           f"{fix} by this version")
            with warnings.catch_warnings():  # a header-only trace (a run without frames) is empty, not a warning
                warnings.simplefilter("ignore", UserWarning)
                a = np.loadtxt(f, delimiter=",", ndmin=2, dtype=np.float64)  # numpy's C reader: hours of frames are fine
    except (OSError, UnicodeDecodeError) as e:
        raise fail(DataError, f"cannot read trace {path} ({e})", fix) from None
    except ValueError as e:
        raise fail(DataError, f"{path} is not a valid trace: {str(e).splitlines()[0]}", fix) from None
    if a.size == 0:
        return Trace.empty()
    exact = [0, 1, 2, 5, 6] if len(header) == len(TRACE_COLUMNS) else [0, 1, 2, 5]
    if a.shape[1] != len(header) or not np.isfinite(a[:, exact]).all():
        raise fail(DataError, f"{path} is not a valid trace: {len(header)} columns with numeric frame, time_s, "
                   "face, blind" + (" and face_id" if len(header) == len(TRACE_COLUMNS) else "") + " expected", fix)
    ids = a[:, 6].astype(np.int64) if a.shape[1] == len(TRACE_COLUMNS) else np.zeros(len(a), np.int64)
    return Trace(a[:, 0].astype(np.int64), a[:, 1], a[:, 2] > 0, a[:, 3], a[:, 4], a[:, 5] > 0, ids)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in ``mask``."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(d[::2], d[1::2], strict=True)]


def _frame_to_time(frames: np.ndarray, times: np.ndarray) -> tuple[float, float] | None:
    """(seconds per frame, offset) of the least-squares line through the known (frame, time) pairs."""
    ok = np.isfinite(frames) & np.isfinite(times)
    f, t = frames[ok], times[ok]
    if len(np.unique(f)) < 2:
        return None
    slope, offset = np.polyfit(f, t, 1)
    return (float(slope), float(offset)) if slope > 0 else None


def _decimate(t: np.ndarray, *series: np.ndarray, n: int = MAX_PLOT_POINTS) -> tuple[np.ndarray, ...]:
    """At most ``n`` points: each bin's first time and the NaN-aware maximum of each series."""
    if len(t) <= n:
        return (t, *series)
    edges = np.linspace(0, len(t), n + 1).astype(int)
    out_t = t[edges[:-1]]
    outs = []
    for s in series:
        padded = np.where(np.isfinite(s), s, -np.inf)
        m = np.maximum.reduceat(padded, edges[:-1])
        outs.append(np.where(np.isfinite(m), m, np.nan))
    return (out_t, *outs)


def _by_face(x: Series | Mapping[int, Series] | None, panels: Sequence[int]) -> dict[int, Series]:
    """An intensity argument of ``plot`` per face: a plain (frames, values) pair is the only panel's (face 0's when
    there are several)."""
    if x is None:
        return {}
    if isinstance(x, Mapping):
        return {int(k): v for k, v in x.items()}
    return {panels[0] if len(panels) == 1 else 0: x}


def plot(
    out: Path,
    trace: Trace,
    detected: Sequence[Labelled],
    truth: Sequence[Interval] = (),
    title: str = "",
    anchor: tuple[np.ndarray, np.ndarray] | None = None,
    intensity: Series | Mapping[int, Series] | None = None,
    intensity_trace: Series | Mapping[int, Series] | None = None,
    detected_faces: Sequence[int] | None = None,
) -> Path:
    """Draw the timeline PNG. Frames are placed in time by the trace, else by ``anchor`` (frame, seconds)
    pairs (e.g. ``anchors(events)``); with neither, the x axis is frames. ``intensity`` (frames, values in
    [0, 1]): a recognition model's intensity over classified intervals (tcgru), dots on a right-hand axis;
    ``intensity_trace``: its continuous per-frame trace over sliding windows, a line on that axis; either may be a
    mapping face_id -> (frames, values) when there are several faces.

    One panel per face: the faces of the trace and those of the detected intervals (``detected_faces``: the face of
    each of ``detected``, e.g. ``face_ids(events)``; None: all face 0). With only face 0 there is one panel, as
    before faces were counted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    faces_of = [0] * len(detected) if detected_faces is None else [int(f) for f in detected_faces]
    if len(faces_of) != len(detected):
        raise ValueError(f"detected_faces has {len(faces_of)} ids for {len(detected)} intervals")
    panels = sorted(set(trace.faces()) | set(faces_of)) or [0]
    several = panels != [0]

    line = _frame_to_time(trace.frame.astype(np.float64), trace.time_s) if len(trace) else None
    if line is None and anchor is not None:
        line = _frame_to_time(*anchor)
    slope, offset = line if line is not None else (1.0, 0.0)
    in_seconds = line is not None

    def sec(frame: float) -> float:
        return slope * frame + offset

    n = len(panels)
    fig, axes = plt.subplots(n, 1, figsize=(14, 4.2 if n == 1 else 1.0 + 3.2 * n), dpi=110, sharex=True, squeeze=False)
    dots, lines = _by_face(intensity, panels), _by_face(intensity_trace, panels)
    for k, (face, ax) in enumerate(zip(panels, axes[:, 0], strict=True)):
        tr = trace.for_face(face) if several else trace
        mine = [d for d, f in zip(detected, faces_of, strict=True) if f == face]
        _panel(ax, tr, mine, truth, sec, slope, in_seconds, dots.get(face), lines.get(face))
        ax.set_ylabel(f"face {face}\nsignal (noise units)" if several else "signal (noise units)")
        if k == 0:
            if in_seconds:
                top_axis = ax.secondary_xaxis("top", functions=(lambda x: (np.asarray(x) - offset) / slope,
                                                                lambda f: slope * np.asarray(f) + offset))
                top_axis.set_xlabel("frame", fontsize=8)
                top_axis.tick_params(labelsize=7)
            ax.set_title(title or "realtime-mer timeline", fontsize=10)
    axes[-1, 0].set_xlabel("time (s)" if in_seconds else "frame")
    fig.tight_layout()
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return Path(out)


def _panel(ax: Any, trace: Trace, detected: Sequence[Labelled], truth: Sequence[Interval], sec: Any, slope: float,
           in_seconds: bool, intensity: Series | None, intensity_trace: Series | None) -> None:
    """One face's axes: its signal and threshold, face-lost and blind stretches, its detected intervals, the truths,
    the model intensity, and its legend outside, on the right."""
    from matplotlib.patches import Patch

    handles: list = []
    t = trace.time_s if (len(trace) and in_seconds) else trace.frame.astype(np.float64)
    if len(trace):
        tt, sig, thr = _decimate(t, trace.signal, trace.threshold)
        (h1,) = ax.plot(tt, sig, lw=0.8, color="tab:blue", label="spotting signal")
        (h2,) = ax.plot(tt, thr, lw=0.8, color="k", ls="--", label="threshold")
        handles += [h1, h2]
        half = 0.5 * slope if in_seconds else 0.5
        for what, mask, colour, alpha in (("face lost", ~trace.face, FACE_LOST_COLOUR, 0.15),
                                          ("spotter blind", trace.blind & trace.face, BLIND_COLOUR, 0.22)):
            runs = _runs(mask)
            for a, b in runs:
                ax.axvspan(t[a] - half, t[b] + half, color=colour, alpha=alpha, lw=0)
            if runs:
                share = 100.0 * mask.sum() / len(mask)
                handles.append(Patch(color=colour, alpha=alpha + 0.1, label=f"{what} ({share:.1f} % of frames)"))
    finite = [np.nanmax(a) for a in (trace.signal, trace.threshold) if len(a) and np.isfinite(a).any()]
    top = float(max([*finite, 1e-6]))
    for s in truth:
        ax.axvspan(sec(s.onset), sec(s.offset + 1), ymin=0.0, ymax=0.08, color="tab:purple", alpha=0.6, lw=0)
    for s, label in detected:
        c = LABEL_COLOURS.get(label, "tab:gray")
        ax.axvspan(sec(s.onset), sec(s.offset + 1), color=c, alpha=0.25 if s.kind == "micro" else 0.12, lw=0)
        ax.text(sec(s.onset), top * 1.02, f"{s.kind[:2]}:{label[:3]}", fontsize=7, color=c)
    right_axis = any(x is not None and len(x[0]) for x in (intensity, intensity_trace))
    if right_axis:
        right = ax.twinx()
        if intensity_trace is not None and len(intensity_trace[0]):
            ft, vt = _decimate(np.asarray(intensity_trace[0], np.float64), np.asarray(intensity_trace[1], np.float64))
            (hw,) = right.plot([sec(f) for f in ft], vt, lw=0.8, color="tab:orange",
                               label="model intensity, sliding window")
            handles.append(hw)
        if intensity is not None and len(intensity[0]):
            (hi,) = right.plot([sec(f) for f in intensity[0]], intensity[1], ".", ms=3, color="tab:red",
                               label="model intensity over events (0 onset, .5 apex, 1 offset)")
            handles.append(hi)
        right.set_ylim(0, 1.05)
        right.set_ylabel("model intensity", fontsize=8)
    handles += [Patch(color=c, alpha=0.3, label=f"detected {k}") for k, c in LABEL_COLOURS.items()
                if any(label == k for _, label in detected)]
    if truth:
        handles.append(Patch(color="tab:purple", alpha=0.6, label="ground truth"))
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.07 if right_axis else 1.01, 1.0), fontsize=8,
                  borderaxespad=0.0)
    ax.set_ylim(0, top * 1.12)


def trace_path(png: Path) -> Path:
    """Where the trace of a ``--timeline PNG`` goes: ``<png stem>.trace.csv`` beside it."""
    return Path(png).with_suffix(".trace.csv")


def plot_timeline(trace_csv: Path, events: Sequence[Event], out: Path, title: str = "",
                  truth: Sequence[Interval] = ()) -> Path:
    """Plot a run's streamed trace and its events (what ``--timeline`` does at the end of a run), with the
    model's per-frame intensity when the run wrote one (``<name>.intensity.csv`` beside the trace); one panel per face."""
    sources = read_intensity_faces(intensity_path(trace_csv))
    return plot(Path(out), read_trace(trace_csv), labelled(events), truth, title, anchor=anchors(events),
                intensity=sources.get("event"), intensity_trace=sources.get("window"), detected_faces=face_ids(events))


def intensity_path(trace_csv: Path) -> Path:
    """Where a run's per-frame model intensity goes: ``<name>.intensity.csv`` beside ``<name>.trace.csv``."""
    return Path(trace_csv).with_suffix("").with_suffix(".intensity.csv")


def read_intensity(path: Path, face_id: int | None = None) -> Series | None:
    """(frames, values) of an intensity CSV (``frame, intensity[, source[, face_id]]``), of every face or of
    ``face_id``'s rows; None when the file is absent or has none."""
    return _read_intensity(path, None, face_id)


def read_intensity_sources(path: Path, face_id: int | None = None) -> dict[str, Series]:
    """An intensity CSV's rows (every face's, or ``face_id``'s) split by ``source`` (``window``: the continuous trace,
    ``event``: classified intervals; a file without that column is all ``event``)."""
    out = {}
    for source in ("window", "event"):
        got = _read_intensity(path, source, face_id)
        if got is not None:
            out[source] = got
    return out


def read_intensity_faces(path: Path) -> dict[str, dict[int, Series]]:
    """An intensity CSV's rows by ``source`` and then by face (a file without ``face_id`` is all face 0):
    ``{"window": {0: (frames, values), 1: ...}, "event": {...}}``, what ``plot`` takes per face."""
    out: dict[str, dict[int, Series]] = {}
    for (source, face), (frames, values) in _read_rows(path).items():
        out.setdefault(source, {})[face] = (np.asarray(frames), np.asarray(values))
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items(), key=lambda kv: kv[0] != "window")}


def _read_rows(path: Path) -> dict[tuple[str, int], tuple[list[float], list[float]]]:
    """(source, face_id) -> (frames, values) of an intensity CSV, in file order; empty when the file is absent."""
    if not Path(path).is_file():
        return {}
    import csv

    rows: dict[tuple[str, int], tuple[list[float], list[float]]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = (row.get("source") or "event", int(row.get("face_id") or 0))
            frames, values = rows.setdefault(key, ([], []))
            frames.append(float(row["frame"]))
            values.append(float(row["intensity"]))
    return rows


def _read_intensity(path: Path, source: str | None, face_id: int | None = None) -> Series | None:
    frames: list[float] = []
    values: list[float] = []
    if not Path(path).is_file():
        return None
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if (source is None or (row.get("source") or "event") == source) and (
                    face_id is None or int(row.get("face_id") or 0) == face_id):
                frames.append(float(row["frame"]))
                values.append(float(row["intensity"]))
    return (np.asarray(frames), np.asarray(values)) if frames else None
