"""ApexFlowClassifier on the bundled ONNX model, and its error handling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mer_lab.export.to_onnx import export_onnx
from mer_lab.models import create_model, input_contract
from mer_lab.training.trainer import predict_proba
from realtime_mer.errors import ModelError
from realtime_mer.recognition import BUNDLED_MODEL, DEFAULT_FLOW_METHOD, ApexFlowClassifier, apex_flow_image
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
