"""ELAN export: events as an ``.eaf`` annotation document (through pympi-ling, the optional ``[elan]`` extra).

One tier per event type (``micro``, ``macro``), each event an annotation from its onset to its offset
with its label as the value. With several faces (events of a ``face_id`` other than 0) there is one pair of tiers per
face, named with the face's id: ``micro (face 0)``, ``macro (face 0)``, ``micro (face 1)``, ``macro (face 1)``, ...
(every face with an event; a log whose events are all face 0 keeps the plain ``micro`` / ``macro``); the video, when there is one, is linked so ELAN opens it beside the tiers
(absolute URL and the path relative to the ``.eaf``). Times are the events' stream times in ms (from
the first frame, which is the video's start).
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from realtime_mer.errors import MerError, OutputError, fail
from realtime_mer.types import Event

TIERS: tuple[str, ...] = ("micro", "macro")
ELAN_EXTRA = "pip install 'realtime-mer[elan]' (pympi-ling)"


def _pympi() -> Any:
    try:
        from pympi import Elan
    except ImportError:
        raise fail(MerError, "ELAN export needs pympi-ling, which is not installed", ELAN_EXTRA) from None
    return Elan


def require_pympi() -> None:
    """Fail in one line, before a run, when the ELAN export cannot be written."""
    _pympi()


def tier_name(kind: str, face_id: int, several: bool) -> str:
    """The tier of an event type: ``micro`` with one face, ``micro (face 1)`` when ``several`` faces have events."""
    return f"{kind} (face {face_id})" if several else kind


def tier_names(events: Sequence[Event]) -> list[str]:
    """The tiers ``build_eaf`` writes for ``events``, in order."""
    faces = sorted({int(e.face_id) for e in events}) or [0]
    several = faces != [0]
    return [tier_name(kind, f, several) for f in faces for kind in TIERS]


def build_eaf(events: Sequence[Event], media: Path | None = None, eaf_path: Path | None = None) -> Any:
    """The ``pympi.Elan.Eaf`` document of ``events``; ``media`` (a video file) is linked, relative to ``eaf_path``'s folder."""
    elan = _pympi()
    doc = elan.Eaf(author="realtime-mer")
    doc.remove_tier("default")
    for tier in tier_names(events):
        doc.add_tier(tier)
    several = any(e.face_id != 0 for e in events)
    for e in sorted(events, key=lambda e: (e.onset_s, e.offset_s)):
        start = round(e.onset_s * 1000.0)
        end = max(round(e.offset_s * 1000.0), start + 1)  # ELAN needs end > start (a one-frame event at low fps)
        doc.add_annotation(tier_name(e.type, e.face_id, several), start, end, value=e.label)
    if media is not None:
        media = Path(media).resolve()
        rel = os.path.relpath(media, Path(eaf_path).resolve().parent) if eaf_path is not None else None
        mime = mimetypes.guess_type(media.name)[0] or "video/*"
        doc.add_linked_file(media.as_uri(), relpath=rel, mimetype=mime)
    return doc


def write_eaf(events: Sequence[Event], path: Path, media: Path | None = None) -> Path:
    """Write the ``.eaf`` of ``events`` to ``path`` (atomically: never a half-written document)."""
    path = Path(path)
    doc = build_eaf(events, media, path)
    elan = _pympi()
    tmp = path.with_name(f".{path.name}.part")  # a new name: pympi renames an existing target to .bak
    try:
        tmp.unlink(missing_ok=True)
        elan.to_eaf(str(tmp), doc)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise fail(OutputError, f"cannot write the ELAN file {path}: {exc.strerror or exc}", "choose a writable path") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_eaf_path(path: Path) -> None:
    """An ``.eaf`` name, so ELAN recognises the file."""
    if Path(path).suffix.lower() != ".eaf":
        raise fail(OutputError, f"--eaf {path}: an ELAN file must end in .eaf", f"pass e.g. --eaf {Path(path).with_suffix('.eaf')}")


__all__ = ["ELAN_EXTRA", "TIERS", "build_eaf", "check_eaf_path", "require_pympi", "tier_name", "tier_names", "write_eaf"]
