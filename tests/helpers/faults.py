"""Inputs that go wrong, for the fault-injection tests (issue 17): damaged videos, two faces, a folder with a bad file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from realtime_mer.capture.demo import DemoSource
from realtime_mer.synth.backdrop import load_astronaut


def write_demo_avi(path: Path, seconds: float = 1.5, size: tuple[int, int] = (320, 240), fps: float = 200.0) -> list[bytes]:
    """The demo as an MJPG AVI (every frame a JPEG, so a cut or garbled stretch loses whole frames); returns the
    frames' JPEG bytes."""
    src = DemoSource(seconds=seconds, fps=fps, width=size[0], height=size[1])
    src.open()
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    jpegs = []
    while (img := src.read()) is not None:
        w.write(img)
        jpegs.append(cv2.imencode(".jpg", img)[1].tobytes())
    w.release()
    src.close()
    return jpegs


def write_demo_frames(folder: Path, n: int = 60, size: tuple[int, int] = (320, 240)) -> list[Path]:
    """The first ``n`` demo frames as PNG files ``img000.png`` ... in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    src = DemoSource(seconds=n / 200.0, width=size[0], height=size[1])
    src.open()
    out = []
    for i in range(n):
        img = src.read()
        assert img is not None
        out.append(folder / f"img{i:03d}.png")
        cv2.imwrite(str(out[-1]), img)
    src.close()
    return out


def two_face_frames(n: int = 40) -> tuple[list[np.ndarray], tuple[int, int, int, int]]:
    """``n`` 960x540 frames with the bundled face twice: large and still on the right, smaller and drifting 1 px a
    frame on the left. Returns the frames and the large face's region (x, y, w, h)."""
    img, _ = load_astronaut()
    face = img[30:280, 140:390]
    big, small = cv2.resize(face, (440, 440)), cv2.resize(face, (330, 330))
    rng = np.random.default_rng(0)
    frames = []
    for i in range(n):
        c = np.full((540, 960, 3), 90, np.uint8)
        c[50:490, 500:940] = big
        c[120:450, 20 + i : 350 + i] = small
        frames.append(np.clip(c + rng.normal(0, 2, c.shape), 0, 255).astype(np.uint8))
    return frames, (500, 50, 440, 440)
