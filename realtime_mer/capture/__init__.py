"""Capture stage: sources (camera, video file, image folder, demo) and the grabber thread."""

from __future__ import annotations

from realtime_mer.capture.base import Grabber, Source

__all__ = ["Grabber", "Source"]
