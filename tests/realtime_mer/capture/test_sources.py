"""Camera, video and image-folder sources: what they deliver, and the one-line errors for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime_mer.capture import CameraSource, FolderSource, Grabber, VideoSource, make_grabber, open_source
from realtime_mer.capture import camera as camera_module
from realtime_mer.capture.base import SkipFrame
from realtime_mer.capture.camera import fourcc_str, granted_warnings
from realtime_mer.capture.folder import natural_key
from realtime_mer.config import SourceConfig
from realtime_mer.errors import SourceError, SourceLost

REPO = Path(__file__).resolve().parents[3]


# -- helpers ---------------------------------------------------------------------------------
def _image(i: int, w: int = 64, h: int = 48) -> np.ndarray:
    """A frame whose brightness encodes its index (survives lossy codecs)."""
    return np.full((h, w, 3), (i * 6) % 250, np.uint8)


def write_video(path: Path, n: int = 30, fps: float = 25.0, fourcc: str = "MJPG", w: int = 64, h: int = 48) -> Path:
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert vw.isOpened(), f"cannot write {fourcc} test video {path}"
    for i in range(n):
        vw.write(_image(i, w, h))
    vw.release()
    return path


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def drain(source: VideoSource | FolderSource) -> list[np.ndarray]:
    out = []
    with source:
        while (im := source.read()) is not None:
            out.append(im)
    return out


def one_line_error(exc: pytest.ExceptionInfo[SourceError], *needles: str) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and ";" in msg, f"not a one-line 'problem; fix' message: {msg!r}"
    for n in needles:
        assert n in msg, f"{n!r} not in {msg!r}"
    return msg


def missing_camera_index() -> int:
    """An index with no camera behind it (7 unless this machine really has a /dev/video7)."""
    return next(i for i in range(7, 64) if not Path(f"/dev/video{i}").exists())


def run_cli_like(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, without a user's OpenCV log settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENCV_LOG_LEVEL", "OPENCV_FFMPEG_LOGLEVEL")}
    prelude = "import sys\nfrom realtime_mer.errors import SourceError\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


# -- video files -----------------------------------------------------------------------------
@pytest.mark.parametrize("gray", [True, False])
@pytest.mark.parametrize(("name", "fourcc"), [("clip.avi", "MJPG"), ("clip.mp4", "mp4v")])
def test_video_delivers_every_frame_in_order(tmp_path: Path, name: str, fourcc: str, gray: bool) -> None:
    src = VideoSource(write_video(tmp_path / name, n=30, fps=25.0, fourcc=fourcc), gray=gray)
    frames = drain(src)
    assert src.fps == pytest.approx(25.0)
    assert src.total_frames == 30 and (src.width, src.height) == (64, 48)
    assert len(frames) == 30
    assert src.luma == gray  # these codecs decode to planar YUV: the luma plane is handed over as is
    assert all(f.dtype == np.uint8 and f.shape == ((48, 64) if gray else (48, 64, 3)) for f in frames)
    means = [float(f.mean()) for f in frames]
    assert means == sorted(means) and means[-1] - means[0] > 100  # frame 0 first, no frame lost or repeated
    assert src.position_ns(50) == 2_000_000_000


def test_gray_frames_are_the_luma_of_the_colour_frames(tmp_path: Path) -> None:
    """The luma plane is the picture's brightness (studio range: 16..235 for black..white), so it matches OpenCV's
    BGR-to-gray of the same frame up to that range (what the aligner and the spotter are insensitive to)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "rgb.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    for _ in range(5):
        w.write(cv2.GaussianBlur(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (7, 7), 3))
    w.release()
    luma = drain(VideoSource(path, gray=True))
    bgr = drain(VideoSource(path, gray=False))
    for y, c in zip(luma, bgr, strict=True):
        g = cv2.cvtColor(c, cv2.COLOR_BGR2GRAY).astype(np.float64)
        full = (y.astype(np.float64) - 16.0) * 255.0 / 219.0
        assert np.abs(full - g).mean() < 2.0 and np.corrcoef(full.ravel(), g.ravel())[0, 1] > 0.99


def test_video_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as exc:
        VideoSource(tmp_path / "nope.mp4").open()
    one_line_error(exc, "not found", "nope.mp4")


def test_video_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as exc:
        VideoSource(tmp_path).open()
    one_line_error(exc, "is a folder", "--frames")


@pytest.mark.parametrize("content", [b"", b"this is not a video\n" * 50])
def test_video_not_a_video(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "notes.mp4"
    p.write_bytes(content)
    with pytest.raises(SourceError) as exc:
        VideoSource(p).open()
    one_line_error(exc, "notes.mp4")
    assert ("empty" in str(exc.value)) == (content == b"")


def test_truncated_mp4_without_index_fails_cleanly(tmp_path: Path) -> None:
    full = write_video(tmp_path / "full.mp4", n=40, fourcc="mp4v")
    cut = truncate(full, tmp_path / "cut.mp4", 0.5)  # the moov index is at the end: cut off
    with pytest.raises(SourceError) as exc:
        VideoSource(cut).open()
    one_line_error(exc, "cut.mp4", "could not be opened")


def test_truncated_avi_delivers_frames_up_to_the_cut(tmp_path: Path) -> None:
    full = write_video(tmp_path / "full.avi", n=40)
    src = VideoSource(truncate(full, tmp_path / "cut.avi", 0.5))
    g = Grabber(src).start()
    frames = list(g)
    g.stop()
    assert g.error is None
    assert 5 <= len(frames) < 40
    assert [f.index for f in frames] == list(range(len(frames)))
    assert src.total_frames == 40 and g.ended_early  # the header still declares 40


def test_avi_cut_before_the_first_frame_fails_cleanly(tmp_path: Path) -> None:
    full = write_video(tmp_path / "full.avi", n=40)
    cut = truncate(full, tmp_path / "cut.avi", 0.08)
    with pytest.raises(SourceError) as exc:
        VideoSource(cut).open()
    one_line_error(exc, "cut.avi")


def test_video_without_frame_rate_falls_back_to_30_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import realtime_mer.capture.video as video

    real_create = video._create

    class NoFps:
        """A real capture that reports no frame rate, as some containers do."""

        def __init__(self, cap: cv2.VideoCapture) -> None:
            self.cap = cap

        def get(self, prop: int) -> float:
            return float("nan") if prop == cv2.CAP_PROP_FPS else self.cap.get(prop)

        def __getattr__(self, name: str) -> object:
            return getattr(self.cap, name)

    monkeypatch.setattr(video, "_create", lambda p, luma=False: NoFps(real_create(p, luma)))
    src = VideoSource(write_video(tmp_path / "clip.avi", n=5))
    frames = drain(src)
    assert len(frames) == 5 and src.fps == 30.0
    assert len(src.warnings) == 1 and "assuming 30 fps" in src.warnings[0] and "\n" not in src.warnings[0]


def test_open_errors_print_one_line_and_no_opencv_noise(tmp_path: Path) -> None:
    """OpenCV/FFmpeg must not add their own stderr lines ("moov atom not found", "[ WARN:...]")."""
    full = write_video(tmp_path / "full.mp4", n=20, fourcc="mp4v")
    bad = [truncate(full, tmp_path / "cut.mp4", 0.5), tmp_path / "text.mp4", tmp_path / "nope.avi"]
    bad[1].write_text("hello\n")
    res = run_cli_like(f"""
        from realtime_mer.capture import VideoSource
        for p in {[str(p) for p in bad]!r}:
            try:
                VideoSource(p).open()
            except SourceError as err:
                print(f"realtime-mer: error: {{err}}", file=sys.stderr)
    """)
    lines = res.stderr.splitlines()
    assert res.returncode == 0 and len(lines) == 3, res.stderr
    assert all(line.startswith("realtime-mer: error: ") for line in lines), res.stderr


# -- real videos (../shared/data/real_faces) -------------------------------------------------
REAL = {  # file: (frames, fps, width, height) from ../shared/data/README.md
    "WolfgangLanger_Pexels.mp4": (472, 23.976, 640, 360),
    "single_face.mp4": (72, 30.0, 640, 360),
    "face_noface.mov": (169, 26.4, 960, 540),  # HEVC
    "no_face.mp4": (98, 23.7, 960, 540),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_videos_open_and_decode(real_faces: Path, name: str) -> None:
    frames, fps, w, h = REAL[name]
    src = VideoSource(real_faces / name)
    g = Grabber(src, maxsize=8).start()
    n = 0
    for f in g:
        assert f.index == n and f.image.shape == (h, w) and f.image.dtype == np.uint8
        n += 1
    g.stop()
    assert g.error is None
    assert src.total_frames == frames
    assert src.fps == pytest.approx(fps, abs=0.05)
    # no_face.mp4 declares 98 frames but FFmpeg decodes 95: the stream ends early
    assert frames * 0.95 <= n <= frames
    assert g.ended_early == (n < frames - 1)


# -- image folders ---------------------------------------------------------------------------
def test_natural_sort() -> None:
    names = ["img10.jpg", "img2.jpg", "img1.jpg", "IMG3.jpg", "006_05562.jpg"]
    assert sorted(names, key=natural_key) == ["006_05562.jpg", "img1.jpg", "img2.jpg", "IMG3.jpg", "img10.jpg"]


def test_folder_plays_frames_in_natural_order(tmp_path: Path) -> None:
    clip = tmp_path / "sub01" / "EP02_01f"  # CASME II layout
    clip.mkdir(parents=True)
    for i in (46, 47, 100, 9, 10):
        cv2.imwrite(str(clip / f"img{i}.jpg"), np.full((48, 64, 3), 2 * i, np.uint8))
    (clip / "notes.txt").write_text("not a frame")
    (clip / "._img1.jpg").write_bytes(b"macOS resource fork")
    src = FolderSource(clip)
    frames = drain(src)
    assert [p.name for p in src.files] == ["img9.jpg", "img10.jpg", "img46.jpg", "img47.jpg", "img100.jpg"]
    assert src.fps == 200.0 and src.total_frames == 5 and (src.width, src.height) == (64, 48)
    means = [float(f.mean()) for f in frames]
    assert means == sorted(means) and len(frames) == 5


def test_folder_mixed_extensions_and_gray_images(tmp_path: Path) -> None:
    gray = _image(20)[:, :, 0]
    for i, ext in enumerate([".JPG", ".png", ".Bmp", ".tif", ".TIFF", ".jpeg"]):
        assert cv2.imwrite(str(tmp_path / f"f{i}{ext}"), gray)
    frames = drain(FolderSource(tmp_path, fps=100.0))
    assert len(frames) == 6
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in frames)
    assert all(abs(int(f[0, 0, 0]) - 120) <= 2 for f in frames)


def test_folder_timestamps_follow_fps(tmp_path: Path) -> None:
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"{i}.png"), _image(i))
    g = Grabber(FolderSource(tmp_path, fps=200.0)).start()
    ts = [f.timestamp_ns for f in g]
    g.stop()
    assert ts == [0, 5_000_000, 10_000_000, 15_000_000]


def test_folder_missing_not_a_folder_and_empty(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as exc:
        FolderSource(tmp_path / "nope").open()
    one_line_error(exc, "not found")
    f = tmp_path / "a.jpg"
    cv2.imwrite(str(f), _image(0))
    with pytest.raises(SourceError) as exc:
        FolderSource(f).open()
    one_line_error(exc, "is not a folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(SourceError) as exc:
        FolderSource(empty).open()
    one_line_error(exc, "no images (.jpg/.png", str(empty), "EP02_01f")
    with pytest.raises(SourceError) as exc:
        FolderSource(tmp_path, fps=0).open()
    one_line_error(exc, "--fps")


def test_folder_corrupt_image_mid_stream_is_skipped_and_named(tmp_path: Path) -> None:
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"img{i}.jpg"), _image(i))
    (tmp_path / "img3.jpg").write_bytes(b"\xff\xd8 broken jpeg")
    g = Grabber(FolderSource(tmp_path)).start()
    got = list(g)
    g.stop()
    assert [f.index for f in got] == [0, 1, 2, 4]  # frame 4 keeps its index (and so its time)
    assert g.error is None and g.skipped == 1
    assert g.skip_notes == ["frame 3 (img3.jpg) could not be decoded"]


def test_folder_first_image_corrupt_fails_on_open(tmp_path: Path) -> None:
    (tmp_path / "img0.png").write_bytes(b"nope")
    with pytest.raises(SourceError) as exc:
        FolderSource(tmp_path).open()
    one_line_error(exc, "img0.png")


def test_folder_size_mismatch_is_skipped_and_named(tmp_path: Path) -> None:
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), _image(i, w=64 if i != 2 else 32))
    src = FolderSource(tmp_path)
    src.open()
    assert src.read() is not None and src.read() is not None
    with pytest.raises(SkipFrame, match=r"frame 2 \(img2.png\) is 32x48, not the clip's 64x48"):
        src.read()
    assert src.read() is not None and src.read() is None
    src.close()


# -- camera ----------------------------------------------------------------------------------
def test_missing_camera_prints_exactly_one_line() -> None:
    idx = missing_camera_index()
    res = run_cli_like(f"""
        from realtime_mer.capture.camera import CameraSource
        try:
            CameraSource({idx}).open()
        except SourceError as err:
            print(f"realtime-mer: error: {{err}}", file=sys.stderr)
            sys.exit(2)
    """)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"realtime-mer: error: camera {idx} could not be opened")
    assert "--demo" in lines[0]


class FakeCapture:
    """Stands in for cv2.VideoCapture: grants ``fps`` and ``size`` whatever is asked."""

    def __init__(self, fps: float, size: tuple[int, int], good_reads: int = 10**9, fourcc: str = "MJPG") -> None:
        self.props = {cv2.CAP_PROP_FPS: fps, cv2.CAP_PROP_FOURCC: float(cv2.VideoWriter_fourcc(*fourcc))}
        self.size, self.good_reads, self.reads, self.released = size, good_reads, 0, False
        self.asked: dict[int, float] = {}

    def set(self, prop: int, value: float) -> bool:
        self.asked[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        if self.reads > self.good_reads:
            return False, None
        w, h = self.size
        return True, np.zeros((h, w), np.uint8)  # gray, as some IR/mono cameras deliver

    def getBackendName(self) -> str:
        return "FAKE"

    def release(self) -> None:
        self.released = True


def _fake_camera(monkeypatch: pytest.MonkeyPatch, cap: FakeCapture) -> None:
    monkeypatch.setattr(CameraSource, "_create", lambda self: cap)


def test_camera_reports_what_it_granted(monkeypatch: pytest.MonkeyPatch) -> None:
    cap = FakeCapture(fps=120.0, size=(320, 240))
    _fake_camera(monkeypatch, cap)
    cam = CameraSource(0, fps=200, width=640, height=480)
    cam.open()
    assert cap.asked[cv2.CAP_PROP_FPS] == 200 and cap.asked[cv2.CAP_PROP_FRAME_WIDTH] == 640
    assert cap.asked[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
    assert (cam.fps, cam.fps_requested, cam.width, cam.height, cam.fourcc) == (120.0, 200, 320, 240, "MJPG")
    assert len(cam.warnings) == 2 and all("\n" not in w for w in cam.warnings)
    assert cam.warnings[0].startswith("camera 0 granted 120 fps of the 200 requested; ")
    assert cam.warnings[1].startswith("camera 0 granted 320x240 of the 640x480 requested; ")
    frame = cam.read()
    assert frame is not None and frame.shape == (240, 320, 3)
    cam.close()
    assert cap.released


def test_camera_without_requests_has_no_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    cap = FakeCapture(fps=60.0, size=(640, 480), fourcc="YUYV")
    _fake_camera(monkeypatch, cap)
    cam = CameraSource(1, mjpg=False)
    cam.open()
    assert cv2.CAP_PROP_FPS not in cap.asked and cv2.CAP_PROP_FOURCC not in cap.asked
    assert (cam.fps, cam.fps_requested, cam.fourcc, cam.warnings) == (60.0, None, "YUYV", [])
    cam.close()


def test_camera_that_reports_no_fps_assumes_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_camera(monkeypatch, FakeCapture(fps=0.0, size=(640, 480)))
    cam = CameraSource(0, fps=90)
    cam.open()
    assert cam.fps == 90.0 and len(cam.warnings) == 1 and "does not report its frame rate" in cam.warnings[0]


def test_camera_that_delivers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    cap = FakeCapture(fps=30.0, size=(640, 480), good_reads=0)
    _fake_camera(monkeypatch, cap)
    with pytest.raises(SourceError) as exc:
        CameraSource(0).open()
    one_line_error(exc, "delivered no frame")
    assert cap.released


def test_camera_lost_mid_stream_surfaces_from_grabber(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camera_module, "LOST_AFTER_S", 0.2)
    _fake_camera(monkeypatch, FakeCapture(fps=30.0, size=(64, 48), good_reads=6))
    g = make_grabber(CameraSource(0), SourceConfig(kind="camera"))
    assert g.drop and g.pace_fps is None
    g.start()
    got = []
    with pytest.raises(SourceError) as exc:
        while True:
            f = g.get(timeout=5)
            if f is not None:
                got.append(f)
    g.stop()
    one_line_error(exc, "stopped delivering frames for 0.2 s")
    assert isinstance(exc.value, SourceLost) and exc.value.exit_code == 3  # what was read counts: a distinct exit status
    assert g.captured == 5  # 6 good reads, the first was the test frame on open
    assert all(f.timestamp_ns > 0 for f in got)  # live: monotonic clock, not index / fps


def test_camera_that_stalls_and_comes_back_is_counted_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stalling(FakeCapture):
        until = 0.0

        def read(self) -> tuple[bool, np.ndarray | None]:
            if self.reads == 4 and time.monotonic() < self.until:  # the 5th read fails for 0.8 s, then frames again
                return False, None
            return super().read()

    cap = Stalling(fps=100.0, size=(64, 48), good_reads=12)
    _fake_camera(monkeypatch, cap)
    cam = CameraSource(0)
    cam.open()
    got = [cam.read() for _ in range(3)]
    cap.until = time.monotonic() + 0.8
    got += [cam.read() for _ in range(3)]
    cam.close()
    assert all(f is not None for f in got)
    assert cam.stalls == 1 and 0.7 < cam.stall_s < 2.0


def test_granted_warnings_and_fourcc() -> None:
    assert granted_warnings(0, 200, 200.0, (640, 480), (640, 480)) == []
    assert granted_warnings(0, None, 30.0, (640, 480), (1280, 720)) == []
    assert granted_warnings(2, 100, 99.5, (640, 480), (640, 480)) == []  # within rounding
    assert fourcc_str(cv2.VideoWriter_fourcc(*"MJPG")) == "MJPG"
    assert fourcc_str(0.0) == "" and fourcc_str(float("nan")) == ""


# -- factory ---------------------------------------------------------------------------------
def test_open_source_and_make_grabber(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", n=10, fps=25.0)
    src = open_source(SourceConfig(kind="video", path=video))
    assert isinstance(src, VideoSource) and src.fps == pytest.approx(25.0)
    g = make_grabber(src, SourceConfig(kind="video", queue_size=7))
    assert not g.drop and g.pace_fps is None and g.queue.maxsize == 7
    g = make_grabber(src, SourceConfig(kind="video", realtime=True))
    assert g.drop and g.pace_fps == pytest.approx(25.0)
    g = make_grabber(src, SourceConfig(kind="video", realtime=True, fps=50.0))
    assert g.pace_fps == 50.0
    src.close()

    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "img1.png"), _image(1))
    src = open_source(SourceConfig(kind="frames", path=frames))
    assert isinstance(src, FolderSource) and src.fps == 200.0
    src = open_source(SourceConfig(kind="frames", path=frames, fps=100.0))
    assert src.fps == 100.0


@pytest.mark.parametrize(("cfg", "needle"), [
    (SourceConfig(kind="video"), "--video FILE"),
    (SourceConfig(kind="frames"), "--frames DIR"),
    (SourceConfig(kind="webcam"), "camera, video, frames, demo"),
    (SourceConfig(kind="camera", camera=missing_camera_index()), "could not be opened"),
])
def test_open_source_errors(cfg: SourceConfig, needle: str) -> None:
    with pytest.raises(SourceError) as exc:
        open_source(cfg)
    one_line_error(exc, needle)


def test_open_source_demo() -> None:
    pytest.importorskip("realtime_mer.capture.demo", reason="demo.py not written yet")
    src = open_source(SourceConfig(kind="demo", demo_seconds=0.1, width=160, height=120))
    try:
        assert src.fps == 200.0 and not src.live
        assert make_grabber(src, SourceConfig()).drop is False
    finally:
        src.close()
