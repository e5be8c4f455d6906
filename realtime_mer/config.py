"""All run settings in one typed place; the CLI maps onto these dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from realtime_mer.types import MICRO_MAX_MS

BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")  # inference backends (--backend)


@dataclass
class SourceConfig:
    kind: str = "demo"  # camera | video | frames | demo
    camera: int = 0
    path: Path | None = None
    fps: float | None = None  # requested fps (camera), playback fps (--realtime), or frames fps
    width: int = 640
    height: int = 480
    mjpg: bool = True
    realtime: bool = False  # pace files like a camera; drops become possible and are counted
    queue_size: int = 64
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
    crop_size: int = 128
    landmark_every: int = 16  # run FaceMesh every N frames (keyframes); track the face in between (README: error measured)
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    max_faces: int = 4  # several faces: the largest is used
    track: TrackConfig = field(default_factory=TrackConfig)  # the tracker between keyframes


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
    name: str = "roiflow"
    flow_step: int = 0  # reference lag in frames; 0 = derive from ref_ms
    micro_max_ms: float = MICRO_MAX_MS  # the micro/macro rule: realtime_mer.types.classify_kind
    min_ms: float = 30.0
    max_ms: float = 4000.0
    threshold: float = 5.0  # detection level above the signal's running median, in noise units
    release: float = 2.0  # a movement starts / ends where the signal crosses median + release
    ref_ms: float = 200.0  # roiflow: lag of the reference frame (flow_step > 0 overrides it, in frames)
    smooth_ms: float = 25.0  # centred moving average of the signal (adds half of it to the delay)
    merge_ms: float = 60.0  # dips shorter than this merge peaks; also the wait before an offset is final
    calibration_ms: float = 1000.0  # after start / reset: learn the baseline, detect nothing
    baseline_ms: float = 3000.0  # running window of the robust baseline (median / MAD)
    history_s: float = 10.0  # length of history() for the live plot
    lbp: LbpConfig = field(default_factory=LbpConfig)  # --spotter lbp
    gru: GruConfig = field(default_factory=GruConfig)  # --spotter gru


@dataclass
class ModelConfig:
    name: str = "apexflow"
    backend: str = "auto"  # auto | onnxruntime | torch | tensorrt
    path: Path | None = None  # override the bundled model


@dataclass
class OutputConfig:
    events: Path | None = None
    csv: Path | None = None
    stats: Path | None = None
    timeline: Path | None = None
    ui: bool = True


@dataclass
class PipelineConfig:
    source: SourceConfig = field(default_factory=SourceConfig)
    face: FaceConfig = field(default_factory=FaceConfig)
    spot: SpotConfig = field(default_factory=SpotConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    buffer_seconds: float = 4.0
