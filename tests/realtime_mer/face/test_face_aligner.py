"""FaceAligner and FaceMesh on the bundled astronaut portrait (synthetic scenes, no shared data)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from mer_lab.evaluation import alignment as ms
from realtime_mer.config import FaceConfig
from realtime_mer.face import FaceAligner, TrackConfig, geometry
from realtime_mer.face.mesh import FaceMesh
from realtime_mer.synth.backdrop import load_astronaut
from realtime_mer.types import Frame


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return load_astronaut()[0]


@pytest.fixture(scope="module")
def aligner() -> Iterator[FaceAligner]:
    with FaceAligner(FaceConfig(landmark_every=4)) as al:
        yield al


@pytest.fixture(scope="module")
def tracker() -> Iterator[FaceAligner]:
    """Landmarks once, then tracking only (no keyframe for 1000 frames, the most --landmark-every allows)."""
    with FaceAligner(FaceConfig(landmark_every=1000)) as al:
        yield al


def frame(i: int, image: np.ndarray) -> Frame:
    return Frame(index=i, timestamp_ns=i * 5_000_000, wall_time=0.0, image=image)


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    return cv2.warpAffine(image, m, image.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def two_faces(face: np.ndarray, big_left: bool) -> np.ndarray:
    """The astronaut's head twice on one grey canvas, 300 px and 220 px wide."""
    canvas = np.full((360, 640, 3), 128, np.uint8)
    head = face[40:260, 120:340]
    for size, left in ((300, big_left), (220, not big_left)):
        y, x = (360 - size) // 2, 10 if left else 630 - size
        canvas[y : y + size, x : x + size] = cv2.resize(head, (size, size), interpolation=cv2.INTER_AREA)
    return canvas


def test_astronaut_eyes_land_on_the_template(aligner: FaceAligner, astronaut: np.ndarray) -> None:
    aligner.reset()
    out = np.zeros((128, 128), np.uint8)
    face = aligner.process(frame(0, astronaut), out=out)
    assert face is not None and face.keyframe and face.crop is out
    assert face.landmarks.shape == (468, 2) and face.landmarks.dtype == np.float32
    assert face.transform.shape == (2, 3) and face.transform.dtype == np.float32
    eyes = list(geometry.EYES)
    assert np.abs(face.landmarks[eyes] - geometry.template()[eyes]).max() < 2.0
    x, y, w, h = face.box  # the crop's footprint: about the face's width around the face
    assert 160 < x + w / 2 < 290 and 90 < y + h / 2 < 170 and 80 < w < 140
    # the crop shows the astronaut's face: it matches a direct warp with the returned transform
    direct = geometry.warp(astronaut, face.transform.astype(np.float64), 128)
    assert np.abs(direct.astype(int) - face.crop.astype(int)).max() <= 1


def test_gray_frames_and_bad_buffers(aligner: FaceAligner, astronaut: np.ndarray) -> None:
    from realtime_mer.errors import DataError

    aligner.reset()
    face = aligner.process(frame(0, cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)))
    assert face is not None and face.crop.shape == (128, 128)
    with pytest.raises(DataError):
        aligner.process(frame(1, astronaut), out=np.zeros((64, 64), np.uint8))


def test_no_face_on_blank_or_noise(aligner: FaceAligner) -> None:
    aligner.reset()
    before = aligner.faces
    rng = np.random.default_rng(0)
    images = [np.zeros((480, 640, 3), np.uint8), rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), np.full((240, 320), 200, np.uint8)]
    for i, img in enumerate(images):
        aligner.reset()
        assert aligner.process(frame(i, img)) is None
    assert aligner.faces == before


@pytest.mark.parametrize("big_left", [True, False])
def test_the_largest_of_two_faces_is_used(aligner: FaceAligner, astronaut: np.ndarray, big_left: bool) -> None:
    canvas = two_faces(astronaut, big_left)
    with FaceMesh(max_faces=4, static=True) as mesh:
        found = mesh.detect(canvas)
    assert len(found) == 2, "the scene must really show two detectable faces"
    aligner.reset()
    face = aligner.process(frame(0, canvas))
    assert face is not None
    x, _, w, _ = face.box
    assert (x + w / 2 < 320) == big_left
    assert w > 125  # the 300 px head (box ~145 px), not the 220 px one (~105 px)


def test_tracking_follows_a_3px_shift_between_keyframes(tracker: FaceAligner, astronaut: np.ndarray) -> None:
    tracker.reset()
    first = tracker.process(frame(0, astronaut))
    assert first is not None and first.keyframe
    m0 = first.transform.astype(np.float64)
    steps = [(1.0, 0.5), (2.0, 1.5), (3.0, 2.0), (3.0, 0.0)]
    for i, (dx, dy) in enumerate(steps, start=1):
        face = tracker.process(frame(i, shifted(astronaut, dx, dy)))
        assert face is not None and not face.keyframe
    # undo the known shift: the tracked transform must equal the first one
    undo = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 0.0]])
    assert ms.rigid_error(geometry.compose(face.transform.astype(np.float64), undo), m0) < 0.5
    assert np.array_equal(face.landmarks, first.landmarks)  # carried, in crop coordinates
    diff = np.abs(face.crop.astype(int) - first.crop.astype(int))[16:-16, 16:-16]
    assert diff.mean() < 3.0


def test_lost_face_returns_none_then_is_found_again(tracker: FaceAligner, astronaut: np.ndarray) -> None:
    tracker.reset()
    assert tracker.process(frame(0, astronaut)) is not None
    losses = tracker.losses
    noise = np.random.default_rng(3).integers(0, 256, astronaut.shape, dtype=np.uint8)
    assert tracker.process(frame(1, noise)) is None  # tracking fails -> FaceMesh -> no face
    assert tracker.losses == losses + 1 and tracker.transform is None
    again = tracker.process(frame(2, astronaut))
    assert again is not None and again.keyframe


def test_sway_is_tracked_to_a_fraction_of_a_pixel(astronaut: np.ndarray) -> None:
    marks = load_astronaut()[1]
    pairs = list(ms.sway_frames(astronaut, ms.place_face(marks), 60, ms.Sway(seed=1)))
    frames, moves = [f for f, _ in pairs], [w for _, w in pairs]
    run = ms.run_aligner(frames, FaceConfig(landmark_every=8), TrackConfig())
    assert run.found == 60 and run.stats["track_failures"] == 0
    mean, p95 = ms.summary(ms.errors_vs_truth(run.transforms, moves))
    assert mean < 0.3 and p95 < 0.6
    fake, _ = ms.summary(ms.fake_motion(run.transforms, moves, 8))
    assert fake < 0.15
    held = ms.run_aligner(frames, FaceConfig(landmark_every=8), TrackConfig(track=False))
    assert ms.summary(ms.errors_vs_truth(held.transforms, moves))[0] > 2 * mean  # tracking is what helps


def test_facemesh_is_quiet_on_stderr() -> None:
    code = (
        "import numpy as np\n"
        "from realtime_mer.face.mesh import FaceMesh\n"
        "from realtime_mer.synth.backdrop import load_astronaut\n"
        "img = load_astronaut()[0]\n"
        "with FaceMesh(max_faces=4) as m:\n"
        "    assert m.largest(img) is not None and m.largest(np.zeros((64, 64, 3), np.uint8)) is None\n"
        "from realtime_mer.config import FaceConfig\n"
        "from realtime_mer.face import FaceAligner\n"
        "from realtime_mer.types import Frame\n"
        "with FaceAligner(FaceConfig(landmark_every=2)) as al:\n"
        "    assert all(al.process(Frame(i, 0, 0.0, img)) is not None for i in range(6))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    noise = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("libpng warning")]
    assert noise == []


def test_config_is_checked_with_the_bounds_of_the_cli() -> None:
    from realtime_mer.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        FaceAligner(FaceConfig(landmark_every=0))
    assert str(err.value).startswith("--landmark-every (face.landmark_every) = 0 is out of range")
    with pytest.raises(ConfigError, match=r"^--crop-size \(face.crop_size\) = 48 is out of range: it must be >= 64") as err:
        FaceAligner(FaceConfig(crop_size=48))  # the CLI's bound (64), not a bound of its own
    assert "\n" not in str(err.value) and "FaceConfig(" not in str(err.value)


def test_reset_makes_alignment_independent_of_what_came_before(astronaut: np.ndarray) -> None:
    clip = [shifted(astronaut, 0.3 * k, -0.2 * k) for k in range(20)]
    before = [shifted(astronaut, 14.0 - 0.5 * k, 9.0) for k in range(20)]
    with FaceAligner(FaceConfig(landmark_every=4)) as fresh:
        want = [fresh.process(frame(i, im)) for i, im in enumerate(clip)]
    with FaceAligner(FaceConfig(landmark_every=4)) as used:
        for i, im in enumerate(before):
            used.process(frame(i, im))
        used.reset()
        got = [used.process(frame(i, im)) for i, im in enumerate(clip)]
    assert all(w is not None and g is not None for w, g in zip(want, got, strict=True))
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g.crop, w.crop)  # type: ignore[union-attr]
