"""Backend choice: ONNX Runtime CPU here, one-line errors for impossible requests, TensorRT when (faked) possible.

Paths that need a GPU and TensorRT use ``FakeTrt`` and a fake ``GpuInfo`` (tests/runners/fakes_runners.py):
they check OUR selection and fallback logic, not TensorRT.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

import realtime_mer.runners.tensorrt as trt_runner
from realtime_mer.config import ModelConfig
from realtime_mer.errors import ModelError
from realtime_mer.recognition.backend import runner_for_config, select_runner
from realtime_mer.runners.gpu import GpuInfo
from realtime_mer.runners.onnxrt import OnnxRuntimeRunner
from realtime_mer.runners.tensorrt import TensorRTRunner
from tests.helpers.fakes_runners import FakeTrt

NO_GPU = GpuInfo(False, reason="no NVIDIA GPU found (test)")


def tensorrt_installed() -> bool:
    try:
        import tensorrt  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


def test_auto_picks_onnxruntime_cpu_on_this_machine(apexflow_onnx: Path, tmp_path: Path) -> None:
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has an NVIDIA GPU")
    runner, choice = select_runner("apexflow", "auto", apexflow_onnx, engines_dir=tmp_path)
    assert isinstance(runner, OnnxRuntimeRunner) and not runner.is_active
    assert str(choice) == "onnxruntime-cpu (no NVIDIA GPU found)"
    with runner:
        assert runner.backend == choice.backend
        assert runner.infer(np.zeros((2, 3, 28, 28), np.float32))["logits"].shape == (2, 3)
    assert not any(tmp_path.iterdir())  # nothing built


def test_tensorrt_without_gpu_is_a_one_line_model_error(apexflow_onnx: Path) -> None:
    with pytest.raises(ModelError, match="needs an NVIDIA GPU, but none was found") as e:
        select_runner("apexflow", "tensorrt", apexflow_onnx, gpu=NO_GPU)
    assert "\n" not in str(e.value) and "--backend auto" in str(e.value)


def test_tensorrt_with_gpu_but_no_tensorrt(apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path) -> None:
    if tensorrt_installed():
        pytest.skip("tensorrt is installed here")
    with pytest.raises(ModelError, match="not installed") as e:
        select_runner("apexflow", "tensorrt", apexflow_onnx, gpu=fake_gpu, engines_dir=tmp_path)
    assert "\n" not in str(e.value)
    _, choice = select_runner("apexflow", "auto", apexflow_onnx, gpu=fake_gpu, engines_dir=tmp_path)
    assert choice.backend.startswith("onnxruntime") and "not installed" in choice.reason


def test_auto_takes_tensorrt_when_an_engine_can_be_had(apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    trt = FakeTrt()
    monkeypatch.setattr(trt_runner, "cuda_api", lambda: trt.cuda)
    runner, choice = select_runner("apexflow", "auto", apexflow_onnx, gpu=fake_gpu, trt=trt, engines_dir=tmp_path)
    assert isinstance(runner, TensorRTRunner) and choice.backend == "tensorrt"
    assert "NVIDIA Fake GPU 80GB sm90, TensorRT 10.3.0, fp16 engine built" in choice.reason
    assert choice.engine is not None and choice.engine.is_file() and choice.engine.suffix == ".plan"
    with runner:
        assert runner.infer(np.ones((2, 3, 28, 28), np.float32))["logits"].shape == (2, 3)
    _, again = select_runner("apexflow", "auto", apexflow_onnx, gpu=fake_gpu, trt=trt, engines_dir=tmp_path)
    assert again.reason.endswith("engine loaded") and trt.builds == 1


def test_auto_falls_back_when_no_engine_can_be_built(apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    trt = FakeTrt()
    trt.build_ok = False
    with caplog.at_level(logging.INFO, logger="realtime_mer.engine"):
        runner, choice = select_runner("apexflow", "auto", apexflow_onnx, gpu=fake_gpu, trt=trt, engines_dir=tmp_path)
    assert isinstance(runner, OnnxRuntimeRunner) and choice.reason == "no usable TensorRT engine"
    assert len([r for r in caplog.records if r.name == "realtime_mer.engine"]) == 1
    with pytest.raises(ModelError, match="falling back") as e:  # an explicit request does not fall back
        select_runner("apexflow", "tensorrt", apexflow_onnx, gpu=fake_gpu, trt=trt, engines_dir=tmp_path)
    assert "\n" not in str(e.value)


def test_onnxruntime_on_request(apexflow_onnx: Path) -> None:
    runner, choice = select_runner("apexflow", "onnxruntime", apexflow_onnx, gpu=NO_GPU)
    assert isinstance(runner, OnnxRuntimeRunner) and str(choice) == "onnxruntime-cpu (requested)"


def test_torch_needs_a_checkpoint_and_runs_one(tmp_path: Path) -> None:
    from mer_lab.export.model_export import load_model
    from mer_lab.training.checkpoint import save_checkpoint

    with pytest.raises(ModelError, match="needs a trained apexflow checkpoint"):
        select_runner("apexflow", "torch")
    ckpt = save_checkpoint(tmp_path / "m.safetensors", load_model("apexflow"), {"model": "apexflow"})
    runner, choice = select_runner("apexflow", "torch", checkpoint=ckpt)
    assert str(choice) == "torch-cpu (requested)"
    with runner:
        assert runner.infer(np.zeros((1, 3, 28, 28), np.float32))["logits"].shape == (1, 3)
    _, fallback = select_runner("apexflow", "auto", tmp_path / "missing.onnx", checkpoint=ckpt)
    assert fallback.backend == "torch-cpu" and "no ONNX model" in fallback.reason


def test_torch_backend_without_the_lab_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime finds --backend torch only through the lab's entry point; without it: one line."""
    import importlib.metadata

    import realtime_mer.recognition.backend as backend

    ckpt = tmp_path / "m.safetensors"
    ckpt.write_bytes(b"x")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: [])
    with pytest.raises(ModelError, match="torch backend is not installed") as err:
        backend.select_runner("apexflow", "torch", checkpoint=ckpt)
    assert "\n" not in str(err.value) and "realtime-mer[train]" in str(err.value)


@pytest.mark.parametrize(("kw", "match"), [
    ({"model_name": "nope"}, "unknown model"),
    ({"model_name": "apexflow", "backend": "cuda"}, "unknown backend"),
    ({"model_name": "apexflow", "onnx_path": Path("/nonexistent/a.onnx")}, "no ONNX model for 'apexflow'"),
    ({"model_name": "apexflow", "precision": "fp8"}, "unknown precision"),
])
def test_bad_requests(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ModelError, match=match) as e:
        select_runner(**kw)  # type: ignore[arg-type]
    assert "\n" not in str(e.value)


def test_runner_for_model_config(apexflow_onnx: Path) -> None:
    runner, choice = runner_for_config(ModelConfig(name="apexflow", backend="onnxruntime", path=apexflow_onnx))
    assert isinstance(runner, OnnxRuntimeRunner) and runner.model == apexflow_onnx
    assert choice.backend == "onnxruntime-cpu"


def test_tensorrt_runner_carries_the_onnx_metadata_so_the_classifier_reads_class_names_through_it(
        apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime_mer.recognition.classifier import ApexFlowClassifier
    from realtime_mer.types import CLASSES

    trt = FakeTrt()
    monkeypatch.setattr(trt_runner, "cuda_api", lambda: trt.cuda)
    runner, choice = select_runner("apexflow", "auto", apexflow_onnx, gpu=fake_gpu, trt=trt, engines_dir=tmp_path)
    clf = ApexFlowClassifier(runner, backend_reason=str(choice), model_path=apexflow_onnx)
    assert runner.is_active and runner.model_metadata()["classes"] == '["negative", "positive", "surprise"]'
    assert clf.backend == "tensorrt" and clf.classes == CLASSES and clf.backend_reason == str(choice)
    assert clf.predict_proba(np.zeros((2, 28, 28, 3), np.uint8)).shape == (2, 3)
    clf.close()
    assert not runner.is_active
