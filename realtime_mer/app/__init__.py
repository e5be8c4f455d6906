"""The application around the stages: the pipeline that wires them into threads, the run's state and stats, the
live overlay, the CLI (``realtime-mer``, ``python -m realtime_mer``), the Python API, batch runs, settings files,
provenance, timelines and the checks made before a run writes anything.

Nothing here is imported by the stages (capture, face, buffer, spotting, recognition, events): the data flows one way,
into ``app``. The package imports nothing itself, so ``import realtime_mer.app.cli`` loads only what the CLI needs.
"""
