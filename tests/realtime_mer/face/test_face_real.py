"""The face stage on the real videos in ../shared/data/real_faces (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

from mer_lab.evaluation import alignment as ms
from realtime_mer.config import FaceConfig


def test_face_found_on_wolfganglanger(real_faces: Path) -> None:
    frames = ms.read_video(real_faces / "WolfgangLanger_Pexels.mp4", limit=150)
    run = ms.run_aligner(frames, FaceConfig(), fps=24.0)
    assert len(frames) == 150
    assert run.found >= 0.95 * len(frames)
    assert run.stats["keyframes"] < len(frames) / 2  # most frames are tracked, not re-landmarked


def test_no_face_on_no_face_video(real_faces: Path) -> None:
    frames = ms.read_video(real_faces / "no_face.mp4", limit=60)
    run = ms.run_aligner(frames, FaceConfig(), fps=24.0)
    assert len(frames) == 60 and run.found == 0
    assert run.stats["searches"] < len(frames) / 2  # searching is throttled while there is no face


def test_face_then_cartoon(real_faces: Path) -> None:
    frames = ms.read_video(real_faces / "face_noface.mov")
    run = ms.run_aligner(frames[:40] + frames[-40:], FaceConfig(), fps=26.0)
    seen = [t is not None for t in run.transforms]
    assert all(seen[:40]) and not any(seen[-30:])
