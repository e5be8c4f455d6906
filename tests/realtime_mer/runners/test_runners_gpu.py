"""The GPU probe: a clear "no GPU" answer on a machine without a driver, never an exception."""

from __future__ import annotations

import shutil

import pytest

from realtime_mer.runners.gpu import GpuInfo, parse_nvidia_smi, probe_gpu, run_probes


def test_probe_on_this_machine_says_no_gpu_without_raising() -> None:
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has nvidia-smi; the no-GPU answer is tested with fake probes below")
    info = probe_gpu(refresh=True)
    assert not info.available and info.compute_capability is None
    assert info.describe().startswith("no NVIDIA GPU found")
    assert "nvidia-smi not on PATH" in info.reason


def test_failing_probes_never_raise_and_are_reported() -> None:
    def broken() -> GpuInfo:
        raise OSError("driver exploded")

    info = run_probes((broken, lambda: "nothing here"))
    assert not info.available
    assert "driver exploded" in info.reason and "nothing here" in info.reason


def test_first_probe_with_a_gpu_wins() -> None:
    gpu = GpuInfo(True, "NVIDIA H100 80GB HBM3", (9, 0), "550.54", "fake")
    assert run_probes((lambda: "no", lambda: gpu, lambda: 1 / 0)) == gpu


@pytest.mark.parametrize(("text", "name", "cc", "driver"), [
    ("NVIDIA H100 80GB HBM3, 9.0, 550.54.15\n", "NVIDIA H100 80GB HBM3", (9, 0), "550.54.15"),
    ("NVIDIA GeForce RTX 4090, 8.9, 560.35\nNVIDIA GeForce RTX 3060, 8.6, 560.35\n", "NVIDIA GeForce RTX 4090", (8, 9), "560.35"),
    ("Tesla T4, [N/A], 470.1\n", "Tesla T4", None, "470.1"),
])
def test_parse_nvidia_smi(text: str, name: str, cc: tuple[int, int] | None, driver: str) -> None:
    info = parse_nvidia_smi(text)
    assert info is not None and (info.name, info.compute_capability, info.driver) == (name, cc, driver)


def test_parse_nvidia_smi_of_nothing() -> None:
    assert parse_nvidia_smi("") is None


def test_slug_and_sm_are_file_name_safe() -> None:
    info = GpuInfo(True, "NVIDIA GeForce RTX 4090 (Laptop)", (8, 9))
    assert info.slug == "NVIDIA-GeForce-RTX-4090-Laptop" and info.sm == "sm89"
    assert "compute capability 8.9" in info.describe()
