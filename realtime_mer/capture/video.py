"""A video file decoded by OpenCV's FFmpeg backend, checked on open so bad files fail in one line."""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.capture.base import Source, quiet_opencv, to_bgr
from realtime_mer.errors import SourceError, fail

FALLBACK_FPS = 30.0
MAX_FPS = 10_000.0  # above this a container's rate is garbage (e.g. a 1/90000 timebase)
RATE_MISMATCH = 0.1  # a given rate this far (relative) from the container's is worth a warning line
# pixel formats (as OpenCV reports them, CAP_PROP_CODEC_PIXEL_FORMAT) whose first plane is 8-bit luma at full size:
# with the BGR conversion off, OpenCV's FFmpeg backend hands that plane over as an (H, W) uint8 image
LUMA_FIRST = frozenset({"I420", "IYUV", "YV12", "NV12", "NV21", "Y42B", "422P", "444P", "Y800", "GREY", "J420", "J422", "J444"})
DECODER_THREADS = 1  # FFmpeg's own decoding threads: on a 2-core machine the pipeline's stages use the cores (tools/bench.py)


class VideoSource(Source):
    """Frames of a video file; ``timestamp = index / fps``: the rate the user gives (``fps``), else the container's.

    High-speed cameras often write a wrong container rate (25 or 30 for a 200 fps recording); a given rate is the
    time base, and the container's is kept in ``container_fps`` (warned about when they disagree)."""

    live = False

    def __init__(self, path: str | os.PathLike[str], fps: float | None = None, gray: bool = True) -> None:
        super().__init__()
        self.gray = gray  # deliver (H, W) gray frames: the luma plane as decoded where the format allows (no colour conversion)
        self.luma = False  # True when the frames are the decoder's own luma plane
        self.fps_requested = fps
        self.container_fps: float | None = None
        self.path = Path(path).expanduser()
        self.name = self.path.name or str(self.path)
        self._cap: cv2.VideoCapture | None = None
        self._first: np.ndarray | None = None  # decoded on open to prove the file works

    def _open(self) -> None:
        p = self.path
        if not p.exists():
            raise fail(SourceError, f"video file {p} not found", "check the path, or run --demo to try without a file")
        if p.is_dir():
            raise fail(SourceError, f"{p} is a folder, not a video file", "pass a folder of images with --frames DIR, or a video file with --video FILE")
        if not os.access(p, os.R_OK):
            raise fail(SourceError, f"video file {p} is not readable (permission denied)", f"fix its permissions, e.g. chmod u+r {p}")
        if p.stat().st_size == 0:
            raise fail(SourceError, f"video file {p} is empty (0 bytes)", "the copy or download failed; get the file again")
        cap = _create(p, luma=self.gray)
        if cap is not None and self.gray:
            cap = self._check_luma(cap, p)
        if cap is None:
            raise fail(SourceError, f"{p} could not be opened as a video (not a video, truncated, or an unsupported codec)",
                       f"check it plays elsewhere, or re-encode it: ffmpeg -i {p} -c:v libx264 fixed.mp4")
        ok, image = cap.read()
        if not ok or image is None or not image.size:
            cap.release()
            raise fail(SourceError, f"{p} opened but no frame could be decoded (truncated or corrupt)",
                       f"get the file again, or re-encode it: ffmpeg -i {p} -c:v libx264 fixed.mp4")
        self._cap = cap
        self._first = self._convert(image)
        self.height, self.width = self._first.shape[:2]
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.container_fps = float(fps) if fps and math.isfinite(fps) and 0 < fps <= MAX_FPS else None
        given = self.fps_requested
        if given:
            self.fps = float(given)
            if self.container_fps is not None and abs(given - self.container_fps) > RATE_MISMATCH * self.container_fps:
                self.warnings.append(f"{p.name}: its container says {self.container_fps:g} fps, timed at --fps {given:g} "
                                     f"as given ({given / self.container_fps:.3g}x); drop --fps to use the container's rate")
        elif self.container_fps is not None:
            self.fps = self.container_fps
        else:
            self.fps = FALLBACK_FPS
            self.warnings.append(f"{p.name} does not state a usable frame rate; assuming {FALLBACK_FPS:g} fps, "
                                 "so times in seconds may be off (re-encode it with its true rate: ffmpeg -r RATE -i FILE fixed.mp4)")
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)  # from the container: may be approximate
        self.total_frames = int(count) if count and math.isfinite(count) and count > 0 else None

    def _read(self) -> np.ndarray | None:
        assert self._cap is not None, "VideoSource.read() before open()"
        if self._first is not None:
            image, self._first = self._first, None
            return image
        ok, image = self._cap.read()
        if not ok or image is None or not image.size:
            return None  # end, or decoding stopped mid-stream (the Grabber flags ended_early)
        return self._convert(image)

    def _convert(self, image: np.ndarray) -> np.ndarray:
        """What the pipeline gets: the luma plane as is, a BGR image turned gray (``gray``), else BGR."""
        if self.gray:
            return image if image.ndim == 2 else cv2.cvtColor(to_bgr(image), cv2.COLOR_BGR2GRAY)
        return to_bgr(image)

    def _check_luma(self, cap: cv2.VideoCapture, p: Path) -> cv2.VideoCapture | None:
        """Keep the raw capture only for a pixel format whose first plane is 8-bit luma; otherwise reopen with OpenCV's
        BGR conversion (the frames are then turned gray one by one)."""
        code = int(cap.get(cv2.CAP_PROP_CODEC_PIXEL_FORMAT) or 0)
        fmt = code.to_bytes(4, "little").decode("ascii", "replace") if code > 0 else ""
        if fmt in LUMA_FIRST:
            self.luma = True
            return cap
        cap.release()
        return _create(p, luma=False)

    def _close(self) -> None:
        self._first = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _create(path: Path, luma: bool = False) -> cv2.VideoCapture | None:
    """An opened capture. FFmpeg only when present: CAP_ANY would also try OpenCV's own AVI
    reader (which prints to stderr) and the image-sequence backend (``%d`` in a name). ``luma``: OpenCV's BGR
    conversion off (the decoder's first plane comes back as is). FFmpeg decodes on ``DECODER_THREADS`` threads."""
    quiet_opencv()
    ffmpeg = cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG)
    api = cv2.CAP_FFMPEG if ffmpeg else cv2.CAP_ANY
    params = [cv2.CAP_PROP_N_THREADS, DECODER_THREADS] if ffmpeg else []
    if luma and ffmpeg:
        params += [cv2.CAP_PROP_CONVERT_RGB, 0]
    cap = cv2.VideoCapture(str(path), api, params)
    if cap.isOpened():
        return cap
    cap.release()
    return None
