"""The spotter in its own process, reading the ring buffer from shared memory (issue 24 §1).

A spotter's per-frame work is a few hundred small numpy operations with the GIL held; on the face
thread's process it competes with the face stage for the one interpreter lock. Here it runs in a
child process that attaches to the ring buffer's shared-memory block (``RingBuffer(shared=True)``):
the parent sends sequence numbers in batches over a pipe, the child answers with one ``SpotStep``
per frame, in order. Nothing but sequence numbers and results crosses the pipe (a crop is never copied).

One spotter per lane: with ``--max-faces N`` each face slot has its own ring buffer and spotter, all in this one
process. Protocol (parent -> child): ``("frames", [[(lane, seq), ...], ...])`` (one list per frame; ``seq`` -1: that
lane's face was lost, its spotter resets once, as ``SpotDriver.face_lost``), ``("warm", lane, [seq, ...])``
(``SpotDriver.warm_start``), ``("end",)`` (flush and exit). Child -> parent: ``("steps", [[SpotStep, ...], ...])``
(per frame, per lane item), ``("flushed", [(lane, [Interval, ...]), ...], cpu_s)``, ``("error", exception)``.

Faults: the child ignores SIGINT (Ctrl-C reaches the whole process group; the parent stops it by
sending ``end``, so every frame already sent is still spotted and flushed); a child that dies
(killed, out of memory) is seen by the parent as the pipe closing, and ``recv`` raises
``SpotterProcessError`` in one line with its exit status. A child whose parent dies sees the pipe
close and exits.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from realtime_mer.buffer import RingBuffer
from realtime_mer.errors import EXIT_INCOMPLETE, MerError, fail
from realtime_mer.spotting.driver import SpotDriver, SpotStep, Stepper
from realtime_mer.types import Interval

BATCH = 32  # at most this many frames per message (the parent sends what is queued, up to this)
START_TIMEOUT_S = 60.0  # the child's first answer (imports, attach) within this


class SpotterProcessError(MerError):
    """The spotting process ended without being asked to (killed, out of memory, crashed): the run stops early with
    what was decided saved, as when a camera is lost (exit status 3)."""

    exit_code = EXIT_INCOMPLETE


def _context() -> mp.context.SpawnContext | mp.context.ForkServerContext:
    """forkserver where there is one (Linux: a fresh, single-threaded server forks each child, with the spotting
    package already imported, so a child starts in milliseconds and never inherits the parent's threads);
    spawn elsewhere (macOS, Windows)."""
    if sys.platform.startswith("linux"):
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["numpy", "cv2", "realtime_mer.spotting", "realtime_mer.spotting.process"])
        return ctx
    return mp.get_context("spawn")


def serve(conn: Connection, lanes: list[tuple[str, int, int, int]], spotters: list[Stepper[Any]]) -> None:
    """The child's loop (module level, so it can be started by forkserver / spawn): one spotter per lane, each on its
    own ring buffer (``lanes``: each buffer's shared name, capacity, crop size, landmark count)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - cv2 is a dependency
        pass
    buffers = [RingBuffer.attach(*lane) for lane in lanes]
    drivers: list[SpotDriver[list[Interval]]] = [SpotDriver(sp, b) for sp, b in zip(spotters, buffers, strict=True)]  # type: ignore[arg-type]
    try:
        conn.send(("ready",))
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):  # the parent is gone
                return
            kind = msg[0]
            if kind == "frames":
                steps: list[list[SpotStep]] = []
                try:
                    for frame in msg[1]:
                        steps.append([drivers[lane].step(seq) for lane, seq in frame])
                finally:  # on a failure, what was decided before it still reaches the parent (then the error)
                    conn.send(("steps", steps))
            elif kind == "warm":
                drivers[msg[1]].warm_start(msg[2])
            elif kind == "end":
                flushed = [(lane, d.flush()) for lane, d in enumerate(drivers)]
                conn.send(("flushed", flushed, time.process_time()))  # with this process's CPU time
                return
    except BaseException as exc:  # a spotter failure: the parent raises it, like the in-thread spotter's
        try:
            try:
                conn.send(("error", exc))
            except (BrokenPipeError, ConnectionResetError, EOFError):
                raise
            except Exception:  # not picklable: its one line
                conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            pass  # the parent is gone (it closed the pipe): nobody to tell
    finally:
        for b in buffers:
            b.close()
        conn.close()


class SpotProcess:
    """The parent's handle: ``start``, ``send_frames`` / ``send_warm`` / ``send_end``, ``recv``, ``close``.

    One spotter per lane (``--max-faces``: one lane per face slot), each on its own shared ring buffer. One thread
    sends and one receives (a ``Connection`` is safe for one sender and one receiver)."""

    def __init__(self, spotters: Stepper[Any] | Sequence[Stepper[Any]], buffers: RingBuffer | Sequence[RingBuffer]) -> None:
        spotters = list(spotters) if isinstance(spotters, (list, tuple)) else [spotters]  # type: ignore[list-item]
        buffers = list(buffers) if isinstance(buffers, (list, tuple)) else [buffers]  # type: ignore[list-item]
        if len(spotters) != len(buffers):
            raise ValueError(f"{len(spotters)} spotters for {len(buffers)} ring buffers")
        lanes = []
        for b in buffers:
            if b.shared_name is None:
                raise ValueError("the spotting process needs a shared ring buffer: RingBuffer(..., shared=True)")
            lanes.append((b.shared_name, b.capacity, b.crop_size, b.n_landmarks))
        ctx = _context()
        self._conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=serve, name="realtime-mer-spotting", daemon=True, args=(child, lanes, spotters))
        self._child = child
        self._started = False
        # one thread at a time waits for the child: two concurrent joins race on forkserver's status pipe, and the
        # loser reads end-of-file and records exit status 255 over the real one (the receiver's error line vs close())
        self._joining = threading.Lock()

    def start(self) -> None:
        self.proc.start()
        self._child.close()  # the parent keeps only its end: the child's exit closes the pipe
        self._started = True

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """The child's first answer (it has imported, attached and is waiting for frames)."""
        if not self._conn.poll(timeout):
            raise self._died(f"did not start within {timeout:g} s")
        msg = self.recv()
        if msg[0] != "ready":
            raise self._died(f"answered {msg[0]!r} before it was ready")

    def send_frames(self, frames: list[list[tuple[int, int]]]) -> None:
        """Frames to spot, each a list of ``(lane, seq)`` (``seq`` -1: that lane's face was lost)."""
        self._send(("frames", frames))

    def send_warm(self, lane: int, seqs: list[int]) -> None:
        self._send(("warm", lane, seqs))

    def send_end(self) -> None:
        self._send(("end",))

    def _send(self, msg: tuple[Any, ...]) -> None:
        try:
            self._conn.send(msg)
        except (BrokenPipeError, ConnectionResetError, OSError):
            raise self._died("stopped reading") from None

    def recv(self) -> tuple[Any, ...]:
        """The child's next message; an ``error`` message is raised as the spotter's exception."""
        try:
            msg = self._conn.recv()
        except (EOFError, ConnectionResetError, OSError):
            raise self._died("ended") from None
        if msg[0] == "error":
            raise msg[1]
        return msg  # type: ignore[no-any-return]

    def _died(self, what: str) -> SpotterProcessError:
        with self._joining:
            self.proc.join(5.0)  # its pipe is closed, so it has ended or is ending: wait for its status (forkserver relays it)
            code = self.proc.exitcode
        how = "" if code is None else (f" (killed by signal {-code})" if code < 0 else f" (exit status {code})")
        return fail(SpotterProcessError, f"the spotting process {what} unexpectedly{how}; the events decided before it "  # type: ignore[return-value]
                    "are saved", "run again; if it keeps happening, check free memory, or run the spotter in-process "
                    "with spot_process = false in a --config file")

    def close(self, timeout: float = 5.0) -> None:
        """Wait for the child to exit (it does after ``end`` or when the pipe closes); terminate it if it does not."""
        if not self._started:
            return
        self._conn.close()
        with self._joining:
            self.proc.join(timeout)
            if self.proc.is_alive():
                self.proc.terminate()
                self.proc.join(timeout)


__all__ = ["BATCH", "SpotProcess", "SpotStep", "SpotterProcessError", "serve"]
