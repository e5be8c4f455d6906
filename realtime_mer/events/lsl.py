"""``--lsl``: Lab Streaming Layer outlets, an adapter over ``Event`` and the per-frame spotting values.

Two streams (names, types and source ids are documented in the README):

- ``realtime-mer-events``, type ``Markers``: one string channel, irregular rate; one sample per event,
  the event as JSON (the event log's fields), stamped with the **onset's** time in LSL's clock. It is
  pushed when the event is decided (after its offset and classification), so its time stamp lies in
  the past; LSL carries the stamp, and recorders such as LabRecorder store it.
- ``realtime-mer-signal``, type ``MERSignal``: two float32 channels (``signal``, ``threshold``, in the
  spotter's noise units; NaN on frames without a face), nominal rate = the source's frame rate, one
  sample per processed frame stamped with that frame's time in LSL's clock.

  With several faces (``--max-faces N``, N above 1) the stream has a fixed layout of three float32 channels per
  slot (the per-face lane, 0..N-1), ``3 N`` in all, slot after slot: ``face_id_<slot>`` (the id of the face the
  slot tracks on this frame: stable over the run, 0 for the first face found), ``signal_<slot>`` and
  ``threshold_<slot>``; all three NaN while the slot holds no face (and signal / threshold NaN for a face too small
  to spot). A slot may hold different faces over a run: read the face from its ``face_id`` channel. The layout is
  in the stream's description too (``desc/max_faces``, ``desc/layout``, one ``desc/channels/channel`` per channel
  with its ``label``, ``slot`` and ``unit``). With ``--max-faces 1`` the stream is the two-channel one above.

Every event carries its ``face_id`` in the marker's JSON (the event log's field).

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realtime_mer.errors import MerError, fail
from realtime_mer.types import EVENT_FIELDS, Event

if TYPE_CHECKING:
    from realtime_mer.events.frames import FaceRow

MARKER_NAME, MARKER_TYPE = "realtime-mer-events", "Markers"
SIGNAL_NAME, SIGNAL_TYPE = "realtime-mer-signal", "MERSignal"
SIGNAL_CHANNELS = ("signal", "threshold")
SLOT_CHANNELS = ("face_id", "signal", "threshold")  # per slot, with several faces
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


def signal_channels(max_faces: int = 1) -> tuple[str, ...]:
    """The signal stream's channel labels: ``signal, threshold`` with one face, else ``face_id_<slot>, signal_<slot>,
    threshold_<slot>`` for each slot in turn."""
    if max_faces <= 1:
        return SIGNAL_CHANNELS
    return tuple(f"{c}_{slot}" for slot in range(max_faces) for c in SLOT_CHANNELS)


def signal_sample(faces: Sequence[FaceRow], max_faces: int = 1) -> list[float]:
    """One frame's sample of the signal stream (``signal_channels(max_faces)``)."""
    nan = float("nan")
    if max_faces <= 1:
        if not faces:
            return [nan, nan]
        r = faces[0]
        return [r.signal, r.threshold]
    out = [nan] * (len(SLOT_CHANNELS) * max_faces)
    for r in faces:
        if 0 <= r.slot < max_faces and r.face_id >= 0:
            i = len(SLOT_CHANNELS) * r.slot
            out[i:i + 3] = [float(r.face_id), r.signal, r.threshold]
    return out


def source_id(source_name: str, stream: str) -> str:
    """Stable per machine, source and stream, so an inlet re-finds the stream after a restart."""
    return f"realtime-mer@{socket.gethostname()}:{source_name}:{stream}"


class LslOutlets:
    """The two outlets. ``write(event)`` is an ``EventSink``; ``rows(...)`` takes the per-frame values
    (``events.frames.FrameSink``). ``origin()`` gives the first frame's grab time (``time.monotonic_ns``), None before it.
    ``max_faces``: the faces followed (the signal stream's channel layout, see the module's description)."""

    def __init__(self, source_name: str, fps: float, origin: Callable[[], int | None], max_faces: int = 1) -> None:
        lsl = import_pylsl()
        self._lsl = lsl
        self.origin = origin
        self.source_name = source_name
        self.max_faces = max(1, int(max_faces))
        channels = signal_channels(self.max_faces)
        self._offset = lsl.local_clock() - time.monotonic()  # LSL clock minus the grab clock
        m = lsl.StreamInfo(MARKER_NAME, MARKER_TYPE, 1, lsl.IRREGULAR_RATE, lsl.cf_string, source_id(source_name, "events"))
        d = m.desc()
        d.append_child_value("source", source_name)
        d.append_child_value("format", "one JSON object per event: " + ",".join(EVENT_FIELDS))
        d.append_child_value("timestamp", "event onset")
        s = lsl.StreamInfo(SIGNAL_NAME, SIGNAL_TYPE, len(channels), float(fps), lsl.cf_float32,
                           source_id(source_name, "signal"))
        ch = s.desc().append_child("channels")
        for i, label in enumerate(channels):
            c = ch.append_child("channel")
            c.append_child_value("label", label)
            c.append_child_value("unit", "id" if label.startswith("face_id") else "noise units")
            c.append_child_value("type", "MERSignal")
            if self.max_faces > 1:
                c.append_child_value("slot", str(i // len(SLOT_CHANNELS)))
        s.desc().append_child_value("source", source_name)
        if self.max_faces > 1:
            s.desc().append_child_value("max_faces", str(self.max_faces))
            s.desc().append_child_value("layout", "per slot 0..max_faces-1 in turn: face_id, signal, threshold (the face "
                                                  "the slot tracks on this frame, its signal and threshold in noise "
                                                  "units); NaN while the slot holds no face")
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

    def rows(self, frame: int, time_s: float, faces: Sequence[FaceRow]) -> None:
        if self._signal is not None:
            self._signal.push_sample(signal_sample(faces, self.max_faces), self.lsl_time(time_s))

    def close(self) -> None:
        """Withdraw both streams (idempotent: it is both an event sink and a frame sink)."""
        self._markers = self._signal = None


__all__ = ["MARKER_NAME", "MARKER_TYPE", "SIGNAL_CHANNELS", "SIGNAL_NAME", "SIGNAL_TYPE", "SLOT_CHANNELS", "LslOutlets", "import_pylsl",
           "signal_channels", "signal_sample", "source_id"]
