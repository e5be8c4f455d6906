"""Where the lab finds things: the repository checkout and the shared data beside it."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA_ENV = "REALTIME_MER_SHARED_DATA"


def shared_data(*parts: str) -> Path:
    """``$REALTIME_MER_SHARED_DATA/<parts>``, else ``<repo>/../shared/data/<parts>`` (it may not exist)."""
    env = os.environ.get(SHARED_DATA_ENV)
    base = Path(env) if env else REPO.parent / "shared" / "data"
    return base.joinpath(*parts)
