"""Faces to inject movements into: a still image (the bundled astronaut) or a video.

Both are cropped around the face to the output aspect ratio and scaled so the face has a
set size. A video is either held (one of its frames becomes a still, see ``VideoBackdrop.still``) or
played at its own speed, ping-ponged to any length, and upsampled to the output rate by
motion-compensated interpolation (or blending) so no output frame is a repeat; its landmarks
come from FaceMesh per source frame, interpolated in between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import DataError, SourceError, fail
from realtime_mer.synth.field import face_geometry

ASSETS = Path(__file__).resolve().parents[1] / "assets"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def load_astronaut() -> tuple[np.ndarray, np.ndarray]:
    """The bundled portrait (BGR uint8) and its precomputed (468, 2) float32 landmarks."""
    png, npy = ASSETS / "astronaut.png", ASSETS / "astronaut_landmarks.npy"
    image = cv2.imread(str(png), cv2.IMREAD_COLOR)
    if image is None or not npy.is_file():
        raise fail(DataError, f"demo assets missing in {ASSETS}", "reinstall realtime-mer or run tools/make_demo_assets.py")
    return image, np.load(npy).astype(np.float32)


class LandmarkDetector:
    """MediaPipe FaceMesh returning the largest face's 468 landmarks in pixels (or None)."""

    def __init__(self, static: bool) -> None:
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=static, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.5)

    def __call__(self, image_bgr: np.ndarray) -> np.ndarray | None:
        h, w = image_bgr.shape[:2]
        res = self._mesh.process(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        if not res.multi_face_landmarks:
            return None
        return np.array([(p.x * w, p.y * h) for p in res.multi_face_landmarks[0].landmark[:468]], np.float32)

    def close(self) -> None:
        self._mesh.close()


@dataclass(frozen=True, slots=True)
class Crop:
    """Integer source window (x, y, w, h) scaled to the output size."""

    x: int
    y: int
    w: int
    h: int
    out_w: int
    out_h: int

    def apply(self, image: np.ndarray) -> np.ndarray:
        patch = image[self.y : self.y + self.h, self.x : self.x + self.w]
        interp = cv2.INTER_AREA if self.w > self.out_w else cv2.INTER_LINEAR
        return cv2.resize(patch, (self.out_w, self.out_h), interpolation=interp)

    def points(self, pts: np.ndarray) -> np.ndarray:
        s = np.array([self.out_w / self.w, self.out_h / self.h], np.float32)
        return ((pts - np.array([self.x, self.y], np.float32)) * s).astype(np.float32)


def face_crop(src_w: int, src_h: int, center: np.ndarray, face_size: float, out_w: int, out_h: int, face_frac: float) -> Crop:
    """The largest-possible-zoom window of the output aspect that shows the face at
    ``face_frac`` of the output height, kept inside the source (zoom never below "cover")."""
    scale = face_frac * out_h / max(face_size, 1.0)
    scale = min(max(scale, out_w / src_w, out_h / src_h), 4.0)
    w = min(round(out_w / scale), src_w)
    h = min(round(out_h / scale), src_h)
    x = round(min(max(center[0] - w / 2, 0), src_w - w))
    y = round(min(max(center[1] - h / 2, 0), src_h - h))
    return Crop(x, y, w, h, out_w, out_h)


class StillBackdrop:
    """A single image with known (or detected) landmarks."""

    static = True

    def __init__(self, image: np.ndarray, landmarks: np.ndarray | None, width: int, height: int, face_frac: float = 0.36, name: str = "still") -> None:
        if landmarks is None:
            det = LandmarkDetector(static=True)
            try:
                landmarks = det(image)
            finally:
                det.close()
            if landmarks is None:
                raise fail(SourceError, f"no face found in {name}", "use an image with a frontal face")
        geo = face_geometry(landmarks)
        self.crop = face_crop(image.shape[1], image.shape[0], geo.center, geo.size, width, height, face_frac)
        self.canvas = self.crop.apply(image)
        self.landmarks = self.crop.points(landmarks)
        self.name = name
        self.source_fps = 0.0

    @classmethod
    def from_canvas(cls, canvas: np.ndarray, landmarks: np.ndarray, name: str) -> StillBackdrop:
        """A backdrop from an image already cropped to the output size, with its landmarks."""
        self = cls.__new__(cls)
        h, w = canvas.shape[:2]
        self.crop = Crop(0, 0, w, h, w, h)
        self.canvas, self.landmarks, self.name, self.source_fps = canvas, landmarks.astype(np.float32), name, 0.0
        return self

    def face_ok(self, n_frames: int) -> np.ndarray:
        return np.ones(n_frames, bool)


def open_video(path: Path) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise fail(SourceError, f"cannot open video {path}", "check the path and that OpenCV can decode it")
    return cap


class VideoBackdrop:
    """A video cropped around its face, ping-ponged and upsampled to ``fps``.

    Source frames are kept JPEG-encoded (quality 95) in memory, at the output size; only the
    frames needed for ``seconds`` are read. ``interp``: ``"flow"`` (DIS optical flow, both
    directions) or ``"blend"`` (cross-fade).
    """

    static = False

    def __init__(self, path: Path, width: int, height: int, fps: float, seconds: float, face_frac: float = 0.36, interp: str = "flow") -> None:
        if interp not in ("flow", "blend"):
            raise fail(DataError, f"unknown interpolation {interp!r}", "use 'flow' or 'blend'")
        self.name = Path(path).stem
        self.fps, self.interp = fps, interp
        cap = open_video(Path(path))
        src_fps = cap.get(cv2.CAP_PROP_FPS)
        self.source_fps = src_fps if src_fps and 1.0 <= src_fps <= 1000.0 else 30.0
        limit = math.ceil(seconds * self.source_fps) + 2
        det = LandmarkDetector(static=False)
        marks: list[np.ndarray | None] = []
        try:  # pass 1: landmarks (in source pixels) of the frames that will be used
            while len(marks) < limit:
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                marks.append(det(frame))
                src_w, src_h = frame.shape[1], frame.shape[0]
        finally:
            det.close()
            cap.release()
        found = [m for m in marks if m is not None]
        if len(marks) < 2 or not found:
            raise fail(SourceError, f"{path}: {'no face found' if len(marks) >= 2 else 'fewer than 2 frames'}", "use a video with a visible frontal face")
        geos = [face_geometry(m) for m in found]
        center = np.median([g.center for g in geos], axis=0)
        size = float(np.median([g.size for g in geos]))
        self.crop = face_crop(src_w, src_h, center, size, width, height, face_frac)
        frames: list[np.ndarray] = []
        cap = open_video(Path(path))
        try:  # pass 2: the cropped, scaled frames, JPEG-encoded once
            while len(frames) < len(marks):
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                frames.append(cv2.imencode(".jpg", self.crop.apply(frame), [cv2.IMWRITE_JPEG_QUALITY, 95])[1])
        finally:
            cap.release()
        if len(frames) < 2:
            raise fail(SourceError, f"{path}: fewer than 2 frames could be decoded", "check the file")
        marks = marks[: len(frames)]
        self._encoded = frames
        self._marks = [None if m is None else self.crop.points(m) for m in marks]
        self.n_source = len(frames)
        self._cache: dict[int, np.ndarray] = {}
        self._flows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST) if interp == "flow" else None
        h, w = height, width
        self._grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self._maps = (np.empty((h, w), np.float32), np.empty((h, w), np.float32))

    # -- timing ----------------------------------------------------------------------------
    def position(self, i: int) -> tuple[int, float]:
        """Source frame ``k`` and fraction toward ``k + 1`` of output frame ``i`` (ping-pong)."""
        period = 2 * (self.n_source - 1)
        tau = math.fmod(i * self.source_fps / self.fps, period)
        pos = tau if tau <= self.n_source - 1 else period - tau
        k = min(int(pos), self.n_source - 2)
        return k, pos - k

    @property
    def marks(self) -> list[np.ndarray | None]:
        """Landmarks of every source frame in output pixels (None without a face)."""
        return self._marks

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the output frames."""
        return self.crop.out_w, self.crop.out_h

    def face_ok(self, n_frames: int) -> np.ndarray:
        ok = np.array([m is not None for m in self._marks])
        out = np.empty(n_frames, bool)
        for i in range(n_frames):
            k, _ = self.position(i)
            out[i] = ok[k] and ok[k + 1]
        return out

    def still(self, k: int) -> StillBackdrop:
        """Source frame ``k`` (or the nearest one with a face) as a still backdrop: the "hold"
        way to reach 200 fps, where the scene's sub-pixel head drift, jerks, blinks, flicker and
        noise make every output frame different and the video's own expressions stay out."""
        with_face = [j for j, m in enumerate(self._marks) if m is not None]
        j = min(with_face, key=lambda j: (abs(j - k), j))
        marks = self._marks[j]
        assert marks is not None
        return StillBackdrop.from_canvas(self._source(j).copy(), marks, f"{self.name}@{j}")

    # -- frames ----------------------------------------------------------------------------
    def _source(self, k: int) -> np.ndarray:
        if k not in self._cache:
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))
            self._cache[k] = cv2.imdecode(self._encoded[k], cv2.IMREAD_COLOR)
        return self._cache[k]

    def _flow(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        if (a, b) not in self._flows:
            if len(self._flows) >= 4:
                self._flows.pop(next(iter(self._flows)))
            h, w = self._grid[0].shape
            half = (w // 2, h // 2)  # flow at half resolution, upsampled: plenty for interpolation
            ga = cv2.resize(cv2.cvtColor(self._source(a), cv2.COLOR_BGR2GRAY), half, interpolation=cv2.INTER_AREA)
            gb = cv2.resize(cv2.cvtColor(self._source(b), cv2.COLOR_BGR2GRAY), half, interpolation=cv2.INTER_AREA)
            flow = cv2.resize(self._dis.calc(ga, gb, None), (w, h), interpolation=cv2.INTER_LINEAR) * 2.0  # type: ignore[union-attr]
            self._flows[(a, b)] = (np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1]))
        return self._flows[(a, b)]

    def _warp(self, image: np.ndarray, flow: tuple[np.ndarray, np.ndarray], t: float) -> np.ndarray:
        gx, gy = self._grid
        mx, my = self._maps
        cv2.scaleAdd(flow[0], -t, gx, mx)
        cv2.scaleAdd(flow[1], -t, gy, my)
        return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def frame(self, i: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Output frame ``i`` (a new array) and its landmarks (None without a face)."""
        k, f = self.position(i)
        a, b = self._source(k), self._source(k + 1)
        if f < 1e-6:
            image = a.copy()
        elif self.interp == "blend":
            image = cv2.addWeighted(a, 1.0 - f, b, f, 0.0)
        else:
            wa = self._warp(a, self._flow(k, k + 1), f)
            wb = self._warp(b, self._flow(k + 1, k), 1.0 - f)
            image = cv2.addWeighted(wa, 1.0 - f, wb, f, 0.0)
        ma, mb = self._marks[k], self._marks[k + 1]
        marks = None if ma is None or mb is None else ((1.0 - f) * ma + f * mb).astype(np.float32)
        return image, marks


def is_image(path: Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
