"""realtime-mer: real-time micro-expression spotting and recognition.

The Python API (``realtime_mer.app.api``) is re-exported here and imported on first use, so ``import realtime_mer``
stays cheap: ``realtime_mer.analyse(path)``, ``realtime_mer.stream(source)``, the ``Event`` record, the typed
configuration (``PipelineConfig`` and its parts) and ``read_events``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "analyse": "realtime_mer.app.api",
    "stream": "realtime_mer.app.api",
    "Analysis": "realtime_mer.app.api",
    "EventStream": "realtime_mer.app.api",
    "events_dataframe": "realtime_mer.app.api",
    "Event": "realtime_mer.types",
    "PipelineConfig": "realtime_mer.config",
    "SourceConfig": "realtime_mer.config",
    "FaceConfig": "realtime_mer.config",
    "SpotConfig": "realtime_mer.config",
    "ModelConfig": "realtime_mer.config",
    "OutputConfig": "realtime_mer.config",
    "read_events": "realtime_mer.events",
    "read_sidecar": "realtime_mer.events",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    # PEP 562: the API's modules load on first use (importlib, so the package's import graph keeps its layers)
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'realtime_mer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
