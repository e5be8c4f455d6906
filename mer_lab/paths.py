"""Where the lab finds things: the repository checkout and the shared data beside it."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA_ENV = "REALTIME_MER_SHARED_DATA"
ASSETS = Path(__file__).resolve().parent / "assets"
# Initial weights a recipe's ``init`` may name instead of giving a path (files shipped with the lab, mer_lab/assets).
# synthetic-flow: one ApexFlowNet (3 classes) pretrained on synthetic onset->apex flows of real non-MEGC faces only
# (tools/pretrain_apexflow.py; docs/lab/recognition-results.md); the apexflow recipe's default initialisation.
BUNDLED_INITS: dict[str, Path] = {"synthetic-flow": ASSETS / "apexflow_synthetic_flow.safetensors"}


def shared_data(*parts: str) -> Path:
    """``$REALTIME_MER_SHARED_DATA/<parts>``, else ``<repo>/../shared/data/<parts>`` (it may not exist)."""
    env = os.environ.get(SHARED_DATA_ENV)
    base = Path(env) if env else REPO.parent / "shared" / "data"
    return base.joinpath(*parts)
