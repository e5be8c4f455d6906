"""The TensorRT runner's buffer, shape and stream handling, driven by FakeTrt / FakeCuda.

The fakes (tests/runners/fakes_runners.py) stand in for an engine and for device memory: these tests
check that OUR runner binds one buffer per tensor, sets input shapes, copies in and out, enforces the
profile's max batch and releases everything; not TensorRT's numerics.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mer_lab.models import input_contract
from realtime_mer.engine import BuildOptions, EngineKey, engine_for
from realtime_mer.errors import ModelError
from realtime_mer.runners.gpu import GpuInfo
from realtime_mer.runners.tensorrt import TensorRTRunner, deserialize_engine, import_tensorrt
from tests.helpers.fakes_runners import FakeTrt, fake_compute


def fake_engine(trt: FakeTrt, onnx_path: Path, gpu: GpuInfo, tmp_path: Path, max_batch: int = 4) -> object:
    key = EngineKey.create("apexflow", onnx_path, "fp32", gpu, "10.3.0")
    out = engine_for(key, onnx_path, tmp_path, gpu, BuildOptions("fp32", max_batch=max_batch),
                     input_contract("apexflow").to_dict(), trt)
    assert out.engine is not None
    return out.engine


def test_runner_binds_buffers_and_runs_every_batch_size(fake_trt: FakeTrt, apexflow_onnx: Path,
                                                        fake_gpu: GpuInfo, tmp_path: Path) -> None:
    engine = fake_engine(fake_trt, apexflow_onnx, fake_gpu, tmp_path)
    runner = TensorRTRunner(engine, trt=fake_trt, cuda=fake_trt.cuda)
    with runner:
        assert runner.backend == "tensorrt" and runner.max_batch == 4
        assert runner.input_metadata()["input"].shape == ("batch", 3, 28, 28)
        assert runner.output_metadata()["logits"].shape == ("batch", 3)
        assert len(fake_trt.cuda.mem) == 2  # one device buffer per I/O tensor, sized for the max batch
        assert fake_trt.cuda.mem[runner._buffers["input"]].size == 4 * 3 * 28 * 28 * 4
        for n in (1, 3, 4):
            x = np.random.default_rng(n).random((n, 3, 28, 28), dtype=np.float32)
            np.testing.assert_allclose(runner.infer(x)["logits"], fake_compute(x, 3), rtol=1e-6)
        with pytest.raises(ModelError, match="exceeds this backend's maximum of 4"):
            runner.infer(np.zeros((5, 3, 28, 28), np.float32))
    assert fake_trt.cuda.mem == {} and len(fake_trt.cuda.freed) == 2 and fake_trt.cuda.streams_alive == 0
    assert fake_trt.executed == 3


def test_runner_from_a_loader_releases_the_engine(fake_trt: FakeTrt, apexflow_onnx: Path, fake_gpu: GpuInfo,
                                                  tmp_path: Path) -> None:
    engine = fake_engine(fake_trt, apexflow_onnx, fake_gpu, tmp_path)
    runner = TensorRTRunner(lambda: engine, trt=fake_trt, cuda=fake_trt.cuda)
    with runner:
        assert runner.engine is engine
    assert runner.engine is None


def test_failed_deserialization_is_a_model_error(fake_trt: FakeTrt) -> None:
    with pytest.raises(ModelError, match="could not deserialize") as e:
        deserialize_engine(b"garbage", fake_trt)
    assert "\n" not in str(e.value)


def test_missing_tensorrt_is_a_one_line_model_error() -> None:
    try:
        import tensorrt  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("tensorrt is installed here")
    with pytest.raises(ModelError, match=r"TensorRT .* not installed") as e:
        import_tensorrt()
    assert "\n" not in str(e.value) and "pip install" in str(e.value)


def test_importing_the_package_does_not_import_tensorrt_or_cuda() -> None:
    code = ("import sys, realtime_mer.runners, realtime_mer.engine, realtime_mer.engine.fp16, "
            "mer_lab.benchmarks.backends, realtime_mer.runners.tensorrt, realtime_mer.runners.cuda; "
            "print(sorted(m for m in ('tensorrt', 'cuda', 'pycuda') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
