"""The --demo source: deterministic, right size and count, truth where pixels move."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from realtime_mer.capture.base import Grabber
from realtime_mer.capture.demo import DemoSource
from realtime_mer.errors import SourceError
from realtime_mer.synth.aus import ACTION_UNITS, parse_aus
from realtime_mer.synth.field import anchor_point, face_geometry


@pytest.fixture(scope="module")
def demo() -> DemoSource:
    src = DemoSource(seconds=12.0, seed=0)
    src.open()
    return src


def test_truth_is_inside_and_plausible(demo: DemoSource) -> None:
    assert 4 <= len(demo.truth) <= 6
    assert sum(t.interval.kind == "micro" for t in demo.truth) >= 3
    for r in demo.truth:
        t = r.interval
        assert 0 <= t.onset < t.apex < t.offset < demo.total_frames
        assert r.video == "demo" and r.label in ("negative", "positive", "surprise")
        assert (t.kind == "micro") == ((t.offset - t.onset) / demo.fps <= 0.5)


def test_movement_changes_pixels_near_its_anchors_only_during_interval(demo: DemoSource) -> None:
    marks = demo.clip.backdrop.landmarks
    size = face_geometry(marks).size
    for r in demo.truth[:3]:
        t = r.interval
        with_mv = demo.frame(t.apex).astype(np.int16)
        diff = np.abs(with_mv - demo.frame(t.apex, inject=False)).max(axis=2)
        ys, xs = np.nonzero(diff > 6)
        assert len(ys) > 20, f"movement {t} barely changes the image"
        anchors = np.array([anchor_point(marks, b.anchor) for au in parse_aus(r.aus) for b in ACTION_UNITS[au]])
        dist = np.hypot(xs[:, None] - anchors[:, 0], ys[:, None] - anchors[:, 1]).min(axis=1)
        assert dist.max() < 0.3 * size  # changes only around the AU's anchors
        assert np.abs(with_mv - demo.frame(t.apex, inject=False)).max() > 0
        for i in (t.onset - 1, t.offset + 1, t.offset + 100):
            assert np.array_equal(demo.frame(i), demo.frame(i, inject=False))


def test_deterministic_per_seed(demo: DemoSource) -> None:
    again = DemoSource(seconds=12.0, seed=0)
    assert again.truth == demo.truth
    for i in (0, 37, demo.truth[0].interval.apex, 2399):
        assert np.array_equal(again.frame(i), demo.frame(i))
    other = DemoSource(seconds=12.0, seed=1)
    assert other.truth != demo.truth
    assert not np.array_equal(other.frame(37), demo.frame(37))


def test_streams_total_frames_of_right_size() -> None:
    src = DemoSource(seconds=0.5, fps=200.0, width=320, height=240, seed=2)
    g = Grabber(src).start()
    frames = list(g)
    g.stop()
    assert src.total_frames == 100 == len(frames) and src.fps == 200.0
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8 for f in frames)
    assert [f.index for f in frames] == list(range(100)) and frames[-1].timestamp_ns == round(99 * 1e9 / 200)
    assert all(np.any(a.image != b.image) for a, b in itertools.pairwise(frames))  # never frozen


def test_long_demo_is_rendered_on_demand() -> None:
    src = DemoSource(seconds=3600.0, seed=0)  # 720 000 frames: nothing per frame is stored
    assert src.n_frames == 720_000 and len(src.truth) > 1000
    assert src.frame(719_999).shape == (480, 640, 3)
    with pytest.raises(SourceError):
        src.frame(720_000)
    with pytest.raises(SourceError):
        DemoSource(seconds=0.0)
