"""Capture stage: sources (camera, video file, image folder, demo) and the grabber thread."""

from __future__ import annotations

from realtime_mer.capture.base import Grabber, Source
from realtime_mer.capture.camera import CameraSource
from realtime_mer.capture.folder import FolderSource
from realtime_mer.capture.video import VideoSource
from realtime_mer.config import SourceConfig
from realtime_mer.errors import SourceError, fail

__all__ = ["CameraSource", "FolderSource", "Grabber", "Source", "VideoSource", "make_grabber", "open_source"]

KINDS: tuple[str, ...] = ("camera", "video", "frames", "demo")


def open_source(cfg: SourceConfig) -> Source:
    """Build the source ``cfg`` names and open it, so a bad camera or file fails here in one line
    and ``fps``/``width``/``height``/``warnings`` are known to the caller."""
    kind = cfg.kind
    source: Source
    if kind == "camera":
        source = CameraSource(cfg.camera, fps=cfg.fps, width=cfg.width, height=cfg.height, mjpg=cfg.mjpg)
    elif kind in ("video", "frames"):
        if cfg.path is None:
            flag = "--video FILE" if kind == "video" else "--frames DIR"
            raise fail(SourceError, f"source '{kind}' needs a path", f"pass {flag}")
        source = VideoSource(cfg.path, fps=cfg.fps, gray=cfg.gray) if kind == "video" else FolderSource(cfg.path, fps=cfg.fps or 200.0)
    elif kind == "demo":
        from realtime_mer.capture.demo import DemoSource  # lazy: the demo pulls in its synthesis code

        source = DemoSource(seconds=cfg.demo_seconds, fps=cfg.fps or 200.0, width=cfg.width, height=cfg.height, seed=cfg.demo_seed)
    else:
        raise fail(SourceError, f"unknown source kind '{kind}'", f"use one of {', '.join(KINDS)}")
    source.open()
    return source


def make_grabber(source: Source, cfg: SourceConfig) -> Grabber:
    """Live sources drop (never stall the camera); files, folders and the demo apply backpressure,
    unless ``cfg.realtime`` paces them like a camera at ``cfg.fps`` (or their own rate) with drops."""
    if source.live:
        return Grabber(source, drop=True, maxsize=cfg.queue_size)
    if cfg.realtime:
        source.open()  # the pace defaults to the source's own rate, known once open
        return Grabber(source, drop=True, maxsize=cfg.queue_size, pace_fps=cfg.fps or source.fps)
    return Grabber(source, drop=False, maxsize=cfg.queue_size)
