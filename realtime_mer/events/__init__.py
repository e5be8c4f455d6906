"""Event outputs: adapters that write ``Event`` records (JSONL, CSV) durably as they are decided, exporters
to other formats (ELAN ``.eaf``, BIDS ``events.tsv``), the provenance sidecar, and the one reader of those logs."""

from __future__ import annotations

from realtime_mer.events.log import read_events
from realtime_mer.events.sidecar import read_sidecar, sidecar_path, write_sidecar
from realtime_mer.events.sinks import CsvSink, EventSink, JsonlSink, check_new, check_writable, open_sinks

__all__ = ["CsvSink", "EventSink", "JsonlSink", "check_new", "check_writable", "open_sinks", "read_events", "read_sidecar",
           "sidecar_path", "write_sidecar"]
