"""Reduced precision on ONNX Runtime CPU: the FP16 graph pass for every model, INT8 Q/DQ accuracy on MEGC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from mer_lab.export.model_export import Parity, random_inputs
from mer_lab.models import available_models, input_contract
from mer_lab.quantization.accuracy import ort_logits, ort_uf1
from mer_lab.quantization.data import load_calibration_inputs, split_indices
from realtime_mer.engine.fp16 import FLOAT32_SLOTS, convert_file, convert_to_fp16, is_fp16
from realtime_mer.engine.int8 import has_qdq, quantize_int8
from realtime_mer.errors import DataError, ModelError
from realtime_mer.recognition.backend import default_onnx
from realtime_mer.runners.onnxrt import OnnxRuntimeRunner


@pytest.mark.parametrize("name", available_models())
def test_fp16_conversion_runs_on_ort_with_small_error(name: str, exported: dict[str, tuple[Path, Parity]],
                                                      tmp_path: Path) -> None:
    src, _ = exported[name]
    dst = convert_file(src, tmp_path / f"{name}.fp16.onnx")
    model = onnx.load(str(dst))
    onnx.checker.check_model(model, full_check=True)
    params = {i for n in model.graph.node for k, i in enumerate(n.input) if k in FLOAT32_SLOTS.get(n.op_type, ())}
    assert is_fp16(model)
    assert all(t.data_type != onnx.TensorProto.FLOAT for t in model.graph.initializer if t.name not in params)
    x = random_inputs(input_contract(name), 3)
    with OnnxRuntimeRunner(src) as r32, OnnxRuntimeRunner(dst) as r16:
        assert r16.input_metadata()["input"].dtype == np.float32  # I/O stays float32
        a, b = r32.infer(x)["logits"], r16.infer(x)["logits"]
    assert b.dtype == np.float32
    assert np.abs(a - b).max() <= 5e-3 * np.abs(a).max() + 1e-4


def test_fp16_without_kept_io_types_and_clamping(apexflow_onnx: Path) -> None:
    model = onnx.load(str(apexflow_onnx))
    big = next(t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
    arr = onnx.numpy_helper.to_array(big).copy()
    arr.flat[0] = 1e6  # beyond float16: must clamp to 65504, not become inf
    big.CopyFrom(onnx.numpy_helper.from_array(arr, big.name))
    out = convert_to_fp16(model, keep_io_types=False)
    assert out.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    conv = next(t for t in out.graph.initializer if t.name == big.name)
    assert onnx.numpy_helper.to_array(conv).flat[0] == np.float16(65504)


def test_fp16_keeps_resize_scales_float32() -> None:
    from onnx import TensorProto, helper, numpy_helper

    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    w = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["r"], mode="nearest"), helper.make_node("Conv", ["r", "w"], ["y"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 4])], [scales, w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    out = convert_to_fp16(model)
    types = {t.name: t.data_type for t in out.graph.initializer}
    assert types == {"scales": TensorProto.FLOAT, "w": TensorProto.FLOAT16}
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    import onnxruntime as ort

    y = ort.InferenceSession(out.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert y.shape == (1, 1, 4, 4) and y[0, 0, 3, 3] == 3.0


def test_fp16_refuses_control_flow() -> None:
    from onnx import TensorProto, helper

    branch = helper.make_graph([], "b", [], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])])
    node = helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    with pytest.raises(ModelError, match="control-flow"):
        convert_to_fp16(helper.make_model(graph))


def test_calibration_data_from_array_files(tmp_path: Path) -> None:
    contract = input_contract("apexflow")
    flows = np.random.default_rng(0).integers(0, 256, (10, 28, 28, 3), dtype=np.uint8)
    np.save(tmp_path / "flows.npy", flows)
    x = load_calibration_inputs(tmp_path / "flows.npy", contract, limit=4)
    assert x.shape == (4, 3, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.savez(tmp_path / "inputs.npz", inputs=np.zeros((3, 3, 28, 28), np.float32))
    assert load_calibration_inputs(tmp_path / "inputs.npz", contract).shape == (3, 3, 28, 28)
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(DataError, match="the model takes"):
        load_calibration_inputs(tmp_path / "bad.npy", contract)


def trained_apexflow(megc_flow: Path, tmp_path: Path) -> Path:
    """The shipped FP32 apexflow ONNX, else one trained quickly here (10 epochs on all samples)."""
    if default_onnx("apexflow").is_file():
        return default_onnx("apexflow")
    from mer_lab.datasets.megc_flow import load_megc_flow
    from mer_lab.export.to_onnx import export_onnx
    from mer_lab.models import input_contract as contract_of
    from mer_lab.training.trainer import Recipe, fit

    data = load_megc_flow(megc_flow)
    res = fit(data.images, data.labels, Recipe(epochs=10, threads=1), seed=0)
    return export_onnx(res.model, tmp_path / "apexflow.onnx", contract_of("apexflow"))


def test_int8_qdq_keeps_uf1_within_one_point(megc_flow: Path, tmp_path: Path) -> None:
    """Calibrated on the development half of the subjects; UF1 compared on all 442 samples and on the other half."""
    from mer_lab.datasets.megc_flow import load_megc_flow
    from realtime_mer.recognition.features import to_model_input

    fp32 = trained_apexflow(megc_flow, tmp_path)
    calib = load_calibration_inputs(megc_flow, input_contract("apexflow"), split="dev")
    int8 = quantize_int8(fp32, tmp_path / "apexflow.int8.onnx", calib)
    assert has_qdq(int8) and not has_qdq(fp32)
    assert {o.domain for o in onnx.load(str(int8)).opset_import} <= {"", "ai.onnx"}
    data = load_megc_flow(megc_flow)
    x = to_model_input(data.images)
    held = split_indices(data.subjects, data.datasets, "held-out")
    assert 0 < len(calib) < len(x) and len(calib) + len(held) == len(x)
    for ix in (np.arange(len(x)), held):
        u32, u8 = ort_uf1(fp32, x[ix], data.labels[ix]), ort_uf1(int8, x[ix], data.labels[ix])
        assert u32 > 0.5 and abs(u32 - u8) <= 0.01, (u32, u8)
    agree = (ort_logits(fp32, x).argmax(1) == ort_logits(int8, x).argmax(1)).mean()
    assert agree > 0.97


@pytest.mark.parametrize("method", ["minmax", "percentile"])
def test_quantize_with_a_ragged_last_batch(method: str, apexflow_onnx: Path, tmp_path: Path) -> None:
    """21 inputs = one full batch of 16 + 5: the histogram calibrators need equal batches, minmax does not."""
    x = random_inputs(input_contract("apexflow"), 21)
    out = quantize_int8(apexflow_onnx, tmp_path / f"{method}.onnx", x, method=method)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert has_qdq(out) and meta["precision"] == "int8" and meta["model"] == "apexflow"
    assert meta["calibration"].startswith(f"{method}, 21 inputs")
    with pytest.raises(ModelError, match="already quantized"):
        quantize_int8(out, tmp_path / "again.onnx", x)
