"""Fixtures for the runner / engine / export tests: exported models (random weights) and the TensorRT fakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.export.model_export import Parity, export_model
from mer_lab.models import available_models
from realtime_mer.runners.gpu import GpuInfo
from tests.helpers.fakes_runners import FakeTrt

FAKE_GPU = GpuInfo(True, "NVIDIA Fake GPU 80GB", (9, 0), "555.42", "test")


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Parity]]:
    """Every registered model exported once (random weights) with its torch-vs-ORT parity."""
    out = tmp_path_factory.mktemp("onnx")
    return {name: export_model(name, out / f"{name}.onnx", n_random=4) for name in available_models()}


@pytest.fixture(scope="session")
def apexflow_onnx(exported: dict[str, tuple[Path, Parity]]) -> Path:
    return exported["apexflow"][0]


@pytest.fixture
def fake_trt() -> FakeTrt:
    return FakeTrt()


@pytest.fixture
def fake_gpu() -> GpuInfo:
    return FAKE_GPU
