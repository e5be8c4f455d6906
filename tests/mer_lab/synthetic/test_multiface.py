"""Several real faces in one video (mer_lab.synthetic.multiface): layouts, boxes, truth, files, and FaceMesh finds the faces."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mer_lab.synthetic.multiface import (
    BOX_COLUMNS,
    FACES_TRUTH_COLUMNS,
    INJECT_VISIBLE,
    MultifaceClip,
    build_multiface,
    check_request,
    read_boxes_csv,
    write_multiface,
)
from realtime_mer.capture.folder import FolderSource
from realtime_mer.capture.video import VideoSource
from realtime_mer.errors import DataError
from realtime_mer.synth.truth import read_truth_csv

TOOLS = Path(__file__).resolve().parents[3] / "tools"


@pytest.fixture(scope="module")
def sources(multiface_sources: list[Path]) -> list[Path]:
    return multiface_sources


@pytest.fixture(scope="module")
def clips(sources: list[Path]) -> dict[str, MultifaceClip]:
    """Short clips of every layout (stills with sway: cheap to render), built once."""
    def make(layout: str, faces: int, **kw: object) -> MultifaceClip:
        return build_multiface(layout, faces, motion="hold", sources=sources, **kw)  # type: ignore[arg-type]

    return {
        "side2": make("side_by_side", 2, seconds=2.0, seed=0, inject_actor=1),
        "side3": make("side_by_side", 3, seconds=2.0, seed=0),
        "cross": make("crossing", 2, seconds=3.5, seed=0),
        "cross_apart": make("crossing", 2, seconds=3.5, seed=0, apart=True),
        "leave": make("leave_return", 2, seconds=4.5, seed=0),
        "grid4": make("grid", 4, seconds=0.25, seed=0),
    }


def boxes_array(clip: MultifaceClip) -> np.ndarray:
    """(frames, actors, 6) x, y, w, h, visible, visible_frac."""
    return np.array([[(b.x, b.y, b.w, b.h, b.visible, b.visible_frac) for b in row] for row in clip.boxes], np.float64)


@pytest.mark.parametrize(("key", "frames", "size", "faces"), [("side2", 60, (960, 360), 2), ("side3", 60, (1280, 360), 3),
                                                             ("cross", 105, (960, 540), 2), ("cross_apart", 105, (960, 540), 2),
                                                             ("leave", 135, (960, 360), 2), ("grid4", 50, (640, 480), 4)])
def test_layout_frames_boxes_and_truth(clips: dict[str, MultifaceClip], key: str, frames: int, size: tuple[int, int], faces: int) -> None:
    clip = clips[key]
    assert clip.n_frames == frames and (clip.width, clip.height) == size and len(clip.actors) == faces
    assert clip.frame(0).shape == (size[1], size[0], 3) and clip.frame(frames - 1).dtype == np.uint8
    b = boxes_array(clip)
    assert b.shape == (frames, faces, 6)
    vis = b[:, :, 4] > 0
    x, y, w, h = b[vis, 0], b[vis, 1], b[vis, 2], b[vis, 3]
    assert (x >= 0).all() and (y >= 0).all() and (x + w <= size[0]).all() and (y + h <= size[1]).all() and (w > 100).all() and (h > 100).all()
    inject = clip.inject_actor
    assert inject is not None
    assert all(actor == inject for actor, _ in clip.faces_truth)
    assert all(a.inject == (a.index == inject) for a in clip.actors)
    assert all(r.video == "multiface" and 0 <= r.interval.onset < r.interval.offset < frames for r in clip.truth)
    seen = clip.visible(inject)  # movements only where the injected face is wholly in view
    assert all((seen[r.interval.onset : r.interval.offset + 1] >= INJECT_VISIBLE).all() for r in clip.truth)


def test_every_layout_has_a_movement_and_faces_of_the_asked_size(clips: dict[str, MultifaceClip]) -> None:
    assert all(c.truth for k, c in clips.items() if k != "grid4")  # grid4 is shorter than the lead-in
    assert clips["side2"].inject_actor == 1 and clips["side3"].inject_actor == 0
    for key, (lo, hi) in {"side3": (200, 260), "cross": (150, 200), "grid4": (150, 200)}.items():
        assert all(lo <= a.face_height <= hi for a in clips[key].actors), (key, [a.face_height for a in clips[key].actors])


def test_crossing_occludes_the_back_face_for_a_short_time_only(clips: dict[str, MultifaceClip]) -> None:
    clip = clips["cross"]
    front, back = clip.visible(0), clip.visible(1)
    hidden = np.flatnonzero(back < 0.5)
    assert (front == 1.0).all() and hidden.size and 0.3 * clip.n_frames < hidden.mean() < 0.7 * clip.n_frames
    assert hidden.size < 0.25 * clip.n_frames and back.min() > 0.2  # partly, for a short time
    assert (back[:20] == 1.0).all() and (back[-20:] == 1.0).all()
    xs = [[row[a].x for row in clip.boxes] for a in (0, 1)]
    assert xs[0][0] < xs[1][0] and xs[0][-1] > xs[1][-1]  # they swapped sides
    assert (clips["cross_apart"].visible(0) == 1.0).all() and (clips["cross_apart"].visible(1) == 1.0).all()


def test_leave_return_is_out_for_about_a_second_and_back_at_the_right_edge(clips: dict[str, MultifaceClip]) -> None:
    clip = clips["leave"]
    mover = clip.visible(1)
    out = np.flatnonzero(mover == 0.0)
    assert (clip.visible(0) == 1.0).all() and out.size and np.all(np.diff(out) == 1)
    assert 1.0 <= out.size / clip.fps <= 1.8
    assert mover[0] == 1.0 and mover[-1] == 1.0
    right = [row[1].x + row[1].w for row in clip.boxes[out[0] - 5 : out[0]]] + [row[1].x + row[1].w for row in clip.boxes[out[-1] + 1 : out[-1] + 6]]
    assert all(r == clip.width for r in right)  # leaves and comes back through the right edge


def test_same_seed_same_video_other_seed_another(sources: list[Path], clips: dict[str, MultifaceClip]) -> None:
    again = build_multiface("side_by_side", 2, seconds=2.0, seed=0, inject_actor=1, motion="hold", sources=sources)
    ref = clips["side2"]
    assert again.boxes == ref.boxes and again.truth == ref.truth
    assert all(np.array_equal(again.frame(i), ref.frame(i)) for i in (0, 30, 59))
    other = build_multiface("side_by_side", 2, seconds=2.0, seed=1, inject_actor=1, motion="hold", sources=sources)
    assert other.boxes != ref.boxes and not np.array_equal(other.frame(0), ref.frame(0))


def test_files_read_back(clips: dict[str, MultifaceClip], tmp_path: Path) -> None:
    clip = clips["side2"]
    avi = write_multiface(clip, tmp_path / "avi")
    src = VideoSource(avi.video, gray=False)
    src.open()
    frames = []
    while (f := src.read()) is not None:
        frames.append(f.image if hasattr(f, "image") else f)
    src.close()
    assert len(frames) == clip.n_frames and src.fps == pytest.approx(30.0)
    assert np.abs(frames[10].astype(int) - clip.frame(10)).mean() < 3.0  # Motion-JPEG at quality 95
    assert read_truth_csv(avi.truth) == clip.truth
    assert [b for row in clip.boxes for b in row] == read_boxes_csv(avi.boxes)
    assert avi.boxes.read_text().splitlines()[0] == ",".join(BOX_COLUMNS)
    lines = avi.faces_truth.read_text().splitlines()
    assert lines[0] == ",".join(FACES_TRUTH_COLUMNS) and len(lines) == len(clip.truth) + 1 and all(ln.startswith("1,") for ln in lines[1:])
    small = build_multiface("grid", 1, seconds=0.03, seed=0, sources=[clips["grid4"].actors[0].source])
    for fmt in ("mkv", "png"):  # FFV1 and PNG are lossless
        files = write_multiface(small, tmp_path / fmt, video=fmt)
        src2 = VideoSource(files.video, gray=False) if fmt == "mkv" else FolderSource(files.video, fps=small.fps)
        src2.open()
        got, n = None, 0
        while (f := src2.read()) is not None:
            got = (f.image if hasattr(f, "image") else f) if got is None else got
            n += 1
        src2.close()
        assert got is not None and n == small.n_frames and np.array_equal(got, small.frame(0)), fmt


def test_bad_requests_are_one_line() -> None:
    with pytest.raises(DataError, match="layout grid takes 1, 2 or 4 faces, not 3"):
        check_request("grid", 3, 1.0, 200.0, 0)
    with pytest.raises(DataError, match="unknown layout 'ring'"):
        check_request("ring", 2, 1.0, 30.0, 0)
    with pytest.raises(DataError, match="--inject-actor 2 is not one of the 2 actors"):
        check_request("crossing", 2, 3.0, 30.0, 2)
    with pytest.raises(DataError, match="leave_return needs at least"):
        check_request("leave_return", 2, 2.0, 30.0, 0)


def test_tool_refuses_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("make_multiface_tool", TOOLS / "make_multiface.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--layout", "crossing", "--faces", "3", "--out", str(tmp_path / "o")]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert err == ["make_multiface.py: error: layout crossing takes 2 faces, not 3; pass --faces 2"]
    assert not (tmp_path / "o").exists()  # refused before anything is written


def _matches(clip: MultifaceClip, i: int, faces: list[np.ndarray]) -> list[int]:
    """The actors (visible on frame ``i``) whose true box overlaps a detected face's landmark box at IoU >= 0.5."""
    found = []
    for b in clip.boxes[i]:
        for d in faces:
            x0, y0 = max(b.x, d[:, 0].min()), max(b.y, d[:, 1].min())
            x1, y1 = min(b.x + b.w, d[:, 0].max()), min(b.y + b.h, d[:, 1].max())
            inter = max(x1 - x0, 0) * max(y1 - y0, 0)
            union = b.w * b.h + np.ptp(d[:, 0]) * np.ptp(d[:, 1]) - inter
            if b.visible and inter / union >= 0.5:
                found.append(b.actor)
                break
    return found


def test_facemesh_finds_every_face(clips: dict[str, MultifaceClip]) -> None:
    from realtime_mer.face.mesh import FaceMesh

    with FaceMesh(max_faces=4, static=True) as mesh:
        for key, frames in {"side2": (0, 30, 59), "side3": (0, 30, 59), "grid4": (0, 25, 49)}.items():
            clip = clips[key]
            for i in frames:
                faces = mesh.detect(clip.frame(i))
                assert len(faces) == len(clip.actors) and sorted(_matches(clip, i, faces)) == list(range(len(clip.actors))), (key, i)
        cross = clips["cross"]
        hidden = np.flatnonzero(cross.visible(1) < 0.5)
        for i in (5, hidden[0] - 12, hidden[-1] + 12, cross.n_frames - 5):  # before and after the pass
            faces = mesh.detect(cross.frame(int(i)))
            assert len(faces) == 2 and sorted(_matches(cross, int(i), faces)) == [0, 1], i
        mid = int(hidden.mean())  # the back face is mostly covered: only the front one is certain
        assert 0 in _matches(cross, mid, mesh.detect(cross.frame(mid)))
