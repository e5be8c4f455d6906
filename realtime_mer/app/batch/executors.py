"""Where batch inputs run: a local process pool (default) or Ray tasks on an existing cluster (``--ray ADDRESS``).

Both take work one input at a time and report finished inputs; the batch keeps at most ``slots`` inputs in
flight and submits the next as one finishes (Ray's "limit pending tasks with ray.wait" pattern), so a stop
submits nothing more. Ray does the placement, retries and data movement; nothing here schedules.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from realtime_mer.app.batch.inputs import BatchInput
from realtime_mer.app.batch.work import BatchSettings, run_input
from realtime_mer.errors import MerError, fail

CLUSTER_EXTRA = "pip install 'realtime-mer[cluster]' (Ray)"


class Executor(Protocol):
    slots: int
    name: str

    def submit(self, item: BatchInput, out: str, settings: BatchSettings) -> Any: ...

    def wait(self, handles: list[Any], timeout: float) -> list[Any]: ...

    def result(self, handle: Any) -> dict[str, Any]: ...

    def terminate(self, handles: list[Any]) -> None: ...

    def close(self) -> None: ...


def _worker_init() -> None:
    # Ctrl-C goes to the whole process group: the batch decides (finish what runs, or terminate), not each worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalExecutor:
    """A pool of ``jobs`` fresh (spawned) processes on this machine (``concurrent.futures``). A worker that dies
    (a crash in native code, the OOM killer) fails the inputs under way and the pool is started again for the rest."""

    name = "local"

    def __init__(self, jobs: int, fn: Callable[..., dict[str, Any]] = run_input) -> None:
        self.slots = jobs
        self._fn = fn
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.slots, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init)

    def submit(self, item: BatchInput, out: str, settings: BatchSettings) -> Any:
        try:
            return self._pool.submit(self._fn, item, out, settings)
        except BrokenProcessPool:  # a worker died earlier: its inputs failed; a new pool runs the rest
            self._pool.shutdown(wait=False)
            self._pool = self._new_pool()
            return self._pool.submit(self._fn, item, out, settings)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        done, _ = futures.wait(handles, timeout=timeout, return_when=futures.FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Any) -> dict[str, Any]:
        return handle.result()

    def terminate(self, handles: list[Any]) -> None:
        for proc in multiprocessing.active_children():  # the pool's workers (the only children of a batch)
            proc.terminate()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class RayExecutor:
    """Ray tasks on the cluster at ``address`` (``ray.init(address=...)``; ``local`` starts one on this machine).
    The workers need realtime-mer installed and the inputs and ``--out`` at the same paths (a shared file system)."""

    name = "ray"

    def __init__(self, address: str, jobs: int | None) -> None:
        try:
            import ray
        except ImportError:
            raise fail(MerError, "--ray needs Ray, which is not installed", CLUSTER_EXTRA) from None
        self._ray = ray
        kw: dict[str, Any] = {"include_dashboard": False} if address == "local" else {}
        try:
            ray.init(address=address, log_to_driver=False, **kw)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise fail(MerError, f"cannot connect to the Ray cluster at {address}: {' '.join(str(exc).split())[:300]}",
                       "start it (ray start --head) and pass its address, e.g. --ray auto or --ray HOST:6379") from None
        self.address = address
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = jobs or max(1, cpus)
        self._task = ray.remote(num_cpus=1, max_retries=1)(run_input)

    def submit(self, item: BatchInput, out: str, settings: BatchSettings) -> Any:
        return self._task.remote(item, out, settings)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        ready, _ = self._ray.wait(handles, num_returns=1, timeout=timeout)
        return ready

    def result(self, handle: Any) -> dict[str, Any]:
        return self._ray.get(handle)

    def terminate(self, handles: list[Any]) -> None:
        for h in handles:
            self._ray.cancel(h, force=True)

    def close(self) -> None:
        self._ray.shutdown()


__all__ = ["CLUSTER_EXTRA", "Executor", "LocalExecutor", "RayExecutor"]
