"""ApexFlowClassifier on the bundled ONNX model and on any Runner, and its error handling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mer_lab.export.to_onnx import export_onnx
from mer_lab.models import create_model, input_contract
from mer_lab.training.trainer import predict_proba
from realtime_mer.config import ModelConfig
from realtime_mer.errors import ModelError
from realtime_mer.recognition import BUNDLED_MODEL, DEFAULT_FLOW_METHOD, ApexFlowClassifier, apex_flow_image
from realtime_mer.recognition.classifier import load_classifier
from realtime_mer.runners.base import Runner, TensorMeta
from realtime_mer.runners.onnxrt import OnnxRuntimeRunner
from realtime_mer.types import CLASSES
from tests.helpers.recognition import bump_flow, textured_crop, warp


def test_bundled_model_loads_and_classifies() -> None:
    clf = ApexFlowClassifier()
    assert clf.name == "apexflow" and clf.backend == "onnxruntime-cpu" and clf.classes == CLASSES
    assert clf.flow_method == DEFAULT_FLOW_METHOD
    assert BUNDLED_MODEL.stat().st_size < 5_000_000
    onset = textured_crop()
    apex = warp(onset, bump_flow(seed=4))
    probs = clf.classify(onset, apex)
    assert list(probs) == list(CLASSES)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6) and all(0 <= p <= 1 for p in probs.values())
    # live path == batch path on the same features
    batch = clf.classify_batch(apex_flow_image(onset, apex)[None])
    assert batch[0] == pytest.approx(probs, abs=1e-7)
    sidecar = json.loads(BUNDLED_MODEL.with_suffix(".json").read_text())
    assert sidecar["classes"] == list(CLASSES) and sidecar["input_contract"]["shape"] == [3, 28, 28]


def test_onnx_classifier_equals_torch_training_path(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = create_model("apexflow").eval()
    path = export_onnx(model, tmp_path / "m.onnx", input_contract("apexflow"))
    onset = textured_crop()
    imgs = np.stack([apex_flow_image(onset, warp(onset, bump_flow(seed=s))) for s in range(4)])
    clf = ApexFlowClassifier(path)
    assert np.abs(clf.predict_proba(imgs) - predict_proba(model, imgs)).max() < 1e-5


def test_missing_and_corrupt_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        ApexFlowClassifier(tmp_path / "absent.onnx")
    assert "not found" in str(err.value) and "\n" not in str(err.value)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not an onnx model")
    with pytest.raises(ModelError) as err:
        ApexFlowClassifier(bad)
    assert "cannot load" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ModelError, match="unknown flow method"):
        ApexFlowClassifier(flow_method="optical-magic")


class TableRunner(Runner):
    """A numpy backend: logits = the mean of each input channel; input/output shapes and metadata as given."""

    def __init__(self, in_shape: tuple = ("batch", 3, 28, 28), n_out: int = 3, meta: dict[str, str] | None = None) -> None:
        super().__init__("table")
        self.in_shape, self.n_out, self.meta, self.feeds = in_shape, n_out, meta or {}, 0

    def activate_impl(self) -> None:
        self.backend = "numpy"

    def input_metadata_impl(self) -> list[TensorMeta]:
        return [TensorMeta("x", self.in_shape, np.dtype(np.float32))]

    def output_metadata_impl(self) -> list[TensorMeta]:
        return [TensorMeta("y", ("batch", self.n_out), np.dtype(np.float32))]

    def model_metadata_impl(self) -> dict[str, str]:
        return dict(self.meta)

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.feeds += 1
        return {"y": feed["x"].mean(axis=(2, 3))[:, : self.n_out]}

    def deactivate_impl(self) -> None:
        pass


class TwoInputRunner(TableRunner):
    def input_metadata_impl(self) -> list[TensorMeta]:
        return [TensorMeta(n, self.in_shape, np.dtype(np.float32)) for n in ("x", "z")]


def test_classifier_runs_only_through_its_runner_and_reads_class_names_from_it() -> None:
    runner = TableRunner(meta={"classes": json.dumps(["calm", "happy", "startled"])})
    clf = ApexFlowClassifier(runner, backend_reason="numpy (test)")
    assert runner.is_active and clf.backend == "numpy" and clf.backend_reason == "numpy (test)"
    assert clf.classes == ("calm", "happy", "startled")
    img = np.zeros((28, 28, 3), np.uint8)
    img[..., 1] = 255  # channel 1 has the largest mean -> the largest logit
    probs = clf.classify_batch(img[None])[0]
    assert runner.feeds == 1 and list(probs) == ["calm", "happy", "startled"] and max(probs, key=probs.get) == "happy"
    logits = np.array([0.0, 1.0, 0.0])
    assert probs["happy"] == pytest.approx(np.exp(logits)[1] / np.exp(logits).sum())
    clf.close()
    assert not runner.is_active


def test_without_class_metadata_the_package_classes_are_used() -> None:
    assert ApexFlowClassifier(TableRunner()).classes == CLASSES


@pytest.mark.parametrize(("runner", "match"), [
    (TableRunner(in_shape=("batch", 3, 32, 32)), r"expects input \(batch, 3, 32, 32\), not \(N, 3, 28, 28\)"),
    (TableRunner(n_out=2), "outputs 2 classes but names 3"),
    (TableRunner(meta={"classes": "[not json"}), "unreadable class metadata"),
    (TwoInputRunner(), "has 2 inputs and 1 outputs"),
])
def test_a_model_that_does_not_fit_is_one_line_and_releases_the_runner(runner: TableRunner, match: str) -> None:
    with pytest.raises(ModelError, match=match) as err:
        ApexFlowClassifier(runner, model_path=Path("m.onnx"))
    assert str(err.value).startswith("m.onnx ") and "\n" not in str(err.value)
    assert not runner.is_active


def test_wrong_shape_onnx_file_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)], "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])])
    path = tmp_path / "wide.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))
    with pytest.raises(ModelError, match=r"wide.onnx expects input \(batch, 3, 32, 32\)") as err:
        ApexFlowClassifier(path)
    assert "\n" not in str(err.value)


def test_live_loader_takes_the_runner_the_backend_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    import realtime_mer.recognition.backend as backend
    from realtime_mer.runners.gpu import GpuInfo

    monkeypatch.setattr(backend, "probe_gpu", lambda: GpuInfo(False, reason="no NVIDIA GPU found (test)"))
    clf = load_classifier(ModelConfig(name="apexflow", backend="auto"))
    assert isinstance(clf._runner, OnnxRuntimeRunner) and clf._runner.is_active
    assert clf.backend == "onnxruntime-cpu" and clf.backend_reason == "onnxruntime-cpu (no NVIDIA GPU found)"
    assert clf.classes == CLASSES and clf.model_path == BUNDLED_MODEL
    onset = textured_crop()
    assert clf.classify(onset, warp(onset, bump_flow(seed=4))) == pytest.approx(
        ApexFlowClassifier().classify(onset, warp(onset, bump_flow(seed=4))), abs=1e-7)
    clf.close()
    with pytest.raises(ModelError, match="unknown model 'dynamic'"):
        load_classifier(ModelConfig(name="dynamic", backend="auto"))
    with pytest.raises(ModelError, match=r"model 'learnet' has no bundled weights.*--model-path"):
        load_classifier(ModelConfig(name="learnet", backend="auto"))
    with pytest.raises(ModelError, match=r"is not an \.onnx file"):
        load_classifier(ModelConfig(name="apexflow", path=Path("model.safetensors")))


def test_load_classifier_runs_a_checkpoint_on_the_torch_backend(tmp_path: Path) -> None:
    """--backend torch --model-path X.safetensors runs live (through the lab's plugin); the classes come from
    the package default, the probabilities from the checkpoint's model."""
    from mer_lab.training.checkpoint import save_checkpoint

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.safetensors", create_model("apexflow"), {"model": "apexflow"})
    clf = load_classifier(ModelConfig(name="apexflow", backend="torch", path=ckpt))
    try:
        assert clf.backend == "torch-cpu" and clf.classes == CLASSES
        onset = textured_crop()
        probs = clf.classify(onset, warp(onset, bump_flow(seed=2)))
        assert set(probs) == set(CLASSES) and abs(sum(probs.values()) - 1.0) < 1e-6
    finally:
        clf.close()
