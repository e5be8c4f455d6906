"""``--lsl``: Lab Streaming Layer outlets, an adapter over ``Event`` and the per-frame spotting values.

Two streams (names, types and source ids are documented in the README):

- ``realtime-mer-events``, type ``Markers``: one string channel, irregular rate; one sample per event,
  the event as JSON (the event log's fields), stamped with the **onset's** time in LSL's clock. It is
  pushed when the event is decided (after its offset and classification), so its time stamp lies in
  the past; LSL carries the stamp, and recorders such as LabRecorder store it.
- ``realtime-mer-signal``, type ``MERSignal``: two float32 channels (``signal``, ``threshold``, in the
  spotter's noise units; NaN on frames without a face), nominal rate = the source's frame rate, one
  sample per processed frame stamped with that frame's time in LSL's clock.

Clock: a frame's LSL time is the LSL time at which the run's first frame was grabbed plus the frame's
stream time (``timestamp_s`` / the events' ``*_s``). For a camera this is its capture time; for a file
it is where the frame would fall had the file been played from the start of the run. LSL's
``local_clock`` and Python's ``time.monotonic`` (the grab clock) are related once, at start.

pylsl is optional (``pip install 'realtime-mer[lsl]'``); without it ``--lsl`` is a one-line error.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realtime_mer.errors import MerError, fail
from realtime_mer.types import EVENT_FIELDS, Event

MARKER_NAME, MARKER_TYPE = "realtime-mer-events", "Markers"
SIGNAL_NAME, SIGNAL_TYPE = "realtime-mer-signal", "MERSignal"
SIGNAL_CHANNELS = ("signal", "threshold")
_LSL_CONFIGS = ("lsl_api.cfg", "~/lsl_api/lsl_api.cfg", "/etc/lsl_api/lsl_api.cfg")  # liblsl's own search order


def import_pylsl() -> Any:
    """pylsl, or a one-line error naming the extra. liblsl's start-up log lines are kept off stderr unless the
    user has an LSL configuration of their own (which then decides, network settings included)."""
    try:
        import pylsl
    except (ImportError, RuntimeError, OSError) as e:  # pylsl missing, or its liblsl not found
        raise fail(MerError, f"--lsl needs pylsl, which cannot be imported ({str(e).splitlines()[0] if str(e) else type(e).__name__})",
                   "pip install 'realtime-mer[lsl]'") from None
    if "LSLAPICFG" not in os.environ and not any(Path(p).expanduser().is_file() for p in _LSL_CONFIGS):
        try:
            pylsl.set_config_content("[log]\nlevel = -2\n")  # errors only; takes effect before liblsl's first use
        except (NotImplementedError, AttributeError):  # liblsl < 1.17.7: its INFO lines stay
            pass
    return pylsl


def source_id(source_name: str, stream: str) -> str:
    """Stable per machine, source and stream, so an inlet re-finds the stream after a restart."""
    return f"realtime-mer@{socket.gethostname()}:{source_name}:{stream}"


class LslOutlets:
    """The two outlets. ``write(event)`` is an ``EventSink``; ``row(...)`` takes the per-frame values
    (``events.frames.FrameSink``). ``origin()`` gives the first frame's grab time (``time.monotonic_ns``), None before it."""

    def __init__(self, source_name: str, fps: float, origin: Callable[[], int | None]) -> None:
        lsl = import_pylsl()
        self._lsl = lsl
        self.origin = origin
        self.source_name = source_name
        self._offset = lsl.local_clock() - time.monotonic()  # LSL clock minus the grab clock
        m = lsl.StreamInfo(MARKER_NAME, MARKER_TYPE, 1, lsl.IRREGULAR_RATE, lsl.cf_string, source_id(source_name, "events"))
        d = m.desc()
        d.append_child_value("source", source_name)
        d.append_child_value("format", "one JSON object per event: " + ",".join(EVENT_FIELDS))
        d.append_child_value("timestamp", "event onset")
        s = lsl.StreamInfo(SIGNAL_NAME, SIGNAL_TYPE, len(SIGNAL_CHANNELS), float(fps), lsl.cf_float32,
                           source_id(source_name, "signal"))
        ch = s.desc().append_child("channels")
        for label in SIGNAL_CHANNELS:
            c = ch.append_child("channel")
            c.append_child_value("label", label)
            c.append_child_value("unit", "noise units")
            c.append_child_value("type", "MERSignal")
        s.desc().append_child_value("source", source_name)
        self.marker_info, self.signal_info = m, s
        self._markers: Any = lsl.StreamOutlet(m)
        self._signal: Any = lsl.StreamOutlet(s, chunk_size=1)

    def lsl_time(self, stream_s: float) -> float:
        """A stream time (seconds since the first frame) in LSL's clock."""
        o = self.origin()
        base = o / 1e9 if o is not None else time.monotonic() - stream_s
        return base + stream_s + self._offset

    def write(self, event: Event) -> None:
        if self._markers is not None:
            self._markers.push_sample([json.dumps(event.to_dict())], self.lsl_time(event.onset_s))

    def rows(self, frame: int, time_s: float, faces: Any) -> None:
        if self._signal is not None and faces:
            self._signal.push_sample([faces[0].signal, faces[0].threshold], self.lsl_time(time_s))

    def close(self) -> None:
        """Withdraw both streams (idempotent: it is both an event sink and a frame sink)."""
        self._markers = self._signal = None


__all__ = ["MARKER_NAME", "MARKER_TYPE", "SIGNAL_CHANNELS", "SIGNAL_NAME", "SIGNAL_TYPE", "LslOutlets", "import_pylsl", "source_id"]
