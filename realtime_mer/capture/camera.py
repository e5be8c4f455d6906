"""A live camera through OpenCV: asks for MJPG, a resolution and a rate, and reports what it got.

High-speed USB cameras only reach their rated fps in MJPG (raw YUYV saturates USB), and many
silently grant less than asked, so what the driver granted is read back and every shortfall
becomes a one-line warning for the user.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.capture.base import Source, quiet_opencv, to_bgr
from realtime_mer.errors import SourceError, SourceLost, fail

FALLBACK_FPS = 30.0
MAX_READ_FAILURES = 10  # failed reads on open before the camera counts as delivering nothing
LOST_AFTER_S = 3.0  # mid-run: failed reads for this long and the camera counts as lost (a shorter gap is a stall)
STALL_MIN_S = 0.5  # a gap between frames longer than this (and than 10 frame periods) is counted as a stall
_ALTERNATIVES = "try another --camera index, or run --demo / --video FILE"


def _num(x: float) -> str:
    """``120`` for 120.0, ``23.98`` for 23.976: rates as people write them."""
    return f"{round(x, 2):g}"


def fourcc_str(code: float) -> str:
    """The four characters of a CAP_PROP_FOURCC value (``MJPG``, ``YUYV``), '' when unknown."""
    n = int(code) if code and math.isfinite(code) and code > 0 else 0
    chars = "".join(chr((n >> (8 * i)) & 0xFF) for i in range(4))
    return chars if n and chars.isprintable() else ""


def granted_warnings(index: int, fps_requested: float | None, fps_granted: float,
                     size_requested: tuple[int, int], size_granted: tuple[int, int]) -> list[str]:
    """One-line warnings for every setting the camera granted below what was asked."""
    out: list[str] = []
    if fps_requested and fps_granted < fps_requested * 0.99:
        out.append(f"camera {index} granted {_num(fps_granted)} fps of the {_num(fps_requested)} requested; "
                   "micro-expressions (1/25-1/2 s) need 100+ fps for reliable spotting, "
                   "try a lower --width/--height, MJPG, or a high-speed camera")
    (rw, rh), (gw, gh) = size_requested, size_granted
    if gw < rw or gh < rh:
        out.append(f"camera {index} granted {gw}x{gh} of the {rw}x{rh} requested; "
                   "the camera does not offer that mode, faces will be smaller")
    return out


class CameraSource(Source):
    """An OpenCV camera by index (``/dev/videoN`` on Linux)."""

    live = True

    def __init__(self, index: int, fps: float | None = None, width: int = 640, height: int = 480,
                 mjpg: bool = True) -> None:
        super().__init__()
        self.index = index
        self.fps_requested = fps
        self.width_requested = width
        self.height_requested = height
        self.mjpg = mjpg
        self.fourcc = ""
        self.backend = ""
        self.name = f"camera {index}"
        self._cap: cv2.VideoCapture | None = None
        self._last_good: float | None = None  # monotonic time of the last frame delivered

    def _device_path(self) -> Path | None:
        return Path(f"/dev/video{self.index}") if sys.platform.startswith("linux") else None

    def _create(self) -> cv2.VideoCapture | None:
        """An opened capture, trying V4L2 first on Linux (the fastest, and it honours MJPG); the scripted
        ``capture.fake.FakeCamera`` when ``REALTIME_MER_FAKE_CAMERA`` is set (fault-injection tests)."""
        from realtime_mer.capture.fake import FakeCamera, fake_camera_spec

        spec = fake_camera_spec()
        if spec is not None:
            return FakeCamera(spec, self.width_requested, self.height_requested)  # type: ignore[return-value]
        quiet_opencv()
        apis = [cv2.CAP_V4L2, cv2.CAP_ANY] if sys.platform.startswith("linux") else [cv2.CAP_ANY]
        for api in apis:
            cap = cv2.VideoCapture(self.index, api)
            if cap.isOpened():
                return cap
            cap.release()
        return None

    def _open(self) -> None:
        if self.index < 0:
            raise fail(SourceError, f"camera index {self.index} is negative", "pass --camera 0 for the first camera")
        dev = self._device_path()
        cap = self._create()
        if cap is None:
            if dev is not None and not dev.exists():
                why = "no such device"
                where = "list cameras with `ls /dev/video*`, "
            elif dev is not None:
                why = f"{dev} exists but is busy, not a capture device, or not readable by this user"
                where = "close other programs using it, check `groups` for 'video', "
            else:
                why = "no such device or access denied"
                where = "check the camera permission of this terminal, "
            raise fail(SourceError, f"camera {self.index} could not be opened ({why})", where + _ALTERNATIVES)
        self._cap = cap
        self.backend = cap.getBackendName()
        # Order matters for V4L2: the pixel format first, then the size, then the rate.
        if self.mjpg:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width_requested)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height_requested)
        if self.fps_requested:
            cap.set(cv2.CAP_PROP_FPS, float(self.fps_requested))
        image = self._grab_test_frame()
        granted = cap.get(cv2.CAP_PROP_FPS)
        self.fourcc = fourcc_str(cap.get(cv2.CAP_PROP_FOURCC))
        self.height, self.width = image.shape[:2]
        if granted and math.isfinite(granted) and granted > 0:
            self.fps = float(granted)
        else:
            self.fps = float(self.fps_requested or FALLBACK_FPS)
            self.warnings.append(f"camera {self.index} does not report its frame rate; assuming {_num(self.fps)} fps "
                                 "for timing, set --fps to the camera's real rate")
        self.warnings += granted_warnings(self.index, self.fps_requested, self.fps,
                                          (self.width_requested, self.height_requested), (self.width, self.height))

    def _grab_test_frame(self) -> np.ndarray:
        """Read one frame so a camera that opens but never delivers fails now, not mid-run."""
        assert self._cap is not None
        for _ in range(MAX_READ_FAILURES):
            ok, image = self._cap.read()
            if ok and image is not None and image.size:
                return to_bgr(image)
        self._cap.release()
        self._cap = None
        raise fail(SourceError, f"camera {self.index} opened but delivered no frame",
                   f"check that no other program holds it and that it works in another viewer, or {_ALTERNATIVES}")

    def _read(self) -> np.ndarray | None:
        """The next frame. Failed reads are retried; a gap that ends is counted as a stall (``stalls``,
        ``stall_s``); failures for ``LOST_AFTER_S`` raise ``SourceLost`` (the run ends, exit status 3)."""
        assert self._cap is not None, "CameraSource.read() before open()"
        first_fail: float | None = None
        while True:
            ok, image = self._cap.read()
            now = time.monotonic()
            if ok and image is not None and image.size:
                gap = now - self._last_good if self._last_good is not None else 0.0
                if gap > max(STALL_MIN_S, 10.0 / (self.fps or FALLBACK_FPS)):
                    self.stalls += 1
                    self.stall_s += gap
                self._last_good = now
                return to_bgr(image)
            if first_fail is None:
                first_fail = now
            elif now - first_fail >= LOST_AFTER_S:
                raise fail(SourceLost, f"camera {self.index} stopped delivering frames for {LOST_AFTER_S:g} s "
                           "(unplugged or taken by another program)", "reconnect it and start again; the events so far are saved")
            time.sleep(0.002)  # a driver that fails at once must not spin a core

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

