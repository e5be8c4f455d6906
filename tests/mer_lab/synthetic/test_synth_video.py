"""Generated videos read back right; upsampled video sources never freeze or jump."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_lab.synthetic.video_set import generate_set, generate_video, open_writer
from realtime_mer.errors import SourceError
from realtime_mer.synth.backdrop import VideoBackdrop, load_astronaut
from realtime_mer.synth.clip import ASTRONAUT, Clip, SynthConfig
from realtime_mer.synth.render import RenderConfig
from realtime_mer.synth.scene import SceneConfig
from realtime_mer.synth.truth import read_truth_csv


def small_cfg(**kw: object) -> SynthConfig:
    """Small frames; movements may start after 0.6 s (short clips)."""
    scene = SceneConfig(lead_in_s=0.6, lead_jitter_s=0.0)
    return SynthConfig(render=RenderConfig(width=320, height=240), jpeg_prob=0.0, scene=scene, **kw)  # type: ignore[arg-type]


def read_all(path: Path) -> tuple[float, list[np.ndarray]]:
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return fps, frames


def test_generated_video_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "a.avi"
    truth = generate_video(ASTRONAUT, out, seconds=1.5, seed=3, cfg=small_cfg())
    fps, frames = read_all(out)
    assert fps == pytest.approx(200.0) and len(frames) == 300
    assert frames[0].shape == (240, 320, 3)
    assert truth and all(t.video == "a" and 0 <= t.interval.onset < t.interval.apex < t.interval.offset < 300 for t in truth)
    assert all(np.any(a != b) for a, b in itertools.pairwise(frames))


def test_generate_set_writes_videos_and_truth(tmp_path: Path) -> None:
    csv = generate_set([ASTRONAUT], tmp_path, n=2, seconds=1.6, seed=0, cfg=small_cfg())
    rows = read_truth_csv(csv)
    assert {p.name for p in tmp_path.glob("*.avi")} == {"000_astronaut.avi", "001_astronaut.avi"}
    assert rows and {r.video for r in rows} <= {"000_astronaut", "001_astronaut"}
    with pytest.raises(SourceError):
        generate_set([tmp_path / "missing.mp4"], tmp_path / "x", n=1, seconds=1.0)


@pytest.fixture(scope="module")
def panning_24fps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 s, 24 fps clip of the astronaut panning 1.5 px per frame."""
    image, _ = load_astronaut()
    path = tmp_path_factory.mktemp("pan") / "pan.avi"
    w = open_writer(path, 24.0, 400, 400)
    for k in range(24):
        m = np.float32([[1, 0, -40 + 1.5 * k], [0, 1, -40]])
        w.write(cv2.warpAffine(image, m, (400, 400), borderMode=cv2.BORDER_REFLECT))
    w.release()
    return path


@pytest.mark.parametrize("interp", ["flow", "blend"])
def test_upsampled_24fps_has_no_frozen_frames_or_jumps(panning_24fps: Path, interp: str) -> None:
    bd = VideoBackdrop(panning_24fps, 320, 240, 200.0, seconds=1.0, interp=interp)
    assert bd.source_fps == pytest.approx(24.0) and bd.face_ok(180).all()
    frames = [bd.frame(i)[0] for i in range(180)]
    diffs = np.array([np.abs(b.astype(np.int16) - a).mean() for a, b in itertools.pairwise(frames)])
    assert diffs.min() > 0  # never two identical consecutive frames (before any noise)
    assert diffs.max() < 3.0 * np.median(diffs)  # motion spread evenly: no 24 Hz jumps
    marks = [bd.frame(i)[1] for i in (0, 4, 8)]
    assert all(m is not None for m in marks) and np.abs(marks[1] - marks[0]).max() > 0  # landmarks interpolated


@pytest.mark.parametrize("motion", ["hold", "play"])
def test_real_video_clip(real_faces: Path, motion: str) -> None:
    cfg = small_cfg(video_motion=motion)
    bd = VideoBackdrop(real_faces / "single_face.mp4", 320, 240, 200.0, seconds=2.0)
    clip = Clip(bd, 400, 0, cfg, name="single")
    assert clip.truth, "a 2 s clip of a visible face gets a movement"
    t = clip.truth[0].interval
    a, b = clip.frame(t.apex), clip.frame(t.apex, inject=False)
    assert np.abs(a.astype(np.int16) - b).max() > 5
    assert np.array_equal(clip.frame(t.offset + 1), clip.frame(t.offset + 1, inject=False))
    with pytest.raises(SourceError):
        VideoBackdrop(real_faces / "no_face.mp4", 320, 240, 200.0, seconds=1.0)


def test_held_video_is_one_source_frame_moved_by_the_scene(panning_24fps: Path) -> None:
    bd = VideoBackdrop(panning_24fps, 320, 240, 200.0, seconds=1.0)
    start = 42  # 42 * 24 / 200 = 5.04: source frame 5
    clip = Clip(bd, 300, 1, small_cfg(), name="held", start=start)
    assert clip.backdrop.name == "pan@5" and np.array_equal(clip.backdrop.canvas, bd.still(5).canvas)
    assert np.any(clip.scene.pose_at(0) != clip.scene.pose_at(150)), "a held frame moves by the scene's head drift"
    frames = [clip.frame(i, inject=False) for i in range(0, 300, 7)]
    assert all(np.any(a != b) for a, b in itertools.pairwise(frames))  # never frozen
    with pytest.raises(SourceError, match="video_motion"):
        Clip(bd, 10, 0, small_cfg(video_motion="loop"))
