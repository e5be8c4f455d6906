"""Fakes of the ``tensorrt`` module and of the CUDA runtime, for a machine with neither.

They model the documented API surface our code calls (Builder / OnnxParser / BuilderConfig / Runtime /
ICudaEngine / IExecutionContext, cudaMalloc / cudaMemcpyAsync / streams) so the tests can check OUR
logic: keys, sidecars, timing cache, fallbacks, buffer binding and shape handling. They do not model
what TensorRT itself computes or how it optimises; a "plan" here is JSON behind a magic prefix.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import numpy as np
import onnx

MAGIC = b"FAKEPLAN1:"


class FakeCuda:
    """A ``CudaApi`` over host memory: device pointers index numpy byte buffers."""

    name = "fake-cuda"

    def __init__(self) -> None:
        self.mem: dict[int, np.ndarray] = {}
        self.freed: list[int] = []
        self._next = 0x1000
        self.streams_alive = 0

    def malloc(self, nbytes: int) -> int:
        ptr = self._next
        self._next += int(nbytes) + 256
        self.mem[ptr] = np.zeros(int(nbytes), np.uint8)
        return ptr

    def free(self, ptr: int) -> None:
        del self.mem[ptr]
        self.freed.append(ptr)

    def stream_create(self) -> Any:
        self.streams_alive += 1
        return object()

    def stream_handle(self, stream: Any) -> int:
        return 7

    def stream_sync(self, stream: Any) -> None:
        pass

    def stream_destroy(self, stream: Any) -> None:
        self.streams_alive -= 1

    def htod_async(self, dst: int, src: np.ndarray, stream: Any) -> None:
        raw = np.ascontiguousarray(src).reshape(-1).view(np.uint8)
        assert raw.size <= self.mem[dst].size, "host->device copy larger than the device buffer"
        self.mem[dst][: raw.size] = raw

    def dtoh_async(self, dst: np.ndarray, src: int, stream: Any) -> None:
        dst.reshape(-1).view(np.uint8)[:] = self.mem[src][: dst.nbytes]

    def read(self, ptr: int, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        n = int(np.prod(shape)) * np.dtype(dtype).itemsize
        return self.mem[ptr][:n].view(dtype).reshape(shape).copy()

    def write(self, ptr: int, arr: np.ndarray) -> None:
        raw = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
        self.mem[ptr][: raw.size] = raw


def fake_compute(x: np.ndarray, n_out: int) -> np.ndarray:
    """What a fake engine "computes": column k = (k + 1) * mean of each sample."""
    m = x.reshape(len(x), -1).mean(axis=1, dtype=np.float64)
    return (m[:, None] * np.arange(1, n_out + 1)).astype(np.float32)


class FakeContext:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine, self.shapes, self.addresses = engine, {}, {}

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        s = self.engine.spec
        if name != s["input"] or tuple(shape[1:]) != tuple(s["shape"]) or not 1 <= shape[0] <= s["max"]:
            return False
        self.shapes[name] = tuple(shape)
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        s = self.engine.spec
        batch = self.shapes.get(s["input"], (-1,))[0]
        return (batch, *s["shape"]) if name == s["input"] else (batch, s["n_out"])

    def set_tensor_address(self, name: str, ptr: int) -> bool:
        self.addresses[name] = ptr
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        s, cuda = self.engine.spec, self.engine.trt.cuda
        x = cuda.read(self.addresses[s["input"]], self.shapes[s["input"]], np.float32)
        cuda.write(self.addresses[s["output"]], fake_compute(x, s["n_out"]))
        self.engine.trt.executed += 1
        return True


class FakeEngine:
    def __init__(self, trt: FakeTrt, spec: dict[str, Any]) -> None:
        self.trt, self.spec = trt, spec
        self.num_io_tensors = 2

    def get_tensor_name(self, i: int) -> str:
        return [self.spec["input"], self.spec["output"]][i]

    def get_tensor_mode(self, name: str) -> str:
        return self.trt.TensorIOMode.INPUT if name == self.spec["input"] else self.trt.TensorIOMode.OUTPUT

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return (-1, *self.spec["shape"]) if name == self.spec["input"] else (-1, self.spec["n_out"])

    def get_tensor_dtype(self, name: str) -> Any:
        return np.float32

    def get_tensor_profile_shape(self, name: str, profile: int) -> list[tuple[int, ...]]:
        rest = tuple(self.spec["shape"])
        return [(1, *rest), (self.spec["opt"], *rest), (self.spec["max"], *rest)]

    def create_execution_context(self) -> FakeContext:
        return FakeContext(self)


class FakeNetwork:
    def __init__(self, flags: int) -> None:
        self.flags, self.inputs, self.outputs, self.onnx_path = flags, [], [], ""

    @property
    def num_inputs(self) -> int:
        return len(self.inputs)

    def get_input(self, i: int) -> Any:
        return self.inputs[i]


class FakeParser:
    def __init__(self, trt: FakeTrt, network: FakeNetwork, logger: Any) -> None:
        self.trt, self.network, self.errors = trt, network, []

    def parse_from_file(self, path: str) -> bool:
        if self.trt.parse_errors:
            self.errors = list(self.trt.parse_errors)
            return False
        g = onnx.load(path).graph
        dims = lambda vi: tuple(d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim)  # noqa: E731
        self.network.inputs = [types.SimpleNamespace(name=i.name, shape=dims(i)) for i in g.input]
        self.network.outputs = [types.SimpleNamespace(name=o.name, shape=dims(o)) for o in g.output]
        self.network.onnx_path = path
        return True

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    def get_error(self, i: int) -> str:
        return self.errors[i]


class FakeTimingCache:
    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)

    def serialize(self) -> bytes:
        return self.data + b"+entry"


class FakeConfig:
    def __init__(self) -> None:
        self.pools, self.profiles, self.flags, self.timing_cache = {}, [], set(), None

    def set_memory_pool_limit(self, pool: str, size: int) -> None:
        self.pools[pool] = size

    def add_optimization_profile(self, profile: Any) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def set_flag(self, flag: str) -> None:
        self.flags.add(flag)

    def create_timing_cache(self, data: bytes) -> FakeTimingCache:
        return FakeTimingCache(data)

    def set_timing_cache(self, cache: FakeTimingCache, ignore_mismatch: bool) -> bool:
        self.timing_cache = cache
        return True


class FakeProfile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[tuple[int, ...], ...]] = {}

    def set_shape(self, name: str, lo: tuple[int, ...], opt: tuple[int, ...], hi: tuple[int, ...]) -> None:
        self.shapes[name] = (tuple(lo), tuple(opt), tuple(hi))


class FakeBuilder:
    def __init__(self, trt: FakeTrt, logger: Any) -> None:
        self.trt = trt

    def create_network(self, flags: int) -> FakeNetwork:
        self.trt.network_flags.append(flags)
        return FakeNetwork(flags)

    def create_optimization_profile(self) -> FakeProfile:
        return FakeProfile()

    def create_builder_config(self) -> FakeConfig:
        cfg = FakeConfig()
        self.trt.configs.append(cfg)
        return cfg

    def build_serialized_network(self, network: FakeNetwork, config: FakeConfig) -> bytes | None:
        if not self.trt.build_ok:
            return None
        inp, out = network.inputs[0], network.outputs[0]
        _lo, opt, hi = config.profiles[0].shapes[inp.name]
        fp16 = any(t.data_type == onnx.TensorProto.FLOAT16 for t in onnx.load(network.onnx_path).graph.initializer)
        spec = {"input": inp.name, "output": out.name, "shape": list(inp.shape[1:]), "n_out": out.shape[-1],
                "opt": opt[0], "max": hi[0], "fp16_weights": fp16, "onnx": Path(network.onnx_path).name}
        self.trt.builds += 1
        return MAGIC + json.dumps(spec).encode()


class FakeRuntime:
    def __init__(self, trt: FakeTrt, logger: Any) -> None:
        self.trt = trt

    def deserialize_cuda_engine(self, plan: bytes) -> FakeEngine | None:
        if not self.trt.deserialize_ok or not bytes(plan).startswith(MAGIC):
            return None
        return FakeEngine(self.trt, json.loads(bytes(plan)[len(MAGIC) :]))


class FakeTrt(types.ModuleType):
    """A stand-in ``tensorrt`` module (hashable, like a real module) with switches for failure paths."""

    def __init__(self, version: str = "10.3.0", strongly_typed: bool = True) -> None:
        super().__init__("tensorrt")
        self.__version__ = version
        self.cuda = FakeCuda()
        self.deserialize_ok = True
        self.build_ok = True
        self.parse_errors: list[str] = []
        self.builds = 0
        self.executed = 0
        self.network_flags: list[int] = []
        self.configs: list[FakeConfig] = []
        flags = {"EXPLICIT_BATCH": 0, **({"STRONGLY_TYPED": 1} if strongly_typed else {})}
        self.NetworkDefinitionCreationFlag = types.SimpleNamespace(**flags)
        self.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")
        self.BuilderFlag = types.SimpleNamespace(FP16="FP16", INT8="INT8")
        self.TensorIOMode = types.SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT")
        self.Logger = type("Logger", (), {"WARNING": 2, "__init__": lambda s, sev=2: None})

    def Builder(self, logger: Any) -> FakeBuilder:
        return FakeBuilder(self, logger)

    def OnnxParser(self, network: FakeNetwork, logger: Any) -> FakeParser:
        return FakeParser(self, network, logger)

    def Runtime(self, logger: Any) -> FakeRuntime:
        return FakeRuntime(self, logger)

    @staticmethod
    def nptype(dtype: Any) -> Any:
        return dtype
