"""A folder of frame images, the way CASME II, SAMM and SMIC store their clips.

CASME II: ``sub01/EP02_01f/img46.jpg``; SAMM: ``006/006_1_2/006_05562.jpg``. Names are sorted
naturally (``img2`` before ``img10``) and played at a configured rate (200 fps for CASME II/SAMM).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.capture.base import SkipFrame, Source, to_bgr
from realtime_mer.errors import SourceError, fail

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digit runs by value: ``img2`` < ``img10``, case-insensitive."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in _DIGITS.split(name) if part)


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, naturally sorted (hidden files such as ``._img1.jpg`` skipped)."""
    files = [p for p in folder.iterdir()
             if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_image(path: Path) -> np.ndarray | None:
    """Decode one image as BGR uint8 (gray and 16-bit converted), None if it cannot be decoded.

    ``imdecode`` of the bytes instead of ``imread`` so non-ASCII paths work on every platform.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return None if image is None else to_bgr(image)


class FolderSource(Source):
    """The images of one folder in natural order at ``fps`` frames per second."""

    live = False

    def __init__(self, path: str | os.PathLike[str], fps: float = 200.0) -> None:
        super().__init__()
        self.path = Path(path).expanduser()
        self.name = self.path.name or str(self.path)
        self.fps_requested = fps
        self._files: list[Path] = []
        self._next = 0
        self._first: np.ndarray | None = None  # decoded on open to learn the size

    @property
    def files(self) -> list[Path]:
        """The frame files in play order (empty before ``open()``)."""
        return list(self._files)

    def _open(self) -> None:
        p, fps = self.path, self.fps_requested
        if fps is None or not math.isfinite(fps) or fps <= 0:
            raise fail(SourceError, f"frame rate {fps} for the folder {p} is not a positive number",
                       "pass the recording rate with --fps (200 for CASME II and SAMM, 100 for SMIC-HS)")
        if not p.exists():
            raise fail(SourceError, f"frames folder {p} not found", "check the path; pass a folder of frames like CASME II's sub01/EP02_01f")
        if not p.is_dir():
            raise fail(SourceError, f"{p} is not a folder", "pass a folder of frame images, or a video file with --video FILE")
        try:
            files = list_images(p)
        except PermissionError:
            raise fail(SourceError, f"frames folder {p} is not readable (permission denied)", f"fix its permissions, e.g. chmod u+rx {p}") from None
        if not files:
            raise fail(SourceError, f"no images (.jpg/.png/.bmp/.tif) in {p}", "pass a folder of frames like CASME II's sub01/EP02_01f")
        first = read_image(files[0])
        if first is None:
            raise fail(SourceError, f"frame image {files[0]} could not be decoded", "replace or delete the damaged file")
        self._files = files
        self._next = 0
        self._first = first
        self.fps = float(fps)
        self.height, self.width = first.shape[:2]
        self.total_frames = len(files)

    def _read(self) -> np.ndarray | None:
        if self._next >= len(self._files):
            return None
        path = self._files[self._next]
        image, self._first = (self._first, None) if self._first is not None else (read_image(path), None)
        self._next += 1
        if image is None:  # one damaged file must not end a long clip: skipped, counted, named in the warnings
            raise SkipFrame(f"frame {self._next - 1} ({path.name}) could not be decoded")
        h, w = image.shape[:2]
        if (w, h) != (self.width, self.height):
            raise SkipFrame(f"frame {self._next - 1} ({path.name}) is {w}x{h}, not the clip's {self.width}x{self.height}")
        return image

    def _close(self) -> None:
        self._next = 0
        self._first = None
