"""Model registry: each recognition model registers a factory and declares its input contract.

    @register("apexflow")
    class ApexFlowNet(nn.Module):
        contract = InputContract(...)

``create_model(name, **kw)`` builds a model, ``input_contract(name)`` says what it eats (so the
pipeline, the exporter and the checkpoints agree), ``available_models()`` lists the names. A new
model is a new module in ``mer_lab.models`` that uses ``@register`` and is imported by the package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from realtime_mer.errors import ModelError, fail
from realtime_mer.recognition.contracts import InputContract


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
