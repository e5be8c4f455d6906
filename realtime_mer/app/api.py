"""The Python API: the CLI's pipeline, called from a script or a notebook.

    import realtime_mer as rm

    result = rm.analyse("clip.mp4")                      # a video file, a folder of frames, "demo" or a camera index
    for e in result.events:                              # realtime_mer.types.Event records
        print(e.type, e.onset_s, e.label, e.confidence)
    df = result.to_dataframe()                           # pandas, when installed: one row per event
    result = rm.analyse("group.mp4", max_faces=3)        # follow up to three faces; each event has its face_id
    for i in result.faces:                               # the face ids with events, sorted
        print(i, len(result.for_face(i)))                # one face's events (an Analysis too)

    with rm.stream(0) as live:                           # a live camera: events as they are decided
        for e in live:
            ...                                          # leave the loop (or press Ctrl-C): the camera is released

Settings are the CLI's typed configuration (``realtime_mer.config.PipelineConfig``); the source given
first replaces ``config.source``'s kind and path, keeping its other settings (fps, size, ...). The settings
and outputs are checked as the CLI checks them (``preflight``: ``config.validate``, the spotter and class
set, every output path against the inputs and each other), with the same one-line ``MerError``s. Every file
``config.output`` names is written as by the CLI (events fsynced as decided with their provenance, stats,
frames csv, the timeline picture and its trace, ELAN / BIDS; LSL outlets too); an existing file is refused
unless ``overwrite=True``. No signal handlers are installed and no overlay is drawn: this is a library.

``max_faces`` (1 to 16) sets ``config.face.max_faces``, the faces followed at once; None keeps the config's. Each
event carries its face's ``face_id`` (stable over the run, 0 for the first face found); the DataFrame has it as a
column, so ``df[df.face_id == 1]`` or ``df.groupby("face_id")`` split it per face, as ``Analysis.for_face`` does.
"""

from __future__ import annotations

import dataclasses
import os
import queue
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from realtime_mer.config import PipelineConfig, SourceConfig
from realtime_mer.errors import ConfigError, MerError, OutputError, SourceError, fail
from realtime_mer.types import CLASSES, Event

if TYPE_CHECKING:
    import pandas

SourceLike = str | os.PathLike[str] | int | SourceConfig
EventCallback = Callable[[Event], None]
MAX_FACES = 16  # the most faces followed at once (config.face.max_faces)


def with_max_faces(config: PipelineConfig, max_faces: int | None) -> PipelineConfig:
    """``config`` with ``face.max_faces`` set (a copy; ``config`` itself is unchanged); None: ``config`` as it is."""
    if max_faces is None:
        return config
    if isinstance(max_faces, bool) or not isinstance(max_faces, int) or not 1 <= max_faces <= MAX_FACES:
        raise fail(ConfigError, f"max_faces={max_faces!r} must be a whole number from 1 to {MAX_FACES}",
                   "pass e.g. max_faces=2 (the faces followed at once)")
    return dataclasses.replace(config, face=dataclasses.replace(config.face, max_faces=max_faces))


def source_config(source: SourceLike, base: SourceConfig | None = None) -> SourceConfig:
    """``source`` as a ``SourceConfig``: an int is a camera index, ``"demo"`` the demo, a folder a folder of frames,
    any other path a video file; ``base``'s other settings (fps, size, demo length, ...) are kept."""
    base = base or SourceConfig()
    if isinstance(source, SourceConfig):
        return source
    if isinstance(source, bool):
        raise fail(SourceError, f"source {source!r} is not a path, a camera index or 'demo'", "pass e.g. 'clip.mp4', 0 or 'demo'")
    if isinstance(source, int):
        return dataclasses.replace(base, kind="camera", camera=source, path=None)
    if isinstance(source, str) and source == "demo":
        return dataclasses.replace(base, kind="demo", path=None)
    if not isinstance(source, (str, os.PathLike)):
        raise fail(SourceError, f"source {source!r} is not a path, a camera index or 'demo'", "pass e.g. 'clip.mp4', 0 or 'demo'")
    path = Path(source).expanduser()
    return dataclasses.replace(base, kind="frames" if path.is_dir() else "video", path=path)


def events_dataframe(events: Sequence[Event], classes: Sequence[str] | None = None) -> pandas.DataFrame:
    """One row per event with the CSV's columns (one ``p_<class>`` column per class); needs pandas."""
    try:
        import pandas as pd
    except ImportError:
        raise fail(MerError, "a DataFrame needs pandas, which is not installed", "pip install pandas (or use the Event list)") from None
    from realtime_mer.events.table import classes_of, columns, flat_row

    cls = tuple(classes) if classes else classes_of(events, CLASSES)
    return pd.DataFrame([flat_row(e, cls) for e in events], columns=list(columns(cls)))


@dataclasses.dataclass
class Analysis:
    """What ``analyse`` returns: the events, the run summary (the CLI's ``--stats``) and its provenance."""

    events: list[Event]
    summary: dict[str, Any]
    classes: tuple[str, ...] = CLASSES

    @property
    def provenance(self) -> dict[str, Any]:
        return self.summary.get("provenance", {})

    def to_dataframe(self) -> pandas.DataFrame:
        """The events as a pandas DataFrame, one row per event, one probability column per class and the event's
        ``face_id`` (needs pandas)."""
        return events_dataframe(self.events, self.classes)

    @property
    def faces(self) -> list[int]:
        """The ids of the faces that have events, sorted (``[0]`` or ``[]`` with one face)."""
        return sorted({e.face_id for e in self.events})

    def for_face(self, face_id: int) -> Analysis:
        """Face ``face_id``'s events only (same summary and classes): ``result.for_face(1).to_dataframe()``."""
        return dataclasses.replace(self, events=[e for e in self.events if e.face_id == face_id])

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


class _QueueSink:
    """Hands each event to the reader of an ``EventStream`` (and to its callback, on the recognition thread)."""

    def __init__(self, q: queue.Queue[Event], on_event: EventCallback | None) -> None:
        self._q, self._on_event = q, on_event

    def write(self, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(event)
        self._q.put(event)

    def close(self) -> None:
        pass


class EventStream:
    """A running pipeline whose events are read as they are decided: iterate it, or give ``on_event`` (called on
    the recognition thread), or both. ``close()`` (or leaving the ``with`` block) stops capture, joins the threads,
    releases the source and closes the output files; the events decided until then are kept."""

    def __init__(self, source: SourceLike, config: PipelineConfig | None = None, *, on_event: EventCallback | None = None,
                 overwrite: bool = False, max_faces: int | None = None) -> None:
        cfg = with_max_faces(config or PipelineConfig(), max_faces)
        self.config = dataclasses.replace(cfg, source=source_config(source, cfg.source),
                                          output=dataclasses.replace(cfg.output, ui=False))
        self._on_event = on_event
        self._overwrite = overwrite
        self._queue: queue.Queue[Event] = queue.Queue()
        self._pipe: Any = None
        self._closed = False
        self.events: list[Event] = []  # every event read so far (by iteration or close)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> EventStream:
        """Check the outputs, open the source, load the models and start the threads (failures are one-line ``MerError``s)."""
        if self._pipe is not None:
            return self
        from realtime_mer.app.outputs import attach, open_frame_sinks, start_trace
        from realtime_mer.app.pipeline import Pipeline
        from realtime_mer.app.preflight import check_run
        from realtime_mer.capture import open_source

        check_run(self.config, overwrite=self._overwrite, api=True)  # what the CLI refuses, in the same one line
        out = self.config.output
        trace = start_trace(out)
        frame_sinks = open_frame_sinks(out)
        try:
            source = open_source(self.config.source)
        except BaseException:
            for s in frame_sinks:
                s.close()
            raise
        pipe = Pipeline(self.config, source, trace_path=trace, frame_sinks=frame_sinks)
        try:
            pipe.prepare()
            attach(pipe, out, [_QueueSink(self._queue, self._on_event)])
            pipe.start()
        except BaseException:
            pipe.close()
            source.close()
            raise
        self._pipe = pipe
        return self

    def close(self) -> None:
        """Stop and release everything (safe to call twice); write ``output.stats``, the timeline picture and the
        ELAN / BIDS exports when asked."""
        if self._pipe is None or self._closed:
            return
        self._closed = True
        self._pipe.stop()
        self._pipe.close()
        self._drain()
        from realtime_mer.app.outputs import write_exports, write_timeline

        out = self.config.output
        stats = out.stats
        if stats is not None:
            import json

            from realtime_mer.events.sidecar import write_text_atomic

            write_text_atomic(Path(stats), json.dumps(self.summary(), indent=2) + "\n")
        try:
            write_timeline(out, self._pipe)
            write_exports(out, self.config.source, self._pipe)
        except OSError as exc:
            raise fail(OutputError, f"cannot write {exc.filename or 'an output'}: {exc.strerror or exc}",
                       "choose a writable path (the events and stats are written already)") from exc

    def __enter__(self) -> EventStream:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Event]:
        """The events in the order they are decided, until the source ends or ``close()``; a failure of the run
        (e.g. an unreadable frame) is raised here once the events before it have been given out."""
        self.start()
        pipe = self._pipe
        while True:
            try:
                ev = self._queue.get(timeout=0.1)
            except queue.Empty:
                if pipe.wait(0) or self._closed:
                    if self._queue.empty():
                        break
                continue
            self.events.append(ev)
            yield ev
        if pipe.error is not None:
            raise pipe.error

    def _drain(self) -> None:
        while True:
            try:
                self.events.append(self._queue.get_nowait())
            except queue.Empty:
                return

    @property
    def running(self) -> bool:
        return self._pipe is not None and not self._closed and not self._pipe.wait(0)

    def summary(self) -> dict[str, Any]:
        """The run summary so far (the CLI's ``--stats``, with ``provenance``)."""
        if self._pipe is None:
            raise fail(MerError, "the stream has not started", "call start() or iterate it first")
        return self._pipe.summary()

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self._pipe.state.classes) if self._pipe is not None else CLASSES


def stream(source: SourceLike, config: PipelineConfig | None = None, *, on_event: EventCallback | None = None,
           overwrite: bool = False, max_faces: int | None = None) -> EventStream:
    """An ``EventStream`` over ``source`` (started on ``with``, iteration or ``start()``); ``max_faces``: the faces
    followed at once (1 to 16; None: ``config.face.max_faces``)."""
    return EventStream(source, config, on_event=on_event, overwrite=overwrite, max_faces=max_faces)


def analyse(source: SourceLike, config: PipelineConfig | None = None, *, on_event: EventCallback | None = None,
            overwrite: bool = False, max_faces: int | None = None) -> Analysis:
    """Run ``source`` to its end (a file, a folder of frames, the demo; a camera until interrupted) and return
    its events and summary. Ctrl-C stops the run cleanly, keeping the events so far on disk, and is re-raised.
    ``max_faces``: the faces followed at once (1 to 16; None: ``config.face.max_faces``)."""
    s = EventStream(source, config, on_event=on_event, overwrite=overwrite, max_faces=max_faces)
    try:
        with s:
            for _ in s:
                pass
    finally:
        s._drain()
    return Analysis(events=list(s.events), summary=s.summary(), classes=s.classes)


__all__ = ["MAX_FACES", "Analysis", "EventStream", "analyse", "events_dataframe", "source_config", "stream", "with_max_faces"]
