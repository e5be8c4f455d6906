"""ONNX export of every registered model: opset 17, IR 8, dynamic batch, contract metadata, parity with torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from mer_lab.export.model_export import PARITY_TOL, Parity, export_model, load_model, random_inputs, real_inputs
from mer_lab.models import available_models, input_contract
from realtime_mer.errors import ModelError
from realtime_mer.runners.onnxrt import OnnxRuntimeRunner


@pytest.mark.parametrize("name", available_models())
def test_export_parity_and_format(name: str, exported: dict[str, tuple[Path, Parity]]) -> None:
    path, par = exported[name]
    assert par.random < PARITY_TOL and par.ok(), par.describe()
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert proto.ir_version == 8
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [17]
    (inp,), outs = proto.graph.input, proto.graph.output
    # tcgru also exports its intensity head (the per-frame trace live); every other model only its logits
    assert [o.name for o in outs] == (["logits", "intensity"] if name == "tcgru" else ["logits"])
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert all(o.type.tensor_type.shape.dim[0].dim_param == "batch" for o in outs)
    meta = {p.key: p.value for p in proto.metadata_props}
    contract = input_contract(name)
    assert meta["model"] == name and json.loads(meta["input_contract"])["shape"] == list(contract.shape)
    assert meta["trained"] == "false"  # random weights: the live pipeline refuses this file
    with OnnxRuntimeRunner(path) as r:  # the dynamic batch axis really is dynamic
        for n in (1, 3):
            assert r.infer(random_inputs(contract, n))["logits"].shape == (n, len(contract.classes))


def test_apexflow_parity_on_real_inputs(megc_flow: Path, exported: dict[str, tuple[Path, Parity]]) -> None:
    x = real_inputs(input_contract("apexflow"), megc_flow)
    assert x is not None and x.shape == (442, 3, 28, 28)
    _, par = exported["apexflow"]
    assert par.real is not None and par.n_real == 442 and par.real < PARITY_TOL


def test_checkpoint_of_another_model_is_refused(tmp_path: Path) -> None:
    from mer_lab.training.checkpoint import save_checkpoint

    other = next((n for n in available_models() if n != "apexflow"), None)
    if other is None:
        pytest.skip("only one model is registered")
    ckpt = save_checkpoint(tmp_path / "m.safetensors", load_model("apexflow"), {"model": "apexflow"})
    with pytest.raises(ModelError, match="holds a 'apexflow' model"):
        export_model(other, tmp_path / "x.onnx", ckpt)


def test_export_from_checkpoint_keeps_the_trained_weights(tmp_path: Path) -> None:
    from mer_lab.training.checkpoint import save_checkpoint

    model = load_model("apexflow", seed=123)
    ckpt = save_checkpoint(tmp_path / "m.safetensors", model, {"model": "apexflow"})
    path, par = export_model("apexflow", tmp_path / "m.onnx", ckpt, n_random=4, data_root=tmp_path)
    assert par.ok() and par.real is None  # no MEGC set under tmp_path
    x = random_inputs(input_contract("apexflow"), 2)
    import torch

    with torch.no_grad(), OnnxRuntimeRunner(path) as r:
        np.testing.assert_allclose(r.infer(x)["logits"], model(torch.from_numpy(x)).numpy(), atol=1e-4)


def test_export_tool_prints_parity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("export_onnx", Path(__file__).parents[3] / "tools" / "export_onnx.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--model", "apexflow", "--out", str(tmp_path / "a.onnx"), "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "opset 17, IR 8" in out and "max |torch - ORT|" in out
