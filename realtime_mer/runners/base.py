"""The ``Runner`` base: one public surface for every inference backend (torch, ONNX Runtime, TensorRT).

The base owns ``activate`` / ``infer`` / ``input_metadata`` / ``output_metadata`` / ``model_metadata`` /
``deactivate`` and the
context manager, and checks every feed once; a backend fills in the ``*_impl`` hooks only.

    with runner:
        logits = runner.infer(x)["logits"]      # x: (N, *contract.shape) float32
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from realtime_mer.errors import ModelError, fail, log

Dim = int | str  # a static size, or the name of a dynamic axis (e.g. "batch")


@dataclass(frozen=True)
class TensorMeta:
    """Name, shape (dynamic axes as names) and dtype of one model input or output."""

    name: str
    shape: tuple[Dim, ...]
    dtype: np.dtype

    def describe(self) -> str:
        """E.g. ``input: (batch, 3, 28, 28) float32``."""
        return f"{self.name}: ({', '.join(str(d) for d in self.shape)}) {np.dtype(self.dtype).name}"


def is_dynamic(dim: Dim) -> bool:
    """True for a named (dynamic) axis or a negative size (TensorRT's -1)."""
    return isinstance(dim, str) or dim < 0


Feed = dict[str, np.ndarray] | np.ndarray


class Runner(ABC):
    """An inference backend behind one interface; use it as a context manager."""

    def __init__(self, name: str = "runner") -> None:
        self.name = name
        self.backend = "unknown"  # e.g. "onnxruntime-cpu", set by the backend when it activates
        self.max_batch: int | None = None  # largest batch the backend accepts (None: unbounded)
        self.is_active = False
        self._inputs: dict[str, TensorMeta] = {}
        self._outputs: dict[str, TensorMeta] = {}
        self._metadata: dict[str, str] = {}

    # ---- public surface (do not override) -------------------------------------------------------
    def activate(self) -> None:
        """Load the model / create the session; a no-op when already active."""
        if self.is_active:
            return
        self.activate_impl()
        try:
            self._inputs = {m.name: m for m in self.input_metadata_impl()}
            self._outputs = {m.name: m for m in self.output_metadata_impl()}
            self._metadata = dict(self.model_metadata_impl())
        except BaseException:
            self.deactivate_impl()
            raise
        self.is_active = True
        log.debug("%s activated (%s): %s", self.name, self.backend,
                  "; ".join(m.describe() for m in self._inputs.values()))

    def deactivate(self) -> None:
        """Release the session, device buffers and streams; a no-op when not active."""
        if not self.is_active:
            return
        try:
            self.deactivate_impl()
        finally:
            self.is_active = False
            self._inputs, self._outputs, self._metadata = {}, {}, {}

    def __enter__(self) -> Runner:
        self.activate()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.deactivate()

    def input_metadata(self) -> dict[str, TensorMeta]:
        """Inputs by name, in model order (the runner must be active)."""
        self._require_active("input_metadata")
        return dict(self._inputs)

    def output_metadata(self) -> dict[str, TensorMeta]:
        """Outputs by name, in model order (the runner must be active)."""
        self._require_active("output_metadata")
        return dict(self._outputs)

    def model_metadata(self) -> dict[str, str]:
        """The model's custom metadata (e.g. ``classes``: a JSON list of class names); empty when it has none."""
        self._require_active("model_metadata")
        return dict(self._metadata)

    def infer(self, feed: Feed) -> dict[str, np.ndarray]:
        """Run one batch: ``feed`` maps input names to (N, ...) arrays (a bare array for a one-input model)."""
        self._require_active("infer")
        return self.infer_impl(self.check_feed(feed))

    def check_feed(self, feed: Feed) -> dict[str, np.ndarray]:
        """``feed`` as a dict of C-contiguous arrays, checked against the input metadata (names, rank, dtype, sizes)."""
        if isinstance(feed, np.ndarray):
            if len(self._inputs) != 1:
                raise fail(ModelError, f"{self.name} has {len(self._inputs)} inputs ({', '.join(self._inputs)}), "
                           "got one bare array", "pass a dict of input name -> array")
            feed = {next(iter(self._inputs)): feed}
        if not isinstance(feed, dict):
            raise fail(ModelError, f"{self.name}: feed must be a numpy array or a dict, not {type(feed).__name__}",
                       "pass a dict of input name -> array")
        missing = [n for n in self._inputs if n not in feed]
        extra = [n for n in feed if n not in self._inputs]
        if missing or extra:
            raise fail(ModelError, f"{self.name}: feed names {sorted(feed)} do not match the inputs "
                       f"{list(self._inputs)}", "pass exactly the model's inputs")
        checked: dict[str, np.ndarray] = {}
        batch: int | None = None
        for name, meta in self._inputs.items():
            x = feed[name]
            if not isinstance(x, np.ndarray):
                raise fail(ModelError, f"{self.name}: input {name!r} is a {type(x).__name__}, not a numpy array",
                           "pass numpy arrays")
            if x.dtype != meta.dtype:
                raise fail(ModelError, f"{self.name}: input {name!r} is {x.dtype}, the model expects "
                           f"{np.dtype(meta.dtype).name}", f"cast it with .astype(np.{np.dtype(meta.dtype).name})")
            self._check_shape(meta, x.shape)
            if x.ndim and is_dynamic(meta.shape[0]):
                if batch is not None and x.shape[0] != batch:
                    raise fail(ModelError, f"{self.name}: inputs disagree on the batch size ({batch} vs {x.shape[0]})",
                               "feed every input with the same number of samples")
                batch = int(x.shape[0])
            checked[name] = np.ascontiguousarray(x)
        return checked

    # ---- backend hooks --------------------------------------------------------------------------
    @abstractmethod
    def activate_impl(self) -> None:
        """Create the session / context; set ``self.backend`` (and ``self.max_batch`` when bounded)."""

    @abstractmethod
    def input_metadata_impl(self) -> list[TensorMeta]:
        """The inputs, in model order (called once, right after ``activate_impl``)."""

    @abstractmethod
    def output_metadata_impl(self) -> list[TensorMeta]:
        """The outputs, in model order (called once, right after ``activate_impl``)."""

    def model_metadata_impl(self) -> dict[str, str]:
        """The model's custom key/value metadata (called once, right after ``activate_impl``); none by default."""
        return {}

    @abstractmethod
    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run a checked feed; return every output as a host numpy array."""

    @abstractmethod
    def deactivate_impl(self) -> None:
        """Release what ``activate_impl`` created."""

    # ---- helpers --------------------------------------------------------------------------------
    def _require_active(self, what: str) -> None:
        if not self.is_active:
            raise fail(ModelError, f"{self.name}.{what}() called before activate()",
                       "use the runner as a context manager (with runner: ...) or call activate() first")

    def _check_shape(self, meta: TensorMeta, shape: tuple[int, ...]) -> None:
        want = "(" + ", ".join(str(d) for d in meta.shape) + ")"
        if len(shape) != len(meta.shape):
            raise fail(ModelError, f"{self.name}: input {meta.name!r} has shape {shape}, the model expects {want}",
                       "reshape the input to the model's input contract")
        for axis, (got, dim) in enumerate(zip(shape, meta.shape, strict=True)):
            if not is_dynamic(dim) and got != dim:
                raise fail(ModelError, f"{self.name}: input {meta.name!r} has shape {shape}, the model expects {want}",
                           "reshape the input to the model's input contract")
            if axis == 0 and is_dynamic(dim) and got < 1:
                raise fail(ModelError, f"{self.name}: input {meta.name!r} has an empty batch", "feed at least one sample")
        if self.max_batch is not None and shape and is_dynamic(meta.shape[0]) and shape[0] > self.max_batch:
            raise fail(ModelError, f"{self.name}: batch {shape[0]} exceeds this backend's maximum of {self.max_batch}",
                       f"split the batch into chunks of at most {self.max_batch} or rebuild the engine with a "
                       "larger --max-batch")
