"""Where an engine lives and what its JSON sidecar must say for it to be reused.

    engines/<model>-<onnx sha256[:12]>/<gpu>_sm<cc>_trt<version>_<precision>.plan   (+ .json sidecar)
    engines/<gpu>_sm<cc>_trt<version>.timing.cache                                   (shared by all models)

A plan is only valid for the GPU model, TensorRT version, precision and ONNX file it was built from; all
four are in the path, and the sidecar repeats them with the plan's own sha256 so a stale or damaged
file is caught before TensorRT sees it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realtime_mer.runners.gpu import GpuInfo

PRECISIONS = ("fp32", "fp16", "int8")
SIDECAR_FORMAT = "realtime-mer-engine/1"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine plan depends on."""

    model: str
    onnx_sha256: str
    gpu: str  # GpuInfo.slug, e.g. NVIDIA-H100-80GB-HBM3
    sm: str  # GpuInfo.sm, e.g. sm90
    trt_version: str  # e.g. 10.3.0
    precision: str  # fp32 | fp16 | int8

    @classmethod
    def create(cls, model: str, onnx_path: Path, precision: str, gpu: GpuInfo, trt_version: str) -> EngineKey:
        """The key for building ``onnx_path`` at ``precision`` on ``gpu`` with TensorRT ``trt_version``."""
        return cls(model, sha256_file(onnx_path), gpu.slug, gpu.sm, trt_version, precision)

    @property
    def folder(self) -> str:
        """``<model>-<onnx sha256[:12]>``."""
        return f"{self.model}-{self.onnx_sha256[:12]}"

    @property
    def stem(self) -> str:
        """``<gpu>_<sm>_trt<version>_<precision>``."""
        return f"{self.gpu}_{self.sm}_trt{self.trt_version}_{self.precision}"

    def plan_path(self, engines_dir: Path) -> Path:
        """``engines_dir/<folder>/<stem>.plan``."""
        return Path(engines_dir) / self.folder / f"{self.stem}.plan"

    def sidecar_path(self, engines_dir: Path) -> Path:
        """The ``.json`` beside the plan."""
        return self.plan_path(engines_dir).with_suffix(".json")


def timing_cache_path(engines_dir: Path, gpu: GpuInfo, trt_version: str) -> Path:
    """The timing cache shared by every model built on this GPU model with this TensorRT version."""
    return Path(engines_dir) / f"{gpu.slug}_{gpu.sm}_trt{trt_version}.timing.cache"


def make_sidecar(key: EngineKey, plan: bytes, gpu: GpuInfo, contract: dict[str, Any] | None,
                 build_options: dict[str, Any], onnx_path: Path | None = None) -> dict[str, Any]:
    """The JSON written next to a plan (JSON-normalised: what is read back equals what is returned)."""
    side = {
        "format": SIDECAR_FORMAT,
        "model": key.model,
        "input_contract": contract,
        "gpu": {"name": gpu.name, "slug": key.gpu, "compute_capability": list(gpu.compute_capability or ()),
                "sm": key.sm, "driver": gpu.driver},
        "tensorrt_version": key.trt_version,
        "precision": key.precision,
        "onnx_sha256": key.onnx_sha256,
        "onnx_path": str(onnx_path) if onnx_path is not None else None,
        "build_options": build_options,
        "plan_sha256": sha256_bytes(plan),
        "plan_bytes": len(plan),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return json.loads(json.dumps(side))


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The sidecar's JSON, or None when it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def sidecar_problem(key: EngineKey, sidecar: dict[str, Any] | None, plan: bytes | None = None) -> str | None:
    """Why ``sidecar`` (and ``plan``) do not belong to ``key``; None when they do."""
    if sidecar is None:
        return "sidecar missing or unreadable"
    if sidecar.get("format") != SIDECAR_FORMAT:
        return f"sidecar format {sidecar.get('format')!r} is not {SIDECAR_FORMAT}"
    expected = {"model": key.model, "onnx_sha256": key.onnx_sha256, "tensorrt_version": key.trt_version,
                "precision": key.precision}
    for field, want in expected.items():
        if sidecar.get(field) != want:
            return f"{field} is {str(sidecar.get(field))[:16]!r}, expected {want[:16]!r}"
    gpu = sidecar.get("gpu") or {}
    if gpu.get("slug") != key.gpu or gpu.get("sm") != key.sm:
        return f"built for {gpu.get('slug')} {gpu.get('sm')}, this is {key.gpu} {key.sm}"
    if plan is not None and sidecar.get("plan_sha256") != sha256_bytes(plan):
        return "plan sha256 does not match its sidecar (file changed or damaged)"
    return None
