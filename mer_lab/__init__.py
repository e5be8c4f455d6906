"""mer_lab: the research side of realtime-mer (datasets, PyTorch models, training, evaluation, benchmarks,
synthetic-set generation, export and INT8 calibration).

It imports the runtime (``realtime_mer``), never the reverse; install it with ``pip install -e ".[train]"``.
"""

from __future__ import annotations

__all__: list[str] = []
