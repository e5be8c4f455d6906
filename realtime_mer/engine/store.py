"""Engine files on disk: ``save_plan`` (plan + sidecar), ``load_plan`` and ``find_engine`` (hit / miss / mismatch)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realtime_mer.engine.build import atomic_write
from realtime_mer.engine.keys import EngineKey, read_sidecar, sidecar_problem
from realtime_mer.errors import ModelError, fail


def save_plan(plan: bytes, key: EngineKey, engines_dir: Path, sidecar: dict[str, Any]) -> Path:
    """Write the plan, then its sidecar (so a sidecar never describes a half-written plan); returns the plan path."""
    path = atomic_write(key.plan_path(engines_dir), plan)
    atomic_write(key.sidecar_path(engines_dir), (json.dumps(sidecar, indent=2) + "\n").encode())
    return path


def load_plan(path: Path) -> bytes:
    """The bytes of a plan file (ModelError when it cannot be read)."""
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise fail(ModelError, f"cannot read TensorRT engine {path}: {e.strerror or e}",
                   "rebuild it with tools/build_engine.py") from e


@dataclass(frozen=True)
class Lookup:
    """What ``find_engine`` found for a key."""

    status: str  # hit | miss | mismatch
    path: Path
    reason: str = ""
    plan: bytes | None = None  # the verified plan on a hit
    sidecar: dict[str, Any] | None = None

    @property
    def hit(self) -> bool:
        return self.status == "hit"


def find_engine(key: EngineKey, engines_dir: Path) -> Lookup:
    """The plan for ``key`` if it exists and its sidecar matches the key and the plan's sha256."""
    path = key.plan_path(engines_dir)
    if not path.is_file():
        return Lookup("miss", path, "no engine for this GPU, TensorRT version and precision yet")
    try:
        plan = load_plan(path)
    except ModelError as e:
        return Lookup("mismatch", path, str(e))
    sidecar = read_sidecar(key.sidecar_path(engines_dir))
    problem = sidecar_problem(key, sidecar, plan)
    if problem is not None:
        return Lookup("mismatch", path, problem, sidecar=sidecar)
    return Lookup("hit", path, plan=plan, sidecar=sidecar)
