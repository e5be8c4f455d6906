"""Event outputs: adapters that write ``Event`` records (JSONL, CSV) durably as they are decided, and the one reader of those logs."""

from __future__ import annotations

from realtime_mer.events.log import read_events
from realtime_mer.events.sinks import CsvSink, EventSink, JsonlSink, check_writable, open_sinks

__all__ = ["CsvSink", "EventSink", "JsonlSink", "check_writable", "open_sinks", "read_events"]
