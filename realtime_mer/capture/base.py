"""Source interface and the grabber thread that feeds frames to the pipeline.

Two policies (see vidgear's CamGear): live sources never block the grabber — a bounded
queue keeps the newest frames and every discarded frame is counted; files apply
backpressure and drop nothing, unless paced like a camera (``--realtime``).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from realtime_mer.errors import MerError, SourceError, SourceLost, fail
from realtime_mer.types import Frame

if TYPE_CHECKING:
    from realtime_mer.synth.truth import TruthRow


def quiet_opencv() -> None:
    """Silence OpenCV's and FFmpeg's own stderr lines (``[ WARN:...]``, ``moov atom not found``).

    A failed open must print only our one-line ``SourceError``. FFmpeg reads its level once, when
    the first FFmpeg capture is created, so this runs when the capture package is imported.
    A level the user set in the environment (to debug a camera) is respected.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.setLogLevel(0)  # LOG_LEVEL_SILENT; cv2.utils.logging is not exposed in the pip wheels


quiet_opencv()


class SkipFrame(Exception):
    """Raised by a source's ``read()`` for one unreadable frame (a corrupt image in a folder): the grabber counts it,
    keeps the frame's index (timing stays right) and reads on. ``str()`` says which frame and why."""


MAX_SKIP_WARNINGS = 3  # the first few skipped frames are named in the warnings; the rest only counted


def to_bgr(image: np.ndarray) -> np.ndarray:
    """3-channel BGR uint8 whatever a decoder or driver delivered (gray, BGRA)."""
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


class Source(ABC):
    """A stream of images. Subclasses fill in ``_open``, ``_read`` and ``_close``.

    Attributes set by ``open()``: ``fps`` (nominal rate of the stream: what a camera granted,
    a file's rate, the configured rate of a folder or the demo), ``width``/``height``,
    ``total_frames`` (None when unknown or live).
    """

    live: bool = False  # True for cameras: drop policy, monotonic timestamps
    name: str = "source"
    truth: Sequence[TruthRow] = ()  # movements known to be in the stream (the demo's injected ones; else none)

    def __init__(self) -> None:
        self.fps: float = 0.0
        self.fps_requested: float | None = None
        self.container_fps: float | None = None  # a file's own stated rate (``VideoSource``), kept beside ``fps``
        self.width = 0
        self.height = 0
        self.total_frames: int | None = None
        self.warnings: list[str] = []  # one-line notes for the user (e.g. fps granted < requested)
        self.stalls = 0  # live sources: times the stream stopped delivering for a while and came back
        self.stall_s = 0.0  # ... and the seconds without frames in all
        self._opened = False

    def open(self) -> None:
        """Open the source or raise ``SourceError`` with a one-line message."""
        if not self._opened:
            self._open()
            self._opened = True

    def read(self) -> np.ndarray | None:
        """The next image (HxWx3 BGR uint8), or None at the end of the stream."""
        return self._read()

    def close(self) -> None:
        if self._opened:
            self._opened = False
            self._close()

    def position_ns(self, index: int) -> int:
        """Stream time of frame ``index`` for non-live sources (index / fps)."""
        return round(index * 1e9 / self.fps) if self.fps > 0 else 0

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> np.ndarray | None: ...

    @abstractmethod
    def _close(self) -> None: ...


_END = object()


class Grabber:
    """Reads a ``Source`` on a daemon thread into a bounded queue.

    ``drop=True`` (live cameras, ``--realtime`` files): the grabber never waits; when the
    queue is full the oldest queued frame is discarded and counted in ``dropped``.
    ``drop=False`` (files): the grabber waits for room (backpressure), nothing is dropped.
    ``pace_fps`` makes a non-live source deliver frames no faster than that rate, like a camera.
    """

    def __init__(self, source: Source, *, drop: bool | None = None, maxsize: int = 64, pace_fps: float | None = None) -> None:
        if maxsize < 1:  # queue.Queue(0) is unbounded: drops would never happen and memory would grow
            raise ValueError(f"Grabber maxsize must be >= 1, got {maxsize}")
        self.source = source
        self.drop = source.live if drop is None else drop
        self.pace_fps = pace_fps
        self.queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self.captured = 0
        self.dropped = 0
        self.error: MerError | None = None
        self.ended_early = False
        self.skipped = 0  # unreadable frames skipped (SkipFrame); their indices stay unused
        self.skip_notes: list[str] = []  # the first MAX_SKIP_WARNINGS of them, for the warnings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0_ns: int | None = None
        self._close_on_exit = False  # set by stop() when the thread outlives the join timeout
        self._finished = False  # the thread has passed its last use of the source
        self._lock = threading.Lock()
        self.cpu_s = 0.0  # CPU time of the grabbing thread (decoding or rendering the frames), set when it ends

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Grabber:
        self.source.open()
        self._thread = threading.Thread(target=self._run, name=f"grab-{self.source.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish, join it and release the source.

        Afterwards ``get()`` returns None (never blocks). If the thread is stuck in a read past
        ``timeout`` the source is closed by the thread itself when the read returns, never
        concurrently with it.
        """
        self._stop.set()
        self._drain()  # unblock a producer waiting for room
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            self._close_on_exit = self._thread is not None and not self._finished
            close_here = not self._close_on_exit
        if close_here:
            self.source.close()
        # the drain may have swallowed the end marker: leave one for any later get()
        self._drain()
        try:
            self.queue.put_nowait(_END)
        except queue.Full:
            pass

    def _drain(self) -> None:
        try:
            while True:
                self.queue.get_nowait()
        except queue.Empty:
            pass

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def get(self, timeout: float | None = None) -> Frame | None:
        """Next frame; None at end of stream. Raises ``queue.Empty`` on timeout and the
        source's ``MerError`` if reading failed."""
        item = self.queue.get(timeout=timeout)
        if item is _END:
            try:
                self.queue.put_nowait(_END)  # stay at end for further calls
            except queue.Full:
                pass
            if self.error is not None:
                raise self.error
            return None
        return item

    def __iter__(self) -> Iterator[Frame]:
        while True:
            f = self.get()
            if f is None:
                return
            yield f

    # -- thread ----------------------------------------------------------------------------
    def _put(self, item: object) -> bool:
        if self.drop and item is not _END:
            while True:
                try:
                    self.queue.put_nowait(item)
                    return True
                except queue.Full:
                    try:
                        self.queue.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        src = self.source
        index = 0
        period_ns = int(1e9 / self.pace_fps) if self.pace_fps else 0
        try:
            while not self._stop.is_set():
                if period_ns:
                    if self._t0_ns is None:
                        self._t0_ns = time.monotonic_ns()
                    due = self._t0_ns + index * period_ns
                    wait = due - time.monotonic_ns()
                    if wait > 0 and self._stop.wait(wait / 1e9):
                        break  # stop() while pacing: do not wait out the period
                try:
                    image = src.read()
                except SkipFrame as skip:
                    self.skipped += 1
                    if len(self.skip_notes) < MAX_SKIP_WARNINGS:
                        self.skip_notes.append(str(skip))
                    index += 1  # the frame's slot in time stays empty, later frames keep their timing
                    continue
                except MerError:
                    raise
                except Exception as exc:  # a decoder failing mid-stream: what was read is still processed
                    raise fail(SourceLost, f"reading {src.name} failed at frame {index}: {' '.join(str(exc).split())}",
                               "check the file or device; the events so far are saved") from exc
                if image is None:
                    if src.total_frames and index < src.total_frames - 1 and not src.live:
                        self.ended_early = True
                    break
                now_ns = time.monotonic_ns()
                ts = now_ns if src.live else src.position_ns(index)
                frame = Frame(index=index, timestamp_ns=ts, wall_time=time.time(), image=image, grab_ns=now_ns)
                self.captured += 1
                index += 1
                if not self._put(frame):
                    break
        except MerError as err:
            self.error = err
        except Exception as exc:  # a bug past read() must not end the stream silently
            bug = fail(SourceError, f"grabbing from {src.name} failed at frame {index}: {type(exc).__name__}: {exc}", "report this bug with the command line")
            bug.__cause__ = exc
            self.error = bug
        finally:
            self.cpu_s = time.thread_time()  # this thread's CPU time: reading (decoding / rendering) and queueing
            self._put_end()
            with self._lock:
                self._finished = True
                close = self._close_on_exit
            if close:
                src.close()

    def _put_end(self) -> None:
        while True:
            try:
                self.queue.put(_END, timeout=0.05)
                return
            except queue.Full:
                if self._stop.is_set() or self.drop:
                    try:
                        self.queue.get_nowait()
                        if not self._stop.is_set():
                            self.dropped += 1  # keep captured == delivered + dropped
                    except queue.Empty:
                        pass
