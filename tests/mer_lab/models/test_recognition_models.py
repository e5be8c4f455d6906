"""Model registry, the apexflow net, checkpoints and ONNX export parity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from mer_lab.export.to_onnx import export_onnx, onnx_max_abs_diff
from mer_lab.models import InputContract, available_models, create_model, input_contract, register
from mer_lab.training.checkpoint import load_checkpoint, save_checkpoint
from mer_lab.training.trainer import FlipAverage, Recipe, hflip_flow, wrap
from realtime_mer.errors import ModelError
from realtime_mer.types import CLASSES


def test_registry_and_contract() -> None:
    assert "apexflow" in available_models()
    c = input_contract("apexflow")
    assert c.shape == (3, 28, 28) and c.dtype == "float32" and c.value_range == (0.0, 1.0)
    assert c.classes == CLASSES and c.channels == ("u", "v", "strain")
    assert InputContract.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        create_model("nope")
    with pytest.raises(TypeError):
        register("contractless")(torch.nn.Linear)


def test_apexflow_is_tiny_and_batches() -> None:
    torch.manual_seed(0)
    model = create_model("apexflow").eval()
    n_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    assert n_bytes < 1_000_000
    with torch.no_grad():
        out = model(torch.rand(5, 3, 28, 28))
        one = model(torch.rand(1, 3, 28, 28))
    assert out.shape == (5, 3) and one.shape == (1, 3) and torch.isfinite(out).all()


def test_checkpoint_roundtrip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    recipe = Recipe(ensemble=2, tta_flip=True)
    model = wrap([create_model("apexflow") for _ in range(2)], recipe)
    path = save_checkpoint(tmp_path / "ck", model, {"model": "apexflow", "recipe": recipe.to_dict()})
    loaded, meta = load_checkpoint(path)
    x = torch.rand(3, 3, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
        # test-time mirroring makes the prediction invariant to mirroring the input
        assert torch.allclose(loaded(x), loaded(hflip_flow(x)), atol=1e-6)
    assert isinstance(loaded, FlipAverage) and meta["ensemble"] == 2 and meta["classes"] == list(CLASSES) and meta["input_contract"]["shape"] == [3, 28, 28]
    assert "git_commit" in meta
    path.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="cannot load weights"):
        load_checkpoint(path)
    with pytest.raises(ModelError, match="not found"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_robust_input_scaling() -> None:
    from mer_lab.models.apexflow import normalize

    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(0.4, 0.05, (2, 3, 28, 28)).astype(np.float32))
    out = normalize(x, "robust")
    # the median (zero motion) maps to 0, 90 % of the pixels lie within +-0.25, everything within +-1
    assert out.flatten(2).median(dim=2).values.abs().max() < 0.01
    assert 0.85 < float((out.abs() <= 0.25 + 1e-6).float().mean()) < 0.95 and out.abs().max() <= 1.0
    # one extreme pixel (as min-max normalisation leaves behind) does not set the scale, unlike min-max
    spiked = x.clone()
    spiked[:, :, 0, 0] = 1.0
    assert torch.allclose(normalize(spiked, "robust")[:, :, 1:], out[:, :, 1:], atol=0.02)
    # a per-image offset or contrast change of a channel does not change it
    assert torch.allclose(normalize(0.2 + 0.5 * x, "robust"), out, atol=1e-2)
    with pytest.raises(ValueError, match="unknown apexflow input norm"):
        normalize(x, "minmax")
    with pytest.raises(ValueError, match="unknown apexflow input norm"):
        create_model("apexflow", norm="minmax")
    with pytest.raises(ValueError, match="unknown apexflow stem"):
        create_model("apexflow", stem="deep")


@pytest.mark.parametrize(("norm", "stem"), [("none", "s2d"), ("robust", "s2d"), ("robust", "full")])
def test_onnx_export_parity(tmp_path: Path, norm: str, stem: str) -> None:
    torch.manual_seed(2)
    model = create_model("apexflow", norm=norm, stem=stem)
    # give BatchNorm non-trivial running statistics
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(16, 3, 28, 28))
    model.eval()
    path = export_onnx(model, tmp_path / "m.onnx", input_contract("apexflow"))
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version <= 17
    assert json.loads({p.key: p.value for p in proto.metadata_props}["classes"]) == list(CLASSES)
    rng = np.random.default_rng(0)
    for n in (1, 7):  # dynamic batch axis
        assert onnx_max_abs_diff(model, path, rng.random((n, 3, 28, 28), dtype=np.float32)) < 1e-4
    wrapped = wrap([model, create_model("apexflow").eval()], Recipe(ensemble=2, tta_flip=True))
    path = export_onnx(wrapped, tmp_path / "w.onnx", input_contract("apexflow"))
    assert onnx_max_abs_diff(wrapped, path, rng.random((5, 3, 28, 28), dtype=np.float32)) < 1e-4
