"""Write synthetic micro-expression sets: videos plus ``truth.csv``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import MerError, OutputError, SourceError, fail, log
from realtime_mer.synth.backdrop import VideoBackdrop
from realtime_mer.synth.clip import ASTRONAUT, Backdrop, Clip, SynthConfig, make_backdrop
from realtime_mer.synth.truth import TruthRow, write_truth_csv

VIDEO_SUFFIX = ".avi"  # Motion-JPEG: every frame a keyframe, written and read back reliably by OpenCV


def open_writer(path: Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    """A Motion-JPEG ``.avi`` writer (FFmpeg backend, OpenCV's own MJPEG writer as fallback)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*"MJPG")
    for api in (cv2.CAP_FFMPEG, cv2.CAP_OPENCV_MJPEG):
        writer = cv2.VideoWriter(str(path), api, fourcc, fps, (width, height))
        if writer.isOpened():
            return writer
    raise fail(OutputError, f"cannot open a video writer for {path}", "check that the folder is writable")


def write_clip(clip: Clip, path: Path) -> list[TruthRow]:
    """Render every frame of ``clip`` into ``path``; returns its truth."""
    r = clip.cfg.render
    writer = open_writer(path, clip.cfg.fps, r.width, r.height)
    try:
        for i in range(clip.n_frames):
            writer.write(clip.frame(i))
    finally:
        writer.release()
    return clip.truth


def generate_video(source: str | Path, out_path: Path, *, seconds: float = 20.0, seed: int = 0, cfg: SynthConfig | None = None, backdrop: Backdrop | None = None, start: int = 0) -> list[TruthRow]:
    """One synthetic clip of ``source`` (``"astronaut"``, an image or a video) at ``out_path``.

    The ``video`` column of the truth is ``out_path``'s stem. Pass ``backdrop`` to reuse a
    loaded source (FaceMesh runs once per video source).
    """
    cfg = cfg or SynthConfig()
    out_path = Path(out_path)
    backdrop = backdrop or make_backdrop(source, cfg, seconds + start / cfg.fps)
    n_frames = max(round(seconds * cfg.fps), 2)
    clip = Clip(backdrop, n_frames, seed, cfg, name=out_path.stem, start=start)
    return write_clip(clip, out_path)


def generate_set(
    sources: list[str | Path],
    out_dir: Path,
    *,
    n: int = 50,
    seconds: float = 20.0,
    seed: int = 0,
    cfg: SynthConfig | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """``n`` clips cycling over ``sources`` (those without a usable face are skipped with a
    warning); writes ``out_dir/<name>.avi`` and ``out_dir/truth.csv``; returns the csv path."""
    cfg = cfg or SynthConfig()
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    backdrops: list[tuple[str, Backdrop]] = []
    for src in sources:
        try:
            bd = make_backdrop(src, cfg, seconds)
        except MerError as err:
            log.warning("skipping source %s: %s", src, err)
            continue
        backdrops.append((ASTRONAUT if str(src) == ASTRONAUT else Path(src).stem, bd))
    if not backdrops:
        raise fail(SourceError, "none of the sources has a usable face", "pass --source with a frontal face image or video (or 'astronaut')")
    rows: list[TruthRow] = []
    for i in range(n):
        label, bd = backdrops[i % len(backdrops)]
        name = f"{i:03d}_{label}"
        start = 0
        if isinstance(bd, VideoBackdrop):  # different clips of one video start at different times
            start = int(rng.integers(0, max(int(2 * (bd.n_source - 1) * cfg.fps / bd.source_fps), 1)))
        if progress:
            progress(i, n, name)
        rows += generate_video(label, out_dir / f"{name}{VIDEO_SUFFIX}", seconds=seconds, seed=int(rng.integers(2**31)), cfg=cfg, backdrop=bd, start=start)
    return write_truth_csv(out_dir / "truth.csv", rows)
