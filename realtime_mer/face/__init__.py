"""Face stage: FaceMesh landmarks on keyframes, tracking in between, a stable aligned crop per frame."""

from __future__ import annotations

from realtime_mer.config import TrackConfig
from realtime_mer.face.aligner import FaceAligner

__all__ = ["FaceAligner", "TrackConfig"]
