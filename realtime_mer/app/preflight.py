"""Everything refused before capture, the same way for the command line, the Python API and ``realtime-mer batch``.

``check_settings``: ``config.validate`` plus the names only later stages know (spotter, class set).
``check_outputs``: every file a run writes (events, csv, stats, timeline and the trace and intensity files beside
it, frames csv, ELAN, BIDS and its JSON, the provenance sidecars) against every file it reads (the video, the
frames of ``--frames DIR``, the model, the spotter's weights, the config file) and against each other, with links
and relative paths resolved: a clash is one line naming both, and no ``--overwrite`` lifts it (an output must
never destroy an input). An existing file is refused unless ``overwrite``; then each path is tried for writing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from realtime_mer.config import OutputConfig, PipelineConfig, validate
from realtime_mer.errors import ConfigError, OutputError, fail

TIMELINE_FORMATS = (".png", ".svg", ".pdf", ".jpg")

# OutputConfig field -> the command-line option that sets it
OUTPUT_FLAGS: dict[str, str] = {
    "events": "--events", "csv": "--csv", "stats": "--stats", "timeline": "--timeline",
    "frames_csv": "--frames-csv", "eaf": "--eaf", "bids": "--bids",
}
WHAT = {"events": "events", "csv": "csv", "stats": "stats", "timeline": "timeline", "frames_csv": "frames csv",
        "eaf": "ELAN", "bids": "BIDS events"}


@dataclass(frozen=True)
class Named:
    """A file a run reads or writes, and how the user named it (``--stats s.json``, ``the trace of --timeline t.png``)."""

    path: Path
    label: str
    what: str = "output"  # what it is, for the write check's message (``cannot write stats to ...``)


class Naming:
    """How errors name settings: command-line options (``--events``, fix ``add --overwrite``) or the API's config
    fields (``output.events``, fix ``pass overwrite=True``)."""

    def __init__(self, api: bool = False) -> None:
        self.api = api

    def output(self, key: str) -> str:
        return f"output.{key}" if self.api else OUTPUT_FLAGS[key]

    @property
    def overwrite(self) -> str:
        return "pass overwrite=True" if self.api else "add --overwrite"


def check_settings(cfg: PipelineConfig) -> PipelineConfig:
    """``config.validate`` and the names it cannot know (the spotters and class sets live in later stages)."""
    from realtime_mer.recognition.classes import CLASS_SETS
    from realtime_mer.spotting import SPOTTERS

    validate(cfg)
    if cfg.spot.name not in SPOTTERS:
        raise fail(ConfigError, f"--spotter (spot.name) = {cfg.spot.name!r} is not a spotter", f"use one of: {', '.join(SPOTTERS)}")
    if cfg.model.classes is not None and cfg.model.classes not in CLASS_SETS:
        raise fail(ConfigError, f"--classes (model.classes) = {cfg.model.classes!r} is not a known class set",
                   f"use one of: {', '.join(CLASS_SETS)}")
    return cfg


def planned_outputs(out: OutputConfig, naming: Naming | None = None) -> list[Named]:
    """Every file the outputs in ``out`` write, the side files included."""
    from realtime_mer.app.timeline import intensity_path, trace_path
    from realtime_mer.events.bids import bids_json_path
    from realtime_mer.events.sidecar import has_sidecar, sidecar_path

    nm = naming or Naming()
    files: list[Named] = []
    for key in OUTPUT_FLAGS:
        path = getattr(out, key)
        if path is None:
            continue
        path = Path(path)
        flag = f"{nm.output(key)} {path}"
        files.append(Named(path, flag, WHAT[key]))
        side: list[tuple[Path, str, str]] = []
        if key in ("events", "csv") and has_sidecar(path):
            side.append((sidecar_path(path), "provenance", "provenance"))
        elif key == "timeline":
            side += [(trace_path(path), "trace", "timeline trace"), (intensity_path(trace_path(path)), "intensity trace", "intensity trace")]
        elif key == "bids":
            side.append((bids_json_path(path), "JSON", "BIDS sidecar"))
        files += [Named(p, f"{p} (the {role} of {flag})", what) for p, role, what in side]
    return files


def planned_inputs(cfg: PipelineConfig, config_file: Path | None = None, naming: Naming | None = None) -> list[Named]:
    """Every file a run reads: the video, each frame of a folder, the model, the spotter's weights, the config file."""
    nm = naming or Naming()
    src, files = cfg.source, []
    if src.kind == "video" and src.path is not None:
        files.append(Named(Path(src.path), f"the input video ({'source.path' if nm.api else '--video'} {src.path})"))
    elif src.kind == "frames" and src.path is not None:
        files += frame_inputs(Path(src.path), f"{'source.path' if nm.api else '--frames'} {src.path}")
    if cfg.model.path is not None:
        files.append(Named(Path(cfg.model.path), f"the model ({'model.path' if nm.api else '--model-path'} {cfg.model.path})"))
    if cfg.spot.gru.weights is not None:
        files.append(Named(Path(cfg.spot.gru.weights), f"the spotter's weights (spot.gru.weights {cfg.spot.gru.weights})"))
    if config_file is not None:
        files.append(Named(Path(config_file), f"the settings file (--config {config_file})"))
    return files


def frame_inputs(folder: Path, named: str) -> list[Named]:
    """The frames of an image folder (a folder that cannot be listed is the source's to report, later)."""
    from realtime_mer.capture.folder import list_images

    try:
        images = list_images(Path(folder).expanduser())
    except OSError:
        return []
    return [Named(p, f"a frame of {named} ({p.name})") for p in images]


def _real(path: Path) -> str:
    return os.path.realpath(os.path.expanduser(path))


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(os.path.expanduser(path))
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def check_clashes(outputs: Sequence[Named], inputs: Iterable[Named], image_folders: Iterable[Path] = ()) -> None:
    """No output is an input or another output (symbolic links, hard links and relative paths resolved), and no
    output is a new image inside a folder of frames (it would be read as a frame); one line naming both."""
    from realtime_mer.capture.folder import IMAGE_EXTENSIONS

    by_path: dict[str, Named] = {}
    by_id: dict[tuple[int, int], Named] = {}
    for f in inputs:
        by_path.setdefault(_real(f.path), f)
        fid = _file_id(f.path)
        if fid is not None:
            by_id.setdefault(fid, f)
    folders = {_real(d) for d in image_folders}
    seen_path: dict[str, Named] = {}
    seen_id: dict[tuple[int, int], Named] = {}
    for o in outputs:
        real, fid = _real(o.path), _file_id(o.path)
        hit = by_path.get(real) or (by_id.get(fid) if fid is not None else None)
        if hit is not None:
            raise fail(OutputError, f"{o.label} is {hit.label}: writing it would destroy the input",
                       "give the output another path")
        if os.path.dirname(real) in folders and Path(real).suffix.lower() in IMAGE_EXTENSIONS:
            raise fail(OutputError, f"{o.label} is an image inside the folder of frames being read",
                       "write it outside that folder, or it becomes a frame of the clip")
        twin = seen_path.get(real) or (seen_id.get(fid) if fid is not None else None)
        if twin is not None:
            raise fail(OutputError, f"{o.label} and {twin.label} are the same file", "give each output its own file")
        seen_path[real] = o
        if fid is not None:
            seen_id[fid] = o


def check_formats(out: OutputConfig, naming: Naming | None = None) -> None:
    """What each output's name or extra needs: a picture type for the timeline, ``.eaf`` and pympi-ling for ELAN,
    ``*_events.tsv`` for BIDS, ``frames_csv`` for its landmarks, pylsl for LSL."""
    nm = naming or Naming()
    if out.timeline is not None and Path(out.timeline).suffix.lower() not in TIMELINE_FORMATS:
        raise fail(OutputError, f"{nm.output('timeline')} {out.timeline}: cannot draw a {Path(out.timeline).suffix or 'file without an extension'}",
                   f"name a picture file ending in {', '.join(TIMELINE_FORMATS)}")
    if out.eaf is not None:
        from realtime_mer.events.eaf import check_eaf_path, require_pympi

        check_eaf_path(out.eaf)
        require_pympi()
    if out.bids is not None:
        from realtime_mer.events.bids import check_bids_path

        check_bids_path(out.bids)
    if out.frames_landmarks and out.frames_csv is None:
        raise fail(OutputError, f"{'output.frames_landmarks' if nm.api else '--frames-csv-landmarks'} adds columns to "
                   f"{nm.output('frames_csv')}, which is not given", f"{'set output.frames_csv' if nm.api else 'add --frames-csv PATH.csv'}")
    if out.lsl:  # a missing [lsl] extra is refused before capture
        from realtime_mer.events.lsl import import_pylsl

        import_pylsl()


def check_existing(outputs: Sequence[Named], overwrite: bool, naming: Naming | None = None) -> None:
    """An existing file is not replaced unless ``overwrite`` (a device such as /dev/stdout is not a file to keep)."""
    nm = naming or Naming()
    if overwrite:
        return
    for o in outputs:
        if Path(o.path).expanduser().is_file():
            raise fail(OutputError, f"{o.label}: the file exists and would be overwritten",
                       f"choose a new path, or {nm.overwrite} to replace it")


def check_outputs(cfg: PipelineConfig, *, overwrite: bool, config_file: Path | None = None, api: bool = False) -> list[Named]:
    """Every output of ``cfg`` checked before capture (module docstring); returns the files a run will write."""
    from realtime_mer.events.sinks import check_writable

    nm = Naming(api)
    out = cfg.output
    check_formats(out, nm)
    outputs = planned_outputs(out, nm)
    folders = [Path(cfg.source.path).expanduser()] if cfg.source.kind == "frames" and cfg.source.path is not None else []
    check_clashes(outputs, planned_inputs(cfg, config_file, nm), folders)
    check_existing(outputs, overwrite, nm)
    for o in outputs:
        check_writable(o.path, o.what)
    return outputs


def check_run(cfg: PipelineConfig, *, overwrite: bool, config_file: Path | None = None, api: bool = False) -> PipelineConfig:
    """The settings, then the outputs: what ``realtime-mer`` and ``realtime_mer.analyse`` / ``stream`` refuse before
    anything is opened."""
    check_settings(cfg)
    check_outputs(cfg, overwrite=overwrite, config_file=config_file, api=api)
    return cfg


__all__ = ["OUTPUT_FLAGS", "TIMELINE_FORMATS", "Named", "Naming", "check_clashes", "check_existing", "check_formats",
           "check_outputs", "check_run", "check_settings", "frame_inputs", "planned_inputs", "planned_outputs"]
