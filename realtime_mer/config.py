"""All run settings in one typed place; the CLI maps onto these dataclasses."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from realtime_mer.errors import ConfigError, fail
from realtime_mer.types import MICRO_MAX_MS

BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")  # inference backends (--backend)


@dataclass
class SourceConfig:
    """Where frames come from (``--demo`` / ``--camera`` / ``--video`` / ``--frames``) and at what rate; ``[source]`` in a
    settings file."""

    kind: str = "demo"  # camera | video | frames | demo
    camera: int = 0
    path: Path | None = None
    fps: float | None = None  # requested fps (camera), playback fps (--realtime), or frames fps
    width: int = 640
    height: int = 480
    mjpg: bool = True
    realtime: bool = False  # pace files like a camera; drops become possible and are counted
    queue_size: int = 64
    gray: bool = True  # --video: gray frames from the decoder's luma plane (FaceMesh keyframes get it as gray RGB)
    demo_seconds: float = 12.0
    demo_seed: int = 0


@dataclass
class TrackConfig:
    """Tuning of the tracker between keyframes and of the keyframe smoother (crop pixels)."""

    track: bool = True  # False: hold the keyframe transform until the next keyframe
    smooth: bool = True  # False: every keyframe snaps to its FaceMesh fit
    alpha_min: float = 0.1  # weight of the FaceMesh fit at a keyframe when it agrees with tracking
    agree_px: float = 1.0  # mean rigid-point discrepancy up to which alpha_min applies
    snap_px: float = 4.0  # discrepancy from which the FaceMesh fit is taken as is
    lk_window: int = 9
    lk_levels: int = 2  # pyramid levels when the face moves
    fast_below_px: float = 1.0  # after a smaller per-frame step, LK tries without a pyramid first
    min_points: int = 8  # tracked rigid points needed (of 34)
    max_rms_px: float = 1.0  # tracking fails when the inliers' rms residual is larger
    max_step_px: float = 16.0  # ... or when the crop would move more than this in one frame
    still_px: float = 0.05  # a smaller correction is not applied (the predicted crop is kept as is)
    window_size: int = 256  # FaceMesh input: the face warped into this square (crop size x2 region)
    search_every: int = 0  # while no face is held: look every N frames (0: landmark_every)


@dataclass
class FaceConfig:
    """Face alignment: crop size, how often FaceMesh runs, its confidences, the tracker between keyframes; ``[face]``."""

    crop_size: int = 128
    landmark_every: int = 16  # run FaceMesh every N frames (keyframes); track the face in between (README: error measured)
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    max_faces: int = 1  # faces followed at once, each with its own face_id, ring buffer and spotter (--max-faces)
    min_face_px: float = 64.0  # a face shorter than this (image px, brow to chin) is tracked but not spotted
    memory_s: float = 3.0  # a face lost this recently gets its id back when it returns where only it can be
    track: TrackConfig = field(default_factory=TrackConfig)  # the tracker between keyframes


@dataclass
class RoiflowConfig:
    """The ``roiflow`` spotter (``spotting/roiflow.py``; the macro path of ``hybrid``, the default)."""

    flow_step: int = 0  # reference lag in frames; 0 = derive from ref_ms
    ref_ms: float = 200.0  # lag of the reference frame (flow_step > 0 overrides it, in frames)
    smooth_ms: float = 25.0  # centred moving average of the signal (adds half of it to the delay)
    head_jump_px: float = 1.5  # head shift (crop px) against the reference that invalidates it
    noise_floor_px: float = 0.02  # added to each region's noise sigma: motions far below a pixel do not count
    stats_every_ms: float = 25.0  # the regions' noise statistics are refreshed this often ...
    floor_every_ms: float = 100.0  # ... and the signal's running median this often
    lookback_ms: float = 250.0  # how far an onset may be refined back from where the signal left the baseline
    armed_max_ms: float = 400.0  # a rise that has not reached the detection level by then is dropped
    settle_ms: float = 300.0  # after a movement the reference waits (at most this long) for the signal to fall back
    blink_onset_ms: float = 80.0  # a movement that started at most this long before a blink was the blink
    ref_tau_ms: float = 30.0  # time constant of the exponential average that forms the reference
    ref_every_ms: float = 20.0  # the lagged reference (and the region placement) advance in steps of this


@dataclass
class LagflowConfig:
    """The ``lagflow`` spotter (``spotting/lagflow.py``). smooth_ms, threshold, release and extent_frac were chosen on the
    TUNING faces only (played and held, ``tools/bench_spotting.py --faces tuning``; issue 14):
    threshold 2 / 2.5 / 3 / 4 / 5, release 1-2, lag 100 / 150 / 200 ms, smoothing 25 / 60 ms,
    extent 0.1 / 0.25, top-1 / top-2 regions, blink_z 4 / 8, score sqrt(r.q) / out_and_back; the
    rest are design values. Tuning faces, 22 clips each: held micro F1 0.932, played 0.062. The threshold was
    raised from 2.5 to 3 in issue 22 on the LISTENING tuning faces (WolfgangLanger, single_face, stock_cap_man):
    the fewest false alarms on their untouched clips with held micro F1 >= 0.92 (2.5 / 3 / 3.6: 7 / 3 / 1 alarms in
    0.74 min, held 0.95 / 0.93 / 0.90), as the micro path of ``hybrid``."""

    lag_ms: float = 200.0  # k: out-and-back window (and the look-ahead)
    noise_ms: float = 2000.0  # window of each region's running covariance of D
    noise_floor_px: float = 0.02  # added to each region's noise sigma (crop px)
    noise_all: bool = False  # covariance from every sample (True) or only those scored below the release level
    noise_clip: float = 3.0  # a sample enters the covariance clipped to this whitened distance (0: unclipped)
    norm: str = "mad"  # region score units: "mad" (by the median |curvature| of all recent samples) | "cov" (whitened)
    top: int = 1  # signal = mean of the top-``top`` region scores
    ref_every_ms: float = 20.0  # only every this often a frame becomes a reference (its solver rows serve several frames)
    smooth_ms: float = 60.0  # centred average of D (about two source frames of a 25-30 fps video played at 200 fps)
    threshold: float = 3.0  # detection level above the signal's running median (score units; times SpotConfig.threshold / 5)
    release: float = 1.0  # start / end level above that median (times SpotConfig.release / 2)
    head_jump_px: float = 3.0  # head shift between t-k and t beyond this: the sample is invalid
    blink_px: float = 0.5  # an upper lid moving this far (either way) against t-k is a blink ...
    blink_ratio: float = 1.5  # ... and this many times more than its brow ...
    blink_z: float = 4.0  # ... and this many times its own median |curvature| (lids of a talking face move too)
    blink_margin_ms: float = 50.0  # upper face left out this long around a blink's lid motion
    armed_max_ms: float = 200.0  # a rise that has not reached the detection level by then is dropped
    max_open_ms: float = 800.0  # a movement open longer is dropped; the tracker re-arms at once
    stats_every_ms: float = 25.0
    floor_every_ms: float = 100.0
    lookback_ms: float = 100.0  # onset refinement before the rise
    extent_frac: float = 0.1  # extent: onset / offset where the out / back motion of the apex region falls below this share
    keep_on_loss: bool = True  # after a face loss keep the noise levels (resume after the lag window, not a new calibration)


@dataclass
class HybridConfig:
    """The ``hybrid`` spotter (``spotting/hybrid.py``): which interval kinds each path reports."""

    micro_path_macros: bool = False  # also report lagflow's intervals that come out longer than micro_max_ms
    macro_path_micros: bool = False  # also report roiflow's intervals that come out micro


@dataclass
class LbpConfig:
    """The ``lbp`` spotter (Moilanen et al. 2014 feature difference)."""

    k_ms: float = 150.0  # half the typical micro interval; frames i-k and i+k are compared with i
    blocks: int = 6  # the crop is split into blocks x blocks histograms
    top: float = 1.0 / 3.0  # feature difference = mean of this share of the largest block distances
    p: float = 0.15  # threshold = mean + p * (max - mean) of the contrast over window_ms
    window_ms: float = 5000.0  # running window of that threshold (never the whole video)
    mask_eyes: bool = True  # leave the eyes out of the histograms (blinks)
    eye_margin_px: int = 3  # the eye mask is grown by this (px at 128)
    blur: float = 0.8  # Gaussian blur sigma (px at 128) before the codes: sensor noise flips fewer bits
    avg_ms: float = 25.0  # centred average of the histograms over this long (adds half of it to the delay)
    floor_every_ms: float = 100.0  # the contrast's noise level is refreshed this often
    lookback_ms: float = 100.0  # how far an onset may be refined back from the rise


@dataclass
class GruConfig:
    """The ``gru`` spotter. Its feature constants (lags, top-k, noise floor) are part of the trained
    model (``FEATURE_VERSION`` in ``spotting/gru.py``) and its hysteresis levels come with the weights."""

    weights: Path | None = None  # None: the bundled realtime_mer/assets/spotter_gru.npz
    lookback_ms: float = 150.0  # how far an onset may be refined back from where the intensity rose


@dataclass
class SpotConfig:
    """The spotter (``--spotter``), the shared detection settings, and each spotter's own table; ``[spot]``."""

    name: str = "hybrid"
    micro_max_ms: float = MICRO_MAX_MS  # the micro/macro rule: realtime_mer.types.classify_kind
    min_ms: float = 30.0
    max_ms: float = 4000.0
    threshold: float = 5.0  # detection level above the signal's running median, in noise units
    release: float = 2.0  # a movement starts / ends where the signal crosses median + release
    merge_ms: float = 60.0  # dips shorter than this merge peaks; also the wait before an offset is final
    calibration_ms: float = 1000.0  # after start / reset: learn the baseline, detect nothing
    baseline_ms: float = 3000.0  # running window of the robust baseline (median / MAD)
    history_s: float = 10.0  # length of history() for the live plot
    roiflow: RoiflowConfig = field(default_factory=RoiflowConfig)  # --spotter roiflow (default)
    lagflow: LagflowConfig = field(default_factory=LagflowConfig)  # --spotter lagflow
    hybrid: HybridConfig = field(default_factory=HybridConfig)  # --spotter hybrid
    lbp: LbpConfig = field(default_factory=LbpConfig)  # --spotter lbp
    gru: GruConfig = field(default_factory=GruConfig)  # --spotter gru


@dataclass
class ModelConfig:
    """The recognition model, its file, class set, backend and continuous-intensity settings; ``[model]``."""

    name: str = "apexflow"
    backend: str = "auto"  # auto | onnxruntime | torch | tensorrt
    path: Path | None = None  # override the bundled model
    classes: str | None = None  # a class-set name (recognition.classes) the model must have; None: the model's own
    # a model with an intensity head (tcgru): run it over the newest ``intensity_window_ms`` of crops every
    # ``intensity_every_ms`` for a continuous per-frame intensity trace (--timeline, --frames-csv); 0: per event only
    intensity_every_ms: float = 100.0
    intensity_window_ms: float = 300.0


@dataclass
class OutputConfig:
    """What is written (events, CSV, stats, timeline, per-frame CSV, ELAN, BIDS, LSL) and shown; ``[output]``."""

    events: Path | None = None
    csv: Path | None = None
    stats: Path | None = None
    timeline: Path | None = None
    ui: bool = True
    frames_csv: Path | None = None  # --frames-csv: one row per frame (realtime_mer/events/frames.py)
    frames_landmarks: bool = False  # --frames-csv-landmarks: the 468 landmarks in image pixels in that file too
    lsl: bool = False  # --lsl: LSL outlets for the events and the spotting signal (realtime_mer/events/lsl.py)
    eaf: Path | None = None  # --eaf: at the end, the events as an ELAN document (realtime_mer/events/eaf.py)
    bids: Path | None = None  # --bids: at the end, the events as a BIDS *_events.tsv and its JSON (realtime_mer/events/bids.py)


@dataclass
class PipelineConfig:
    """Every setting of a run, one typed tree: what the CLI, a settings file (``--config``) and the API fill in, checked
    by ``validate`` in one place."""

    source: SourceConfig = field(default_factory=SourceConfig)
    face: FaceConfig = field(default_factory=FaceConfig)
    spot: SpotConfig = field(default_factory=SpotConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    buffer_seconds: float = 4.0
    spot_process: bool = True  # the spotter in its own process over a shared-memory ring buffer (off: on a thread)


# -- validation: every setting checked in one place, whatever filled it in (CLI, a config file, code) ------------------

MAX_FPS = 10_000.0  # no camera or recording format goes faster; a larger rate is a typo (and would size the ring buffer)
MAX_SIDE = 8192  # camera / demo width and height (OpenCV's warps need < 32767; 8K is 7680)
MAX_DEMO_FRAMES = 24 * 3600 * 200  # 24 h at 200 fps: the demo plans its whole timeline up front
KINDS = ("camera", "video", "frames", "demo")

# dotted setting -> the command-line flag that sets it (named in the error so a CLI user knows what to change)
FLAGS: dict[str, str] = {
    "source.camera": "--camera", "source.fps": "--fps", "source.width": "--width", "source.height": "--height",
    "source.demo_seconds": "--demo-seconds", "source.demo_seed": "--seed", "face.crop_size": "--crop-size",
    "face.landmark_every": "--landmark-every", "model.backend": "--backend", "spot.name": "--spotter",
    "model.intensity_every_ms": "--intensity-every", "face.max_faces": "--max-faces", "face.min_face_px": "--min-face-px",
}

# dotted setting -> (low, high, low inclusive, example); every other number must be finite and >= 0
RANGES: dict[str, tuple[float, float, bool, str]] = {
    "source.fps": (0.0, MAX_FPS, False, "200"),
    "source.camera": (0, 1023, True, "0"),
    "source.width": (64, MAX_SIDE, True, "640"),
    "source.height": (64, MAX_SIDE, True, "480"),
    "source.queue_size": (1, 4096, True, "64"),
    "source.demo_seconds": (0.0, 86_400.0, False, "12"),
    "source.demo_seed": (0, 2**32 - 1, True, "0"),
    "face.crop_size": (64, 512, True, "128"),
    "face.landmark_every": (1, 1000, True, "16"),
    "face.min_detection_confidence": (0.0, 1.0, True, "0.5"),
    "face.min_tracking_confidence": (0.0, 1.0, True, "0.5"),
    "face.max_faces": (1, 16, True, "1"),
    "face.min_face_px": (0.0, 4096.0, True, "64"),
    "face.memory_s": (0.0, 60.0, True, "3"),
    "face.track.window_size": (64, 1024, True, "256"),
    "face.track.lk_window": (3, 63, True, "9"),
    "spot.max_ms": (0.0, 60_000.0, False, "4000"),
    "spot.threshold": (0.0, 1000.0, False, "5"),
    "buffer_seconds": (0.0, 60.0, False, "4"),
    "model.intensity_every_ms": (0.0, 60_000.0, True, "100"),
    "model.intensity_window_ms": (0.0, 5_000.0, False, "300"),
}


def _name(path: str) -> str:
    flag = FLAGS.get(path)
    return f"{flag} ({path})" if flag else path


def _fmt(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else repr(v) if isinstance(v, str) else str(v)


def _check_value(path: str, value: object, hint: object) -> None:
    """``value`` against its declared type ``hint`` (float, int, bool, str, Path, optional) and its range."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else (hint,)
    if value is None:
        if type(None) in args:
            return
        raise fail(ConfigError, f"{_name(path)} is not set", "give it a value")
    want = [a for a in args if a is not type(None)]
    if bool in want or str in want:
        if not isinstance(value, tuple(want)):
            raise fail(ConfigError, f"{_name(path)} = {_fmt(value)} must be {'true or false' if bool in want else 'a string'}")
        return
    if Path in want:
        if not isinstance(value, (str, Path)) or not str(value):
            raise fail(ConfigError, f"{_name(path)} = {_fmt(value)} must be a path")
        return
    if int in want and float not in want:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(ConfigError, f"{_name(path)} = {_fmt(value)} must be a whole number",
                       f"use e.g. {RANGES[path][3]}" if path in RANGES else None)
    elif float in want:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(ConfigError, f"{_name(path)} = {_fmt(value)} must be a number")
        if not math.isfinite(value):
            ex = f"use e.g. {RANGES[path][3]}" if path in RANGES else "use a finite number"
            raise fail(ConfigError, f"{_name(path)} = {_fmt(value)} is not a finite number", ex)
    else:
        return
    lo, hi, lo_incl, example = RANGES.get(path, (0.0, math.inf, True, ""))
    if (value < lo if lo_incl else value <= lo) or value > hi:
        rng = f"{'>=' if lo_incl else '>'} {_fmt(lo)}" + (f" and <= {_fmt(hi)}" if math.isfinite(hi) else "")
        raise fail(ConfigError, f"{_name(path)} = {_fmt(value)} is out of range: it must be {rng}",
                   f"use e.g. {example}" if example else None)


def validate_dataclass(obj: object, prefix: str = "") -> None:
    """Check every field of a config dataclass (recursively): declared type, finiteness, range (``RANGES``)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value, path = getattr(obj, f.name), f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            validate_dataclass(value, path + ".")
        else:
            _check_value(path, value, hints[f.name])


def validate(cfg: PipelineConfig) -> PipelineConfig:
    """Refuse a configuration that cannot run, in one line naming the setting and a good value (a ``ConfigError``,
    exit status 2, before anything is opened). The one place ranges are checked: the CLI and config files alike."""
    validate_dataclass(cfg)
    src = cfg.source
    if src.kind not in KINDS:
        raise fail(ConfigError, f"source.kind = {src.kind!r} is not a source", f"use one of {', '.join(KINDS)}")
    if cfg.model.backend not in BACKENDS:
        raise fail(ConfigError, f"{_name('model.backend')} = {cfg.model.backend!r} is not a backend", f"use one of {', '.join(BACKENDS)}")
    if src.kind in ("video", "frames") and src.path is None:
        flag = "--video FILE" if src.kind == "video" else "--frames DIR"
        raise fail(ConfigError, f"source '{src.kind}' needs a path", f"pass {flag}")
    if src.realtime and src.kind == "camera":
        raise fail(ConfigError, "--realtime paces files; a camera is already real time", "drop --realtime")
    if src.kind == "demo":
        frames = src.demo_seconds * (src.fps or 200.0)
        if frames > MAX_DEMO_FRAMES:
            raise fail(ConfigError, f"the demo would be {frames:.3g} frames ({src.demo_seconds:g} s at {src.fps or 200.0:g} fps); "
                       f"at most {MAX_DEMO_FRAMES:,} (24 h at 200 fps)", "pass a shorter --demo-seconds or a lower --fps")
    sp = cfg.spot
    if sp.min_ms >= sp.max_ms:
        raise fail(ConfigError, f"spot.min_ms = {sp.min_ms:g} must be below spot.max_ms = {sp.max_ms:g}")
    return cfg
