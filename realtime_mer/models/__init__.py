"""Model registry: each recognition model registers a factory and declares its input contract.

    @register("apexflow")
    class ApexFlowNet(nn.Module):
        contract = InputContract(...)

``create_model(name, **kw)`` builds a model, ``input_contract(name)`` says what it eats (so the
pipeline, the exporter and the checkpoints agree), ``available_models()`` lists the names. A new
model is a new module here that uses ``@register`` and is imported at the bottom of this file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from torch import nn

from realtime_mer.errors import ModelError, fail
from realtime_mer.types import CLASSES


@dataclass(frozen=True)
class InputContract:
    """What one sample fed to a model looks like, and how it is made from the video."""

    shape: tuple[int, ...]  # per sample, without the batch axis, e.g. (3, 28, 28)
    dtype: str = "float32"
    value_range: tuple[float, float] = (0.0, 1.0)
    layout: str = "NCHW"
    channels: tuple[str, ...] = ()
    sampling: str = ""  # which frames of a spotted interval are used, and how they become the input
    classes: tuple[str, ...] = CLASSES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputContract:
        """Inverse of ``to_dict``."""
        return cls(
            shape=tuple(int(s) for s in d["shape"]),
            dtype=str(d.get("dtype", "float32")),
            value_range=(float(d["value_range"][0]), float(d["value_range"][1])),
            layout=str(d.get("layout", "NCHW")),
            channels=tuple(d.get("channels", ())),
            sampling=str(d.get("sampling", "")),
            classes=tuple(d.get("classes", CLASSES)),
        )


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., nn.Module]
    contract: InputContract


_REGISTRY: dict[str, _Entry] = {}
M = TypeVar("M", bound=type[nn.Module])


def register(name: str) -> Callable[[M], M]:
    """Class decorator: register an ``nn.Module`` subclass with a class attribute ``contract: InputContract``."""

    def deco(cls: M) -> M:
        contract = getattr(cls, "contract", None)
        if not isinstance(contract, InputContract):
            raise TypeError(f"model {name!r}: {cls.__name__}.contract must be an InputContract")
        if name in _REGISTRY and _REGISTRY[name].factory is not cls:
            raise ValueError(f"model name {name!r} is already registered")
        _REGISTRY[name] = _Entry(cls, contract)
        return cls

    return deco


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise fail(ModelError, f"unknown model {name!r}", f"use one of: {', '.join(available_models())}")
    return _REGISTRY[name]


def available_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def create_model(name: str, **kw: Any) -> nn.Module:
    """A new, randomly initialised model ``name`` (``kw`` go to its constructor)."""
    return _entry(name).factory(**kw)


def input_contract(name: str) -> InputContract:
    """The input contract of model ``name``."""
    return _entry(name).contract


from realtime_mer.models import apexflow as _apexflow  # noqa: E402, F401  (registers "apexflow")
from realtime_mer.models import c3d as _c3d  # noqa: E402, F401  (registers "c3d")
from realtime_mer.models import convlstm as _convlstm  # noqa: E402, F401  (registers "convlstm")
from realtime_mer.models import learnet as _learnet  # noqa: E402, F401  (registers "learnet")
from realtime_mer.models import tcgru as _tcgru  # noqa: E402, F401  (registers "tcgru")
from realtime_mer.models import twostream3d as _twostream3d  # noqa: E402, F401  (registers "twostream3d")

__all__ = ["InputContract", "available_models", "create_model", "input_contract", "register"]
