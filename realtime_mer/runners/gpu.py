"""GPU probe: is there a usable NVIDIA GPU, which one, and what compute capability. Never raises.

Tries, in order: cuda-python (``cudaGetDeviceCount`` / ``cudaGetDeviceProperties``) and ``nvidia-smi``
(never torch: the runtime does not import it). Each probe is guarded; on a machine without a driver the answer is
``GpuInfo(available=False, reason="no NVIDIA GPU found (...)")``.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from realtime_mer.errors import log


@dataclass(frozen=True)
class GpuInfo:
    """What the probe found: device 0's name and compute capability, or why there is none."""

    available: bool
    name: str = ""
    compute_capability: tuple[int, int] | None = None
    driver: str = ""
    source: str = ""  # which probe answered: cuda-python | nvidia-smi
    reason: str = ""  # why there is no GPU (empty when available)

    @property
    def sm(self) -> str:
        """``sm90`` for compute capability 9.0 (``sm0`` when unknown)."""
        major, minor = self.compute_capability or (0, 0)
        return f"sm{major}{minor}"

    @property
    def slug(self) -> str:
        """The GPU name made safe for file names: ``NVIDIA-H100-80GB-HBM3``."""
        return re.sub(r"[^A-Za-z0-9.]+", "-", self.name).strip("-") or "unknown-gpu"

    def describe(self) -> str:
        """One line for logs and ``BackendChoice`` reasons."""
        if not self.available:
            return self.reason or "no NVIDIA GPU found"
        cc = ".".join(map(str, self.compute_capability)) if self.compute_capability else "?"
        return f"{self.name} (compute capability {cc}{', driver ' + self.driver if self.driver else ''})"


Probe = Callable[[], "GpuInfo | str"]  # a GpuInfo, or a short reason why this probe found nothing


def probe_cuda_python() -> GpuInfo | str:
    """cuda-python's runtime: device count, then device 0's properties."""
    try:
        from realtime_mer.runners.cuda import import_cudart

        rt = import_cudart()
    except Exception:
        return "cuda-python not installed"
    err, count = rt.cudaGetDeviceCount()
    if int(err) != int(rt.cudaError_t.cudaSuccess) or count < 1:
        return "cuda-python sees no device"
    err, prop = rt.cudaGetDeviceProperties(0)
    if int(err) != int(rt.cudaError_t.cudaSuccess):
        return "cuda-python cannot read device 0"
    name = prop.name.decode(errors="replace") if isinstance(prop.name, bytes) else str(prop.name)
    err, drv = rt.cudaDriverGetVersion()
    driver = f"{drv // 1000}.{drv % 1000 // 10}" if int(err) == 0 else ""
    return GpuInfo(True, name.rstrip("\x00").strip(), (int(prop.major), int(prop.minor)), driver, "cuda-python")


def parse_nvidia_smi(text: str) -> GpuInfo | None:
    """The first line of ``nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader``."""
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2 and parts[0]:
            m = re.fullmatch(r"(\d+)\.(\d+)", parts[1])
            cc = (int(m.group(1)), int(m.group(2))) if m else None
            return GpuInfo(True, parts[0], cc, parts[2] if len(parts) > 2 else "", "nvidia-smi")
    return None


def probe_nvidia_smi(timeout: float = 10.0) -> GpuInfo | str:
    """``nvidia-smi`` on PATH, asked for name, compute capability and driver of each GPU."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return "nvidia-smi not on PATH"
    cmd = [exe, "--query-gpu=name,compute_cap,driver_version", "--format=csv,noheader"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    info = parse_nvidia_smi(proc.stdout) if proc.returncode == 0 else None
    return info if info is not None else f"nvidia-smi failed ({(proc.stderr or proc.stdout).strip()[:80]})"


PROBES: tuple[Probe, ...] = (probe_cuda_python, probe_nvidia_smi)


def run_probes(probes: tuple[Probe, ...] = PROBES) -> GpuInfo:
    """The first probe that finds a GPU; else "no GPU" with every probe's reason. Never raises."""
    reasons: list[str] = []
    for probe in probes:
        try:
            found = probe()
        except Exception as e:  # a probe must never take the caller down
            found = f"{getattr(probe, '__name__', 'probe')} failed: {type(e).__name__}: {e}"
        if isinstance(found, GpuInfo) and found.available:
            return found
        reasons.append(found.reason if isinstance(found, GpuInfo) else str(found))
    return GpuInfo(False, reason=f"no NVIDIA GPU found ({'; '.join(reasons)})")


@functools.cache
def _cached() -> GpuInfo:
    info = run_probes()
    log.debug("GPU probe: %s", info.describe())
    return info


def probe_gpu(refresh: bool = False) -> GpuInfo:
    """Device 0 of this machine, probed once per process (``refresh`` probes again). Never raises."""
    if refresh:
        _cached.cache_clear()
    return _cached()
