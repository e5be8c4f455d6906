"""Shared fixtures: where ``../shared/data`` is, and skips when it is absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mer_lab.paths import shared_data as _shared_data

REPO = Path(__file__).resolve().parents[1]

# the exported-model and TensorRT-fake fixtures of the runner, engine, export and benchmark tests
pytest_plugins = ["tests.helpers.runner_fixtures"]


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for a module's tests (the machine is shared; small convs are faster single-threaded), restored
    afterwards. Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``$REALTIME_MER_SHARED_DATA`` or ``<repo>/../shared/data`` (``mer_lab.paths.shared_data``); skips when absent."""
    d = _shared_data()
    if not d.is_dir():
        pytest.skip(f"shared data not found at {d} (set REALTIME_MER_SHARED_DATA to run this test)")
    return d


@pytest.fixture(scope="session")
def real_faces(shared_data: Path) -> Path:
    d = shared_data / "real_faces"
    if not d.is_dir():
        pytest.skip(f"{d} not found: the real face videos are needed for this test")
    return d


@pytest.fixture(scope="session")
def multiface_sources(shared_data: Path) -> list[Path]:
    """The real face videos ``mer_lab.synthetic.multiface`` composites by default; skips when one is absent."""
    from mer_lab.synthetic.multiface import DEFAULT_SOURCES

    paths = [shared_data.joinpath(*s.split("/")) for s in DEFAULT_SOURCES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"face videos not found: {', '.join(missing)} (the shared data's real_faces, real_faces_listen, "
                    "real_faces_more)")
    return paths


@pytest.fixture(scope="session")
def megc_flow(shared_data: Path) -> Path:
    d = shared_data / "megc2019_composite_flow"
    if not (d / "labels.csv").is_file():
        pytest.skip(f"{d}/labels.csv not found: the MEGC 2019 composite flow features are needed for this test")
    return d
