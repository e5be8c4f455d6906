"""Online spotting: find onset / apex / offset of facial movements in the stream of aligned faces.

``make_spotter(name, fps, cfg)`` builds one of ``SPOTTERS`` (a name -> class registry; new
spotters register with ``register``). All of them implement ``Spotter`` (see ``base``).
"""

from __future__ import annotations

from realtime_mer.config import SpotConfig
from realtime_mer.errors import fail
from realtime_mer.spotting.base import Spotter, SpotterError
from realtime_mer.spotting.gru import GruSpotter
from realtime_mer.spotting.hybrid import HybridSpotter
from realtime_mer.spotting.lagflow import LagFlowSpotter
from realtime_mer.spotting.lbp import LbpSpotter
from realtime_mer.spotting.roiflow import RoiFlowSpotter

_REGISTRY: dict[str, type[Spotter]] = {}


def register(cls: type[Spotter]) -> type[Spotter]:
    """Add a spotter class under its ``name`` (usable as a decorator)."""
    _REGISTRY[cls.name] = cls
    return cls


register(RoiFlowSpotter)
register(LbpSpotter)
register(GruSpotter)
register(LagFlowSpotter)
register(HybridSpotter)


def spotter_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


SPOTTERS: tuple[str, ...] = spotter_names()


def settings_tables(name: str) -> tuple[str, ...]:
    """The ``SpotConfig`` sub-tables a spotter reads: its own and those of the spotters it runs (``hybrid``)."""
    cls = _REGISTRY.get(name)
    return (name, *(cls.uses if cls is not None else ()))


def make_spotter(name: str, fps: float, cfg: SpotConfig | None = None) -> Spotter:
    """The spotter called ``name`` for a ``fps`` stream, configured by ``cfg``."""
    cls = _REGISTRY.get(name)
    if cls is None:
        raise fail(SpotterError, f"unknown spotter '{name}'", f"choose one of: {', '.join(_REGISTRY)}")
    return cls(fps, cfg or SpotConfig(name=name))


__all__ = ["SPOTTERS", "GruSpotter", "HybridSpotter", "LagFlowSpotter", "LbpSpotter", "RoiFlowSpotter", "Spotter", "SpotterError", "make_spotter", "register", "settings_tables", "spotter_names"]
