"""Training windows with neutral context for tcgru's intensity head (issue 27).

The live trace (``realtime_mer.app.pipeline``, ``ClipClassifier.window_intensity``) runs tcgru every
``intensity_every_ms`` over the newest ``intensity_window_ms`` of aligned crops taken as onset..offset.
So the training windows are cut the same way from whole generator clips aligned frame by frame by
one ``FaceAligner`` (the live face stage's settings): windows of ``window`` crops every ``stride``
frames, *everywhere* -- on neutral stretches, blinks, head jerks and across injected movements. The
target of step k is the movement intensity at the step's end frame: 0 outside every injected movement,
rising linearly from 0 at its onset to 1 at its apex and back to 0 at its offset (``intensity_profile``),
so the head learns "how far the face is from neutral now", not the phase of an interval it is told about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mer_lab.synthetic.clip_set import load_npz, save_npz
from realtime_mer.config import FaceConfig
from realtime_mer.errors import DataError, fail
from realtime_mer.face import FaceAligner
from realtime_mer.recognition.contracts import TCGRU_STEPS
from realtime_mer.recognition.preprocess import clip_input
from realtime_mer.synth.clip import Clip
from realtime_mer.types import Frame, Interval


def intensity_profile(positions: np.ndarray, movements: Sequence[Interval]) -> np.ndarray:
    """Intensity at frame ``positions``: 0 outside ``movements``, 0 -> 1 onset -> apex, 1 -> 0 apex -> offset
    (linear; the largest where movements overlap), float32."""
    p = np.asarray(positions, np.float64)
    out = np.zeros(p.shape, np.float64)
    for m in movements:
        rise = (p - m.onset) / max(m.apex - m.onset, 1e-9)
        fall = (m.offset - p) / max(m.offset - m.apex, 1e-9)
        tri = np.where(p <= m.apex, rise, fall)
        tri = np.where((p >= m.onset) & (p <= m.offset), np.clip(tri, 0.0, 1.0), 0.0)
        if m.onset == m.apex == m.offset:
            tri = np.where(p == m.onset, 1.0, tri)
        out = np.maximum(out, tri)
    return out.astype(np.float32)


def step_positions(start: int, window: int) -> np.ndarray:
    """Frame positions where tcgru's steps end for a window of ``window`` crops starting at ``start`` (the
    sampling of ``clip_input('tcgru')`` and ``ClipClassifier.window_intensity``)."""
    return np.linspace(float(start), float(start + window - 1), TCGRU_STEPS + 1)[1:]


@dataclass
class WindowSet:
    """tcgru inputs of windows (N, 8, 4, 64, 64) float16, their per-step intensity targets (N, 8) and sources."""

    x: np.ndarray
    target: np.ndarray
    subjects: list[str]
    videos: list[str]
    starts: np.ndarray  # (N,) first frame of each window in its video

    def __len__(self) -> int:
        return len(self.target)

    def save(self, path: Path, meta: dict[str, object] | None = None) -> Path:
        return save_npz(path, meta, "choose a writable path", compressed=False, x=self.x, target=self.target,
                        subjects=np.array(self.subjects, dtype=str), videos=np.array(self.videos, dtype=str),
                        starts=self.starts)

    @classmethod
    def load(cls, path: Path) -> tuple[WindowSet, dict[str, object]]:
        z, meta = load_npz(path, "window set", "rebuild it with tools/make_intensity_windows.py")
        return cls(z["x"], z["target"], [str(v) for v in z["subjects"]], [str(v) for v in z["videos"]], z["starts"]), meta


def aligned_crops(clip: Clip, face: FaceConfig | None = None) -> np.ndarray:
    """(n_frames, S, S) uint8 crops of a whole clip, aligned in order by one aligner; frames without a face repeat
    the previous crop (the first found one before any)."""
    face = face or FaceConfig()
    crops: list[np.ndarray | None] = []
    with FaceAligner(face) as aligner:
        for i in range(clip.n_frames):
            f = aligner.process(Frame(index=i, timestamp_ns=0, wall_time=0.0, image=clip.frame(i)))
            crops.append(None if f is None else f.crop)
    found = [c for c in crops if c is not None]
    if not found:
        raise fail(DataError, f"{clip.name}: no face found", "use a source with a frontal face")
    last = found[0]
    out = np.empty((len(crops), *found[0].shape[:2]), np.uint8)
    for k, c in enumerate(crops):
        last = c if c is not None else last
        out[k] = last
    return out


def windows_of(crops: np.ndarray, movements: Sequence[Interval], window: int, stride: int,
               offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs (N, 8, 4, 64, 64) float16, targets (N, 8) float32, starts (N,)) of windows every ``stride`` frames
    from ``offset``, each taken as onset..offset like the live trace."""
    starts = np.arange(offset, len(crops) - window + 1, stride, dtype=np.int64)
    xs = np.empty((len(starts), TCGRU_STEPS, 4, 64, 64), np.float16)
    ts = np.empty((len(starts), TCGRU_STEPS), np.float32)
    for k, a in enumerate(starts):
        w = crops[a : a + window]
        xs[k] = clip_input("tcgru", w, 0, (window - 1) // 2, window - 1)
        ts[k] = intensity_profile(step_positions(int(a), window), movements)
    return xs, ts, starts


def render_window_set(clips: Sequence[Clip], subjects: Sequence[str], window: int, stride: int, seed: int = 0,
                      face: FaceConfig | None = None,
                      progress: Callable[[int, Clip], None] | None = None) -> WindowSet:
    """The windows of generator clips (every movement kind counts: the trace should rise for all of them); the
    first window of a clip starts at a seed-drawn frame in [0, stride)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, clip in enumerate(clips):
        if progress is not None:
            progress(i, clip)
        crops = aligned_crops(clip, face)
        x, t, st = windows_of(crops, [r.interval for r in clip.truth], window, stride, int(rng.integers(0, stride)))
        parts.append((x, t, st, subjects[i], clip.name))
    if not parts:
        raise fail(DataError, "no clips to cut windows from", "pass at least one clip")
    return WindowSet(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                     [p[3] for p in parts for _ in range(len(p[2]))], [p[4] for p in parts for _ in range(len(p[2]))],
                     np.concatenate([p[2] for p in parts]))
