"""A scripted camera for fault-injection tests of the real command line (no camera on CI machines).

Set ``REALTIME_MER_FAKE_CAMERA`` and ``--camera N`` opens this instead of a device; it is never used otherwise.
The value is ``key=value`` pairs separated by commas:

- ``fps`` (default 100): the rate it reports and delivers at (paced with the clock, like a real camera);
- ``stall_at`` / ``stall_s``: from that frame on, reads fail for ``stall_s`` seconds, then frames come again;
- ``lost_at``: from that frame on every read fails (unplugged);
- ``seconds`` (default 60): length of the demo clip it shows (the bundled face, so the face stage finds a face).

Example: ``REALTIME_MER_FAKE_CAMERA=fps=100,stall_at=150,stall_s=1 realtime-mer --camera 0 --no-ui``.
"""

from __future__ import annotations

import os
import time

import cv2
import numpy as np

from realtime_mer.errors import SourceError, fail

ENV = "REALTIME_MER_FAKE_CAMERA"
_KEYS = {"fps": 100.0, "stall_at": -1.0, "stall_s": 0.0, "lost_at": -1.0, "seconds": 60.0}


def fake_camera_spec() -> dict[str, float] | None:
    """The parsed ``REALTIME_MER_FAKE_CAMERA`` settings, None when it is not set."""
    raw = os.environ.get(ENV)
    if not raw:
        return None
    spec = dict(_KEYS)
    for part in raw.split(","):
        key, _, value = part.partition("=")
        try:
            if key.strip() not in spec:
                raise ValueError
            spec[key.strip()] = float(value)
        except ValueError:
            raise fail(SourceError, f"{ENV}={raw!r}: cannot read {part!r}",
                       f"use comma-separated key=value with keys {', '.join(_KEYS)}") from None
    return spec


class FakeCamera:
    """Stands in for ``cv2.VideoCapture`` (the calls ``CameraSource`` makes), scripted by ``fake_camera_spec``."""

    def __init__(self, spec: dict[str, float], width: int = 640, height: int = 480) -> None:
        from realtime_mer.capture.demo import DemoSource  # lazy: only a fake run pays for the renderer

        self.spec = spec
        self.fps = spec["fps"]
        self._demo = DemoSource(seconds=spec["seconds"], fps=self.fps, width=width, height=height)
        self._demo.open()
        self._i = 0  # frames delivered
        self._t0: float | None = None
        self._stall_until: float | None = None

    def isOpened(self) -> bool:
        return True

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FOURCC: float(cv2.VideoWriter_fourcc(*"MJPG"))}.get(prop, 0.0)

    def getBackendName(self) -> str:
        return "FAKE"

    def read(self) -> tuple[bool, np.ndarray | None]:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        lost_at, stall_at = self.spec["lost_at"], self.spec["stall_at"]
        if 0 <= lost_at <= self._i:
            time.sleep(0.01)  # a V4L2 read that times out
            return False, None
        if stall_at >= 0 and self._i == int(stall_at) and self._stall_until is None:
            self._stall_until = now + self.spec["stall_s"]
        if self._stall_until is not None and now < self._stall_until:
            time.sleep(0.01)
            return False, None
        if self._stall_until is not None:  # the stall is over: the clock restarts after it (a camera does not catch up)
            self._t0, self._stall_until, self.spec["stall_at"] = now - self._i / self.fps, None, -1.0
        due = self._t0 + self._i / self.fps
        if due > now:
            time.sleep(due - now)
        image = self._demo.frame(self._i % self._demo.n_frames)
        self._i += 1
        return True, image

    def release(self) -> None:
        self._demo.close()
