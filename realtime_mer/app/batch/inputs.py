"""Batch inputs: video files and image-sequence folders found from paths and globs, recursing into dataset trees
(CASME II's ``subXX/EPxx/``, SAMM's ``006/006_1_2/``), each with the output name it keeps across runs."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from realtime_mer.capture.folder import IMAGE_EXTENSIONS, natural_key
from realtime_mer.errors import MerError, SourceError, fail

VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm", ".mts", ".ts"})


@dataclass(frozen=True)
class BatchInput:
    """One recording: ``path`` (absolute), ``kind`` (``video`` or ``frames``) and ``key``, its output name under
    ``--out`` (the path relative to the inputs' common folder, without a video's extension)."""

    path: str
    kind: str
    key: str


def _has_images(folder: Path) -> bool:
    try:
        return any(e.is_file() and not e.name.startswith(".") and Path(e.name).suffix.lower() in IMAGE_EXTENSIONS
                   for e in os.scandir(folder))
    except OSError:
        return False


def _walk(root: Path) -> list[tuple[Path, str]]:
    """Every image folder and video file under ``root`` (hidden entries skipped), in natural order."""
    found: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted((d for d in dirs if not d.startswith(".")), key=natural_key)
        here = Path(folder)
        if _has_images(here):
            found.append((here, "frames"))
        found += [(here / f, "video") for f in sorted(files, key=natural_key)
                  if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_EXTENSIONS]
    return found


def _expand(arg: str) -> list[Path]:
    if glob.has_magic(arg):
        hits = sorted(glob.glob(os.path.expanduser(arg), recursive=True), key=natural_key)
        if not hits:
            raise fail(SourceError, f"no file or folder matches {arg}", "check the pattern (quote it so the shell leaves ** to realtime-mer)")
        return [Path(h) for h in hits]
    p = Path(arg).expanduser()
    if not p.exists():
        raise fail(SourceError, f"batch input {arg} not found", "pass video files, image folders, dataset roots or globs")
    return [p]


def discover(args: list[str]) -> list[BatchInput]:
    """The inputs named by ``args`` (files, folders, globs), each once, with unique keys."""
    found: dict[Path, str] = {}
    for arg in args:
        for p in _expand(arg):
            if p.is_dir():
                items = _walk(p)
            elif p.suffix.lower() in IMAGE_EXTENSIONS:
                raise fail(SourceError, f"{p} is one image, not a recording", f"pass its folder {p.parent} (a sequence of frames)")
            else:
                items = [(p, "video")]  # named explicitly: tried as a video whatever its extension
            for path, kind in items:
                found.setdefault(path.resolve(), kind)
    if not found:
        raise fail(SourceError, f"no videos or image folders in {' '.join(args)}",
                   f"pass video files ({', '.join(sorted(VIDEO_EXTENSIONS))}) or folders of frames")
    paths = list(found)
    base = Path(os.path.commonpath([p.parent for p in paths]))
    keys: dict[str, Path] = {}
    out = []
    for p in paths:
        rel = p.relative_to(base)
        key = (rel.with_suffix("") if found[p] == "video" else rel).as_posix()
        if key in keys:
            raise fail(MerError, f"{keys[key]} and {p} would both write {key}.events.jsonl",
                       "rename one, or run them as two batches with different --out folders")
        keys[key] = p
        out.append(BatchInput(str(p), found[p], key))
    return out


__all__ = ["VIDEO_EXTENSIONS", "BatchInput", "discover"]
