"""Two faces in view: the largest is tracked in every frame (never the other one), and the count is reported."""

from __future__ import annotations

import time

from realtime_mer.config import FaceConfig
from realtime_mer.face.aligner import FaceAligner
from realtime_mer.types import Frame
from tests.helpers.faults import two_face_frames


def test_the_largest_of_two_faces_is_tracked_without_flipping() -> None:
    frames, (bx, by, bw, bh) = two_face_frames(24)
    with FaceAligner(FaceConfig(landmark_every=4)) as aligner:  # keyframes often: more chances to jump
        faces = [aligner.process(Frame(i, i * 33_000_000, time.time(), img)) for i, img in enumerate(frames)]
    assert all(f is not None for f in faces)
    for f in faces:
        assert f is not None
        x, y, w, h = f.box
        cx, cy = x + w / 2, y + h / 2
        assert bx < cx < bx + bw and by < cy < by + bh, f"frame {f.frame_index}: box {f.box} is not on the large face"
        assert f.faces_seen == 2
