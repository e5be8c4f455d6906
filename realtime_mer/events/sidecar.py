"""The provenance sidecar of an event log, and the atomic writes every whole-file output uses.

An events file ``run.jsonl`` (or ``run.csv``) has its provenance beside it in ``run.jsonl.meta.json``:
the package version, the source and its fingerprint, the model and its hash, the backend, the
spotter and every setting (``realtime_mer.app.provenance`` builds it). A sidecar rather than a first
header line, so that every line of a JSONL log stays one event (``jq``, ``pandas.read_json(lines=True)``
and older readers keep working) and a CSV stays one header row plus events.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from realtime_mer.errors import DataError, OutputError, fail

SIDECAR_SUFFIX = ".meta.json"


def sidecar_path(events_path: Path) -> Path:
    """``run.jsonl`` -> ``run.jsonl.meta.json``."""
    p = Path(events_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def has_sidecar(events_path: Path) -> bool:
    """Whether an events path is a plain file that gets a sidecar (not a device or pipe such as /dev/stdout)."""
    p = Path(events_path)
    return not p.exists() or p.is_file()


def current_umask() -> int:
    """The process's umask, read without changing it where the OS tells (Linux), else set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file in ``path``'s folder, fsync it and rename it over ``path``:
    a reader (or a resumed batch) sees the old file or the whole new one, never half of it. The file gets the
    permissions any other new file gets (0666 less the umask), not the temporary file's private 0600."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise fail(OutputError, f"cannot write {path}: {exc.strerror or exc}", "choose a writable path") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~current_umask())
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a file-size limit: one line naming the file
        Path(tmp).unlink(missing_ok=True)
        raise fail(OutputError, f"cannot write {path}: {exc.strerror or exc}", "free space or choose another path") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_sidecar(events_path: Path, meta: dict[str, Any]) -> Path | None:
    """Write ``meta`` as the sidecar of ``events_path`` (atomically); None when the events go to a device."""
    if not has_sidecar(events_path):
        return None
    out = sidecar_path(events_path)
    write_text_atomic(out, json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n")
    return out


def read_sidecar(events_path: Path) -> dict[str, Any] | None:
    """The provenance written beside ``events_path``; None when there is none (a log older than sidecars)."""
    p = sidecar_path(events_path)
    if not p.is_file():
        return None
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(DataError, f"{p} is not a provenance JSON file ({exc})", "delete it or write it again with realtime-mer") from None
    if not isinstance(meta, dict):
        raise fail(DataError, f"{p} is not a JSON object", "delete it or write it again with realtime-mer")
    return meta


__all__ = ["SIDECAR_SUFFIX", "current_umask", "has_sidecar", "read_sidecar", "sidecar_path", "write_sidecar", "write_text_atomic"]
