"""A preallocated ring buffer of aligned faces, shared by the producing and consuming threads (or processes).

Arrays are allocated once, in one block: ordinary memory, or (``shared=True``) a
``multiprocessing.shared_memory`` block that the spotting process attaches to by name
(``RingBuffer.attach``), so the spotter reads the crops the face thread wrote without a copy. ``push`` is O(1) and copies into the next slot; readers get
views (``crop``) or copy into caller-owned arrays (``window``), so no per-frame allocation
happens on either side. A lock guards the write position; the buffer is sized so that the
slots a reader is looking at are not overwritten while it still needs them (>= 3 s of
frames while spotting looks back at most a few hundred ms).
"""

from __future__ import annotations

import os
import threading
from multiprocessing import shared_memory
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from realtime_mer.errors import ConfigError, fail
from realtime_mer.types import Image, Points

MAX_RING_BYTES = 2 << 30  # the ring buffer never takes more than 2 GiB, nor more than a quarter of the RAM


def ring_budget_bytes() -> int:
    """The most memory a ring buffer may take: ``MAX_RING_BYTES`` or a quarter of the physical memory if less."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not every platform reports it
        return MAX_RING_BYTES
    return min(MAX_RING_BYTES, ram // 4) if ram > 0 else MAX_RING_BYTES


def slot_bytes(crop_size: int, n_landmarks: int = 468) -> int:
    """Bytes one ring-buffer entry takes: crop, landmarks, timestamp and frame index."""
    return crop_size * crop_size + n_landmarks * 2 * 4 + 16


class RingBuffer:
    """Fixed-capacity FIFO of (crop, landmarks, timestamp_ns, frame_index).

    Entries are addressed by a monotonically increasing sequence number ``seq``
    (0, 1, 2, ... in push order); ``seq`` stays valid until ``capacity`` newer pushes.
    """

    def __init__(self, capacity: int, crop_size: int = 128, n_landmarks: int = 468, shared: bool = False,
                 _attach: str | None = None) -> None:
        if capacity < 2:
            raise ValueError("ring buffer capacity must be >= 2")
        self.capacity = int(capacity)
        self.crop_size = int(crop_size)
        self.n_landmarks = int(n_landmarks)
        parts, size = _layout(self.capacity, self.crop_size, self.n_landmarks)
        self.shm: shared_memory.SharedMemory | None = None
        block: memoryview | bytearray
        if _attach is not None:  # another process's block: forkserver / spawn children share the creator's resource
            self.shm = shared_memory.SharedMemory(name=_attach)  # tracker, so the creator's unlink is the one that frees it
        elif shared:
            self.shm = shared_memory.SharedMemory(create=True, size=size)
        if self.shm is not None:
            assert self.shm.buf is not None
            block = self.shm.buf
        else:
            block = bytearray(size)
        a: dict[str, NDArray[Any]] = {name: np.ndarray(shape, dtype, block, offset) for name, (shape, dtype, offset) in parts.items()}
        self.crops: Image = a["crops"]
        self.landmarks: NDArray[np.float32] = a["landmarks"]
        self.pictures: NDArray[np.float32] = a["pictures"]
        self.timestamps_ns: NDArray[np.int64] = a["timestamps_ns"]
        self.frame_indices: NDArray[np.int64] = a["frame_indices"]
        self._head: NDArray[np.int64] = a["head"]
        if _attach is None:  # the creator initialises; an attached view sees what the creator wrote
            self.frame_indices[:] = -1
            self.pictures[:] = (0, 0, crop_size, crop_size)  # the picture's box in each crop
            self._head[0] = 0  # seq of the next push
        self._lock = threading.Lock()

    @property
    def shared_name(self) -> str | None:
        """The shared-memory block's name (``attach`` it from another process), or None for an ordinary buffer."""
        return None if self.shm is None else self.shm.name

    @classmethod
    def attach(cls, name: str, capacity: int, crop_size: int, n_landmarks: int = 468) -> RingBuffer:
        """A view, in another process, of the shared buffer ``name`` created with these sizes (read it; never push)."""
        return cls(capacity, crop_size, n_landmarks, _attach=name)

    def close(self, unlink: bool = False) -> None:
        """Release a shared block (``unlink``: the creator frees it for good). Nothing for an ordinary buffer.
        The arrays must not be used afterwards."""
        if self.shm is None:
            return
        shm, self.shm = self.shm, None
        for name in ("crops", "landmarks", "pictures", "timestamps_ns", "frame_indices", "_head"):
            setattr(self, name, np.zeros(0, getattr(self, name).dtype))  # views of the block must go before it can close
        try:
            shm.close()
        except BufferError:  # a view is still held somewhere (e.g. a crop being classified): the OS frees it at exit
            pass
        if unlink:
            try:
                shm.unlink()
            except FileNotFoundError:
                pass

    @property
    def _next(self) -> int:
        return int(self._head[0])

    @classmethod
    def for_seconds(cls, seconds: float, fps: float, crop_size: int = 128, n_landmarks: int = 468,
                    shared: bool = False) -> RingBuffer:
        """A buffer holding at least ``seconds`` of frames at ``fps``; refused in one line (``ConfigError``) when that
        would take more than ``ring_budget_bytes()`` (a huge or infinite rate), so memory, not a number, bounds it."""
        need = seconds * fps
        budget = ring_budget_bytes()
        per = slot_bytes(crop_size, n_landmarks)
        if not np.isfinite(need) or need < 0 or (need + 1) * per > budget:
            raise fail(ConfigError, f"{seconds:g} s of frames at {fps:g} fps with {crop_size}x{crop_size} crops would take "
                       f"{(need + 1) * per / 2**30:.3g} GiB of ring buffer, more than the {budget / 2**30:.3g} GiB allowed",
                       "lower --fps (or the stream's rate) or --crop-size")
        return cls(max(2, int(np.ceil(need)) + 1), crop_size, n_landmarks, shared=shared)

    def __len__(self) -> int:
        return min(self._next, self.capacity)

    @property
    def latest_seq(self) -> int:
        """Sequence number of the newest entry (-1 when empty)."""
        return self._next - 1

    @property
    def oldest_seq(self) -> int:
        return max(0, self._next - self.capacity)

    def push(self, crop: Image, landmarks: Points | None, timestamp_ns: int, frame_index: int,
             picture: Points | None = None) -> int:
        """Copy one entry into the next slot; returns its ``seq``. ``picture``: the box (x0, y0, x1, y1) of the crop
        that shows the camera's picture (``face.geometry.picture_box``; None: all of it)."""
        with self._lock:
            seq = self._next
            i = seq % self.capacity
            self.crops[i] = crop
            self.pictures[i] = (0, 0, self.crop_size, self.crop_size) if picture is None else picture
            if landmarks is not None:
                self.landmarks[i] = landmarks
            self.timestamps_ns[i] = timestamp_ns
            self.frame_indices[i] = frame_index
            self._head[0] = seq + 1  # last: a reader that sees the new head sees the whole entry
            return seq

    def _slot(self, seq: int) -> int:
        if seq < self.oldest_seq or seq > self.latest_seq:
            raise IndexError(f"seq {seq} not in buffer [{self.oldest_seq}, {self.latest_seq}]")
        return seq % self.capacity

    def has(self, seq: int) -> bool:
        return self.oldest_seq <= seq <= self.latest_seq

    def crop(self, seq: int) -> Image:
        """A view of the crop at ``seq`` (valid until ``capacity`` more pushes)."""
        return cast(Image, self.crops[self._slot(seq)])

    def landmarks_at(self, seq: int) -> Points:
        return cast(Points, self.landmarks[self._slot(seq)])

    def picture_at(self, seq: int) -> Points:
        """The box (x0, y0, x1, y1) of the crop at ``seq`` that shows the camera's picture."""
        return cast(Points, self.pictures[self._slot(seq)])

    def frame_index(self, seq: int) -> int:
        return int(self.frame_indices[self._slot(seq)])

    def timestamp_ns(self, seq: int) -> int:
        return int(self.timestamps_ns[self._slot(seq)])

    def seq_of_frame(self, frame_index: int) -> int | None:
        """The ``seq`` holding source frame ``frame_index``, or None if it is not (or no longer) buffered."""
        with self._lock:
            lo, hi = self.oldest_seq, self.latest_seq
            if hi < lo:
                return None
            # frame indices increase with seq: binary search over seqs
            while lo <= hi:
                mid = (lo + hi) // 2
                f = self.frame_indices[mid % self.capacity]
                if f == frame_index:
                    return mid
                if f < frame_index:
                    lo = mid + 1
                else:
                    hi = mid - 1
            return None

    def window(self, start_seq: int, n: int, out: Image | None = None) -> Image:
        """Copy ``n`` crops starting at ``start_seq`` into ``out`` (allocated only if None)."""
        if out is None:
            out = np.empty((n, self.crop_size, self.crop_size), np.uint8)
        self._slot(start_seq)
        self._slot(start_seq + n - 1)
        i0 = start_seq % self.capacity
        first = min(n, self.capacity - i0)
        out[:first] = self.crops[i0 : i0 + first]
        if first < n:
            out[first:n] = self.crops[: n - first]
        return out


def _layout(capacity: int, crop_size: int, n_landmarks: int) -> tuple[dict[str, tuple[tuple[int, ...], type, int]], int]:
    """Each array of the block (shape, dtype, byte offset, 8-byte aligned) and the block's size in bytes."""
    shapes: dict[str, tuple[tuple[int, ...], type]] = {
        "timestamps_ns": ((capacity,), np.int64), "frame_indices": ((capacity,), np.int64), "head": ((1,), np.int64),
        "pictures": ((capacity, 4), np.float32), "landmarks": ((capacity, n_landmarks, 2), np.float32),
        "crops": ((capacity, crop_size, crop_size), np.uint8),
    }
    out, at = {}, 0
    for name, (shape, dt) in shapes.items():
        out[name] = (shape, dt, at)
        at += -(-int(np.prod(shape)) * np.dtype(dt).itemsize // 8) * 8
    return out, at
