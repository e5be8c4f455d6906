"""Runner base behaviour (context manager, input checks once in the base, metadata) and the torch / ORT runners."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer_lab.models import input_contract
from mer_lab.torch_runner import TorchRunner, model_from_registry
from realtime_mer.errors import ModelError
from realtime_mer.runners.base import Runner, TensorMeta
from realtime_mer.runners.onnxrt import CPU, CUDA, TRT, OnnxRuntimeRunner, pick_providers


class SumRunner(Runner):
    """A minimal backend: two inputs a (batch, 2) and b (batch, 2) float32 -> out = a + b; counts hook calls."""

    def __init__(self, max_batch: int | None = None) -> None:
        super().__init__("sum")
        self.calls = {"activate": 0, "deactivate": 0, "infer": 0}
        self._max = max_batch

    def activate_impl(self) -> None:
        self.calls["activate"] += 1
        self.backend, self.max_batch = "numpy", self._max

    def input_metadata_impl(self) -> list[TensorMeta]:
        f32 = np.dtype(np.float32)
        return [TensorMeta("a", ("batch", 2), f32), TensorMeta("b", ("batch", 2), f32)]

    def output_metadata_impl(self) -> list[TensorMeta]:
        return [TensorMeta("out", ("batch", 2), np.dtype(np.float32))]

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.calls["infer"] += 1
        return {"out": feed["a"] + feed["b"]}

    def deactivate_impl(self) -> None:
        self.calls["deactivate"] += 1


def ones(n: int = 3) -> np.ndarray:
    return np.ones((n, 2), np.float32)


def test_context_manager_activates_once_and_deactivates() -> None:
    r = SumRunner()
    with r as same:
        assert same is r and r.is_active
        r.activate()  # idempotent
        out = r.infer({"a": ones(), "b": 2 * ones()})
        np.testing.assert_array_equal(out["out"], 3 * ones())
        assert r.input_metadata()["a"].shape == ("batch", 2)
        assert list(r.output_metadata()) == ["out"]
    assert not r.is_active and r.calls == {"activate": 1, "deactivate": 1, "infer": 1}
    r.deactivate()  # no-op when inactive
    assert r.calls["deactivate"] == 1


def test_deactivates_when_the_block_raises() -> None:
    r = SumRunner()
    with pytest.raises(RuntimeError), r:
        raise RuntimeError("boom")
    assert not r.is_active and r.calls["deactivate"] == 1


def test_use_before_activate_is_a_one_line_model_error() -> None:
    r = SumRunner()
    for call in (lambda: r.infer({"a": ones(), "b": ones()}), r.input_metadata, r.output_metadata):
        with pytest.raises(ModelError, match="before activate") as e:
            call()
        assert "\n" not in str(e.value)


@pytest.mark.parametrize(("feed", "match"), [
    (ones(), "got one bare array"),
    ({"a": ones()}, "do not match the inputs"),
    ({"a": ones(), "b": ones(), "c": ones()}, "do not match the inputs"),
    ({"a": ones().astype(np.float64), "b": ones()}, "is float64"),
    ({"a": ones()[:, :1], "b": ones()[:, :1]}, "model expects"),
    ({"a": np.ones(2, np.float32), "b": ones()}, "model expects"),
    ({"a": ones(3), "b": ones(4)}, "disagree on the batch size"),
    ({"a": ones(0), "b": ones(0)}, "empty batch"),
    ({"a": [[1.0, 2.0]], "b": ones()}, "not a numpy array"),
    ("not a feed", "must be a numpy array or a dict"),
])
def test_bad_feeds_are_rejected_before_the_backend(feed: object, match: str) -> None:
    with SumRunner() as r:
        with pytest.raises(ModelError, match=match) as e:
            r.infer(feed)  # type: ignore[arg-type]
        assert "\n" not in str(e.value) and ";" in str(e.value)  # problem; fix
        assert r.calls["infer"] == 0


def test_max_batch_is_enforced_and_non_contiguous_input_accepted() -> None:
    with SumRunner(max_batch=4) as r:
        with pytest.raises(ModelError, match="exceeds this backend's maximum of 4"):
            r.infer({"a": ones(5), "b": ones(5)})
        a = np.ones((4, 4), np.float32)[:, ::2]  # strided view
        assert r.infer({"a": a, "b": ones(4)})["out"].shape == (4, 2)


def test_onnxruntime_runner_matches_metadata_and_accepts_a_bare_array(apexflow_onnx: Path) -> None:
    x = np.random.default_rng(0).random((5, 3, 28, 28), dtype=np.float32)
    with OnnxRuntimeRunner(apexflow_onnx) as r:
        assert r.backend == "onnxruntime-cpu" and r.session_providers == [CPU]
        meta = r.input_metadata()["input"]
        assert meta.shape == ("batch", 3, 28, 28) and meta.dtype == np.float32
        assert r.output_metadata()["logits"].shape == ("batch", 3)
        out = r.infer(x)["logits"]
    assert out.shape == (5, 3) and np.isfinite(out).all()


def test_onnxruntime_runner_missing_or_corrupt_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        OnnxRuntimeRunner(tmp_path / "nope.onnx").activate()
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx model")
    r = OnnxRuntimeRunner(bad)
    with pytest.raises(ModelError, match="cannot load"):
        r.activate()
    assert not r.is_active


def test_provider_preference() -> None:
    assert pick_providers(available=[CPU]) == [CPU]
    assert pick_providers(available=[CUDA, CPU]) == [CUDA, CPU]
    assert pick_providers(use_gpu=False, available=[TRT, CUDA, CPU]) == [CPU]
    got = pick_providers(available=[TRT, CUDA, CPU], trt_cache=Path("engines/ort-trt"))
    assert got[0][0] == TRT and got[0][1]["trt_engine_cache_path"] == str(Path("engines/ort-trt"))
    assert got[1:] == [CUDA, CPU]
    assert pick_providers(use_trt=False, available=[TRT, CUDA, CPU]) == [CUDA, CPU]


def test_torch_runner_agrees_with_onnxruntime(apexflow_onnx: Path) -> None:
    """The ONNX was exported from model_from_registry('apexflow', seed=0), the same weights the torch runner loads."""
    x = np.random.default_rng(1).random((4, 3, 28, 28), dtype=np.float32)
    with TorchRunner(model_from_registry("apexflow"), input_contract("apexflow"), threads=1) as t:
        assert t.backend == "torch-cpu"
        assert t.input_metadata()["input"].shape == ("batch", 3, 28, 28)
        a = t.infer(x)["logits"]
    with OnnxRuntimeRunner(apexflow_onnx) as o:
        b = o.infer(x)["logits"]
    assert np.abs(a - b).max() < 1e-4


def test_torch_runner_rejects_a_loader_that_returns_no_module() -> None:
    r = TorchRunner(lambda: "not a model", input_contract("apexflow"))
    with pytest.raises(ModelError, match=r"not an nn\.Module"):
        r.activate()
