"""Provenance: what produced a run's events, written beside every events file (``events.sidecar``) and into
the stats: the package version, the source and its fingerprint (size + mtime, and a SHA-256 for files up
to 64 MiB), the model's name, file and SHA-256, the backend, the spotter and every setting.

Also the clock of the events' ``wall_time`` (``source_clock``): a camera's frames carry the capture
clock; a recorded file starts at its modification time minus its duration (a recorder writes the file
last at the end of the recording); an image folder starts at its first image's modification time; the
demo has no time of its own, so its events carry the time they were processed. ``Event.time_source``
says which.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
import sys
import time
from pathlib import Path
from typing import Any

from realtime_mer import __version__
from realtime_mer.capture import CameraSource, FolderSource, Source, VideoSource
from realtime_mer.config import PipelineConfig
from realtime_mer.spotting import settings_tables
from realtime_mer.types import iso_utc

HASH_MAX_BYTES = 64 * 1024 * 1024  # larger sources are fingerprinted by size + mtime only (hashing would delay the start)


def sha256_file(path: Path, max_bytes: int | None = None) -> str | None:
    """Hex SHA-256 of a file (None when it is larger than ``max_bytes`` or unreadable)."""
    try:
        p = Path(path)
        if max_bytes is not None and p.stat().st_size > max_bytes:
            return None
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def source_label(source: Source) -> str:
    """What an event's ``source`` field names: the file or folder path, else the source's name (``camera 0``, ``demo``)."""
    path = getattr(source, "path", None)
    return str(path) if isinstance(source, (VideoSource, FolderSource)) and path is not None else str(getattr(source, "name", "source"))


def source_clock(source: Source) -> tuple[float | None, str]:
    """``(wall time of the first frame, time_source)``; None: take each frame's own grab time (camera, processing)."""
    try:
        if isinstance(source, CameraSource) or getattr(source, "live", False):
            return None, "capture_clock"
        if isinstance(source, VideoSource):
            duration = (source.total_frames or 0) / source.fps if source.fps > 0 else 0.0
            return source.path.stat().st_mtime - duration, "file_mtime"
        if isinstance(source, FolderSource) and source.files:
            return source.files[0].stat().st_mtime, "file_mtime"
    except OSError:
        pass
    return None, "processing_clock"


def source_fingerprint(source: Source) -> dict[str, Any]:
    """Where the frames came from and how to tell the same input again."""
    fp: dict[str, Any] = {"name": getattr(source, "name", "source"), "label": source_label(source), "kind": type(source).__name__,
                          "fps": getattr(source, "fps", 0.0) or None, "width": getattr(source, "width", 0),
                          "height": getattr(source, "height", 0), "frames": getattr(source, "total_frames", None)}
    try:
        if isinstance(source, VideoSource):
            st = source.path.stat()
            fp.update(path=str(source.path.resolve()), size=st.st_size, mtime=iso_utc(st.st_mtime),
                      sha256=sha256_file(source.path, HASH_MAX_BYTES), container_fps=source.container_fps)
        elif isinstance(source, FolderSource):
            stats = [f.stat() for f in source.files]
            fp.update(path=str(source.path.resolve()), images=len(stats), size=sum(s.st_size for s in stats),
                      mtime=iso_utc(max(s.st_mtime for s in stats)) if stats else None,
                      first=source.files[0].name if stats else None, last=source.files[-1].name if stats else None)
    except OSError as exc:
        fp["fingerprint_error"] = str(exc)
    for attr in ("seed", "seconds", "index"):  # the demo's seed and length, a camera's index
        if hasattr(source, attr):
            fp[attr] = getattr(source, attr)
    return fp


def _plain(x: Any) -> Any:
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def settings(cfg: PipelineConfig) -> dict[str, Any]:
    """Every setting of the run (source, face, spotter, model, buffer); output paths are left out."""
    d = _plain(dataclasses.asdict(cfg))
    d.pop("output", None)
    return d


def collect(cfg: PipelineConfig, source: Source, *, model: str, model_path: Path | None, backend: str,
            backend_reason: str, spotter: str, time_source: str, classes: tuple[str, ...] = ()) -> dict[str, Any]:
    """The provenance record of a run about to start."""
    spot = _plain(dataclasses.asdict(cfg.spot))
    own = {k: v for k, v in spot.items() if not isinstance(v, dict)}  # the common settings ...
    for table in settings_tables(spotter):  # ... and the chosen spotter's own (hybrid: lagflow's and roiflow's too)
        own[table] = spot.get(table, {})
    return {
        "realtime_mer_version": __version__,
        "created": iso_utc(time.time()),
        "source": source_fingerprint(source),
        "time_source": time_source,
        "model": {"name": model, "path": str(model_path) if model_path is not None else None,
                  "sha256": sha256_file(model_path) if model_path is not None else None},
        "classes": list(classes),
        "backend": backend,
        "backend_reason": backend_reason,
        "spotter": {"name": spotter, "settings": own},
        "settings": settings(cfg),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


__all__ = ["HASH_MAX_BYTES", "collect", "settings", "sha256_file", "source_clock", "source_fingerprint", "source_label"]
