"""``realtime-mer batch``: many recordings (videos, image folders, dataset trees) through the pipeline, one events
file each plus combined tables, resumable, on a local process pool or Ray tasks on an existing cluster."""

from __future__ import annotations

from realtime_mer.app.batch.inputs import BatchInput, discover

__all__ = ["BatchInput", "discover"]
