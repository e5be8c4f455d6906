"""Engine keys, sidecars, the build steps and load-or-rebuild-or-fall-back.

TensorRT is not installable here, so these tests drive our code with ``FakeTrt`` (tests/runners/
fakes_runners.py): they check OUR logic (paths, hashes, sidecar fields, builder calls, timing cache,
fallback decisions and their one log line), not what TensorRT builds.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import onnx
import pytest

from mer_lab.models import input_contract
from realtime_mer.engine import BuildOptions, EngineKey, build_engine, build_plan, engine_for, find_engine, save_plan
from realtime_mer.engine.build import network_from_onnx
from realtime_mer.engine.keys import make_sidecar, read_sidecar, sha256_bytes, sidecar_problem, timing_cache_path
from realtime_mer.engine.resolve import onnx_for_precision
from realtime_mer.errors import ModelError
from realtime_mer.runners.gpu import GpuInfo
from tests.helpers.fakes_runners import MAGIC, FakeTrt

CONTRACT = input_contract("apexflow").to_dict()


def key_for(onnx_path: Path, gpu: GpuInfo, precision: str = "fp16", version: str = "10.3.0") -> EngineKey:
    return EngineKey.create("apexflow", onnx_path, precision, gpu, version)


def engine_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "realtime_mer.engine" and r.levelno >= logging.INFO]


def test_key_layout(apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path) -> None:
    key = key_for(apexflow_onnx, fake_gpu)
    assert key.onnx_sha256 == sha256_bytes(apexflow_onnx.read_bytes())
    plan = key.plan_path(tmp_path)
    assert plan == tmp_path / f"apexflow-{key.onnx_sha256[:12]}" / "NVIDIA-Fake-GPU-80GB_sm90_trt10.3.0_fp16.plan"
    assert key.sidecar_path(tmp_path) == plan.with_suffix(".json")
    assert timing_cache_path(tmp_path, fake_gpu, "10.3.0") == tmp_path / "NVIDIA-Fake-GPU-80GB_sm90_trt10.3.0.timing.cache"


def test_key_changes_with_every_input(apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path) -> None:
    other_onnx = tmp_path / "other.onnx"
    other_onnx.write_bytes(apexflow_onnx.read_bytes() + b"\0")
    base = key_for(apexflow_onnx, fake_gpu)
    variants = [key_for(other_onnx, fake_gpu), key_for(apexflow_onnx, fake_gpu, "int8"),
                key_for(apexflow_onnx, fake_gpu, version="11.0.0"),
                key_for(apexflow_onnx, GpuInfo(True, "NVIDIA L4", (8, 9)))]
    paths = {base.plan_path(tmp_path), *(v.plan_path(tmp_path) for v in variants)}
    assert len(paths) == 5


def test_sidecar_fields_and_problems(apexflow_onnx: Path, fake_gpu: GpuInfo) -> None:
    key = key_for(apexflow_onnx, fake_gpu)
    plan = MAGIC + b"{}"
    side = make_sidecar(key, plan, fake_gpu, CONTRACT, BuildOptions().to_dict(), apexflow_onnx)
    assert side["gpu"]["name"] == "NVIDIA Fake GPU 80GB" and side["gpu"]["compute_capability"] == [9, 0]
    assert side["tensorrt_version"] == "10.3.0" and side["precision"] == "fp16"
    assert side["onnx_sha256"] == key.onnx_sha256 and side["plan_sha256"] == sha256_bytes(plan)
    assert side["input_contract"]["shape"] == [3, 28, 28] and side["build_options"]["max_batch"] == 8
    assert sidecar_problem(key, side, plan) is None
    assert sidecar_problem(key, None) == "sidecar missing or unreadable"
    assert "plan sha256" in (sidecar_problem(key, side, plan + b"x") or "")
    for field, value in [("onnx_sha256", "0" * 64), ("tensorrt_version", "10.0.1"), ("precision", "fp32"),
                         ("model", "c3d"), ("format", "other/1")]:
        assert field.split("_")[0] in (sidecar_problem(key, {**side, field: value}) or ""), field
    moved = {**side, "gpu": {**side["gpu"], "sm": "sm89"}}
    assert "sm89" in (sidecar_problem(key, moved) or "")


def test_find_engine_hit_miss_mismatch(apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path) -> None:
    key = key_for(apexflow_onnx, fake_gpu)
    assert find_engine(key, tmp_path).status == "miss"
    plan = MAGIC + b'{"x": 1}'
    path = save_plan(plan, key, tmp_path, make_sidecar(key, plan, fake_gpu, CONTRACT, {}))
    found = find_engine(key, tmp_path)
    assert found.hit and found.plan == plan and found.path == path
    path.write_bytes(plan + b"tampered")
    assert find_engine(key, tmp_path).status == "mismatch"
    path.write_bytes(plan)
    key.sidecar_path(tmp_path).unlink()
    assert find_engine(key, tmp_path).reason == "sidecar missing or unreadable"


def test_build_plan_calls_the_documented_builder_api(apexflow_onnx: Path, tmp_path: Path) -> None:
    trt = FakeTrt("10.3.0")
    cache = tmp_path / "t.timing.cache"
    plan = build_plan(apexflow_onnx, BuildOptions("fp32", max_batch=16, opt_batch=4, workspace_mb=256), cache, trt)
    spec = json.loads(plan[len(MAGIC):])
    assert (spec["input"], spec["shape"], spec["opt"], spec["max"]) == ("input", [3, 28, 28], 4, 16)
    assert trt.network_flags == [1 << 1]  # STRONGLY_TYPED only (explicit batch is implicit on 10.x)
    cfg = trt.configs[0]
    assert cfg.pools == {"WORKSPACE": 256 << 20} and cfg.flags == set()
    assert cache.read_bytes() == b"+entry"  # saved after the build ...
    build_plan(apexflow_onnx, BuildOptions("fp32"), cache, trt)
    assert trt.configs[1].timing_cache.data == b"+entry" and cache.read_bytes() == b"+entry+entry"  # ... and reloaded


def test_weakly_typed_tensorrt_gets_explicit_batch_and_precision_flags(apexflow_onnx: Path) -> None:
    """Before 10.x there is no STRONGLY_TYPED flag: explicit batch and the FP16 builder flag are set instead."""
    trt = FakeTrt("8.6.1", strongly_typed=False)
    build_plan(apexflow_onnx, BuildOptions("fp16"), None, trt)
    assert trt.network_flags == [1 << 0] and trt.configs[0].flags == {"FP16"}


def test_every_parser_error_is_reported_in_one_line(apexflow_onnx: Path) -> None:
    trt = FakeTrt()
    trt.parse_errors = ["In node 3 (Conv): unsupported attribute", "In node 7 (Foo): no importer"]
    with pytest.raises(ModelError, match=r"2 error\(s\): In node 3 .* \| In node 7") as e:
        network_from_onnx(apexflow_onnx, trt)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("options", [{"max_batch": 0}, {"opt_batch": 9, "max_batch": 8}, {"precision": "fp8"}])
def test_bad_build_options(options: dict[str, object]) -> None:
    with pytest.raises(ModelError):
        BuildOptions(**options)  # type: ignore[arg-type]


def test_build_engine_converts_to_fp16_and_writes_the_sidecar(apexflow_onnx: Path, fake_gpu: GpuInfo,
                                                             tmp_path: Path) -> None:
    trt = FakeTrt()
    key = key_for(apexflow_onnx, fake_gpu, "fp16")
    path = build_engine(key, apexflow_onnx, tmp_path, fake_gpu, BuildOptions("fp16"), CONTRACT, trt)
    spec = json.loads(path.read_bytes()[len(MAGIC):])
    assert spec["fp16_weights"] and spec["onnx"] == "apexflow.fp16.onnx"
    side = read_sidecar(key.sidecar_path(tmp_path))
    assert side is not None and sidecar_problem(key, side, path.read_bytes()) is None
    assert side["onnx_path"] == str(apexflow_onnx) and side["build_options"]["precision"] == "fp16"
    assert timing_cache_path(tmp_path, fake_gpu, "10.3.0").is_file()


def test_precision_needs_a_matching_onnx(apexflow_onnx: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no Q/DQ nodes"):
        onnx_for_precision(apexflow_onnx, "int8", tmp_path)
    assert onnx_for_precision(apexflow_onnx, "fp32", tmp_path) == apexflow_onnx
    qdq = onnx.load(str(apexflow_onnx))
    node = onnx.helper.make_node("QuantizeLinear", ["a", "b"], ["c"])
    qdq.graph.node.append(node)
    qpath = tmp_path / "q.onnx"
    onnx.save(qdq, str(qpath))
    assert onnx_for_precision(qpath, "int8", tmp_path) == qpath
    with pytest.raises(ModelError, match="--precision int8"):
        onnx_for_precision(qpath, "fp16", tmp_path)


def test_engine_for_builds_on_a_miss_then_loads(apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    trt = FakeTrt()
    key = key_for(apexflow_onnx, fake_gpu)
    with caplog.at_level(logging.INFO, logger="realtime_mer.engine"):
        first = engine_for(key, apexflow_onnx, tmp_path, fake_gpu, BuildOptions(), CONTRACT, trt)
        assert first.status == "built" and first.engine is not None and trt.builds == 1
        assert len(engine_lines(caplog)) == 1 and "built in" in engine_lines(caplog)[0]
        caplog.clear()
        second = engine_for(key, apexflow_onnx, tmp_path, fake_gpu, BuildOptions(), CONTRACT, trt)
    assert second.status == "loaded" and trt.builds == 1
    assert engine_lines(caplog) == [f"TensorRT engine {second.path} loaded"]


def test_hash_mismatch_rebuilds(apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path,
                                caplog: pytest.LogCaptureFixture) -> None:
    trt = FakeTrt()
    key = key_for(apexflow_onnx, fake_gpu)
    path = engine_for(key, apexflow_onnx, tmp_path, fake_gpu, BuildOptions(), CONTRACT, trt).path
    path.write_bytes(path.read_bytes() + b" ")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="realtime_mer.engine"):
        out = engine_for(key, apexflow_onnx, tmp_path, fake_gpu, BuildOptions(), CONTRACT, trt)
    assert out.status == "rebuilt" and out.engine is not None and trt.builds == 2
    (line,) = engine_lines(caplog)
    assert "plan sha256 does not match" in line and "rebuilt" in line


def test_failed_deserialization_rebuilds(apexflow_onnx: Path, fake_gpu: GpuInfo, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    """A plan whose sidecar matches but that TensorRT refuses (deserialize -> None) is rebuilt."""
    trt = FakeTrt()
    key = key_for(apexflow_onnx, fake_gpu)
    junk = b"plan from another TensorRT build"
    save_plan(junk, key, tmp_path, make_sidecar(key, junk, fake_gpu, CONTRACT, {}))
    with caplog.at_level(logging.INFO, logger="realtime_mer.engine"):
        out = engine_for(key, apexflow_onnx, tmp_path, fake_gpu, BuildOptions(), CONTRACT, trt)
    assert out.status == "rebuilt" and out.engine is not None
    (line,) = engine_lines(caplog)
    assert "deserialization failed" in line


@pytest.mark.parametrize("failure", ["deserialize", "build", "no-build"])
def test_unrecoverable_engine_falls_back_with_one_line(failure: str, apexflow_onnx: Path, fake_gpu: GpuInfo,
                                                       tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    trt = FakeTrt()
    trt.deserialize_ok = failure != "deserialize"
    trt.build_ok = failure != "build"
    key = key_for(apexflow_onnx, fake_gpu)
    with caplog.at_level(logging.DEBUG, logger="realtime_mer"):
        out = engine_for(key, apexflow_onnx, tmp_path, fake_gpu, BuildOptions(), CONTRACT, trt,
                         build=failure != "no-build")
    assert out.engine is None and out.status == "fallback"
    (line,) = engine_lines(caplog)
    assert "falling back to ONNX Runtime" in line and line == out.message and "\n" not in line
    assert [r.levelname for r in caplog.records if r.name == "realtime_mer.engine"] == ["WARNING"]


def test_build_tool_without_gpu_is_one_line(apexflow_onnx: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has a GPU")
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_engine", Path(__file__).parents[3] / "tools" / "build_engine.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--onnx", str(apexflow_onnx), "--engines-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("build_engine.py: error: cannot build a TensorRT engine here: no NVIDIA GPU found") and "\n" not in err
