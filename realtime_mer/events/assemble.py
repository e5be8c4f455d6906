"""Event assembly: a decided ``Interval`` and its class probabilities become one ``Event`` record.

Times are seconds from the stream's first frame (``origin_ns``, its source timestamp); the
wall-clock time is the apex's, counted from ``origin_wall`` (the first frame's wall time). The
label is the most probable class, ``unknown`` when the interval could not be classified (no
probabilities: e.g. its onset frame had no face).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from realtime_mer.types import Event, Interval, iso_utc

UNKNOWN = "unknown"


def make_event(iv: Interval, probs: Mapping[str, float], *, origin_ns: int, origin_wall: float, model: str,
               grab_ns: int = 0, now_ns: int | None = None, time_source: str = "", source: str = "", face_id: int = 0) -> Event:
    """The event record of ``iv`` classified as ``probs``.

    ``time_source`` says what ``origin_wall`` was taken from (``types.TIME_SOURCES``); ``source`` names the input.

    ``grab_ns`` is the ``time.monotonic_ns()`` at which the offset frame was grabbed (0: unknown);
    ``emit_latency_ms`` is the time from then to ``now_ns`` (default: now).
    """
    label = max(probs, key=lambda k: probs[k]) if probs else UNKNOWN
    ap_s = (iv.apex_ns - origin_ns) / 1e9
    if grab_ns:
        now = time.monotonic_ns() if now_ns is None else now_ns
        emit_ms = round((now - grab_ns) / 1e6, 3)
    else:
        emit_ms = 0.0
    return Event(
        type=iv.kind,
        onset_frame=int(iv.onset),
        apex_frame=int(iv.apex),
        offset_frame=int(iv.offset),
        onset_s=round((iv.onset_ns - origin_ns) / 1e9, 6),
        apex_s=round(ap_s, 6),
        offset_s=round((iv.offset_ns - origin_ns) / 1e9, 6),
        duration_ms=round((iv.offset_ns - iv.onset_ns) / 1e6, 3),
        wall_time=iso_utc(origin_wall + ap_s),
        label=label,
        probabilities={k: round(float(v), 6) for k, v in probs.items()},
        spot_score=round(float(iv.score), 6),
        face_id=int(face_id),
        model=model,
        emit_latency_ms=emit_ms,
        time_source=time_source,
        source=source,
    )


__all__ = ["UNKNOWN", "make_event"]
