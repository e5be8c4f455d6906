"""What each recognition model eats: its input contract (shape, layout, value range, sampling, classes).

The runtime builds a model's input from spotted intervals with these contracts alone (no torch);
the lab's PyTorch models (``mer_lab.models``) declare the same objects, so training, export and live
inference agree. ``input_contract(name)`` looks one up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from realtime_mer.errors import ModelError, fail
from realtime_mer.types import CLASSES


@dataclass(frozen=True)
class InputContract:
    """What one sample fed to a model looks like, and how it is made from the video."""

    shape: tuple[int, ...]  # per sample, without the batch axis, e.g. (3, 28, 28)
    dtype: str = "float32"
    value_range: tuple[float, float] = (0.0, 1.0)
    layout: str = "NCHW"
    channels: tuple[str, ...] = ()
    sampling: str = ""  # which frames of a spotted interval are used, and how they become the input
    classes: tuple[str, ...] = CLASSES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputContract:
        """Inverse of ``to_dict``."""
        return cls(
            shape=tuple(int(s) for s in d["shape"]),
            dtype=str(d.get("dtype", "float32")),
            value_range=(float(d["value_range"][0]), float(d["value_range"][1])),
            layout=str(d.get("layout", "NCHW")),
            channels=tuple(d.get("channels", ())),
            sampling=str(d.get("sampling", "")),
            classes=tuple(d.get("classes", CLASSES)),
        )


APEXFLOW_CONTRACT = InputContract(
    shape=(3, 28, 28),
    dtype="float32",
    value_range=(0.0, 1.0),
    layout="NCHW",
    channels=("u", "v", "strain"),
    sampling=(
        "one onset->apex pair of aligned grayscale face crops; dense flow (u, v) and optical-strain "
        "magnitude, each resized to 28x28 (area) then min-max normalised per channel to 0..255, /255 "
        "(realtime_mer.recognition.features.apex_flow_image + to_model_input)"
    ),
    classes=CLASSES,
)

C3D_FRAMES = 18
C3D_SIZE = 64

C3D_CONTRACT = InputContract(
    shape=(1, C3D_FRAMES, C3D_SIZE, C3D_SIZE),
    dtype="float32",
    value_range=(0.0, 1.0),
    layout="NCDHW",
    channels=("gray",),
    sampling=(
        "onset..offset of aligned grayscale face crops, linearly interpolated in time to 18 frames "
        "(first = onset, last = offset), each resized to 64x64 (area), /255 "
        "(realtime_mer.recognition.preprocess.clip_input('c3d', ...))"
    ),
    classes=CLASSES,
)

CONVLSTM_FRAMES = 9
CONVLSTM_SIZE = 90

CONVLSTM_CONTRACT = InputContract(
    shape=(CONVLSTM_FRAMES, 1, CONVLSTM_SIZE, CONVLSTM_SIZE),
    dtype="float32",
    value_range=(0.0, 1.0),
    layout="NTCHW",
    channels=("gray",),
    sampling=(
        "9 aligned grayscale face crops: onset, 3 uniform between onset and apex, apex, 3 uniform between "
        "apex and offset, offset (linear interpolation at fractional positions), each resized to 90x90 "
        "(area), /255 (realtime_mer.recognition.preprocess.clip_input('convlstm', ...))"
    ),
    classes=CLASSES,
)

LEARNET_SIZE = 112

LEARNET_CONTRACT = InputContract(
    shape=(3, LEARNET_SIZE, LEARNET_SIZE),
    dtype="float32",
    value_range=(0.0, 1.0),
    layout="NCHW",
    channels=("di_onset_offset", "di_onset_apex", "di_apex_offset"),
    sampling=(
        "aligned grayscale crops resized to 112x112 (area); dynamic images (approximate rank pooling, Bilen et "
        "al.) of onset..offset, onset..apex and apex..offset, each min-max scaled to [0, 1] "
        "(realtime_mer.recognition.preprocess.clip_input('learnet', ...))"
    ),
    classes=CLASSES,
)

TCGRU_STEPS = 8
TCGRU_SIZE = 64

TCGRU_CONTRACT = InputContract(
    shape=(TCGRU_STEPS, 4, TCGRU_SIZE, TCGRU_SIZE),
    dtype="float32",
    value_range=(0.0, 1.0),
    layout="NTCHW",
    channels=("frame_t", "frame_t+1", "flow_u", "flow_v"),
    sampling=(
        "9 positions uniform over onset..offset of aligned grayscale crops (linear interpolation), 64x64 "
        "(area); step k holds frames k and k+1 (/255) and their dense flow (u, v; DIS by default) encoded as "
        "clip(0.5 + flow_px / 8, 0, 1) (realtime_mer.recognition.preprocess.clip_input('tcgru', ...))"
    ),
    classes=CLASSES,
)

TWOSTREAM_FRAMES = 8
TWOSTREAM_SIZE = 64
MAGNIFICATION_ALPHA = 20.0

TWOSTREAM_CONTRACT = InputContract(
    shape=(3, TWOSTREAM_FRAMES, TWOSTREAM_SIZE, TWOSTREAM_SIZE),
    dtype="float32",
    value_range=(0.0, 1.0),
    layout="NCDHW",
    channels=("gray", "flow_u", "flow_v"),
    sampling=(
        "9 positions uniform over onset..offset of aligned grayscale crops (linear interpolation), 64x64 "
        "(area); channel 0 = the original frames 1..8 /255 (stream 1); phase-based magnification alpha=20 "
        "w.r.t. the onset (complex steerable pyramid), channels 1-2 = TV-L1 flow between consecutive magnified frames encoded "
        "clip(0.5 + flow_px / 8, 0, 1) (realtime_mer.recognition.preprocess.clip_input('twostream3d', ...))"
    ),
    classes=CLASSES,
)

CONTRACTS: dict[str, InputContract] = {
    "apexflow": APEXFLOW_CONTRACT,
    "c3d": C3D_CONTRACT,
    "convlstm": CONVLSTM_CONTRACT,
    "learnet": LEARNET_CONTRACT,
    "tcgru": TCGRU_CONTRACT,
    "twostream3d": TWOSTREAM_CONTRACT,
}


def available_contracts() -> list[str]:
    """Model names with a known input contract, sorted."""
    return sorted(CONTRACTS)


def input_contract(name: str) -> InputContract:
    """The input contract of model ``name`` (one-line ``ModelError`` for an unknown name)."""
    if name not in CONTRACTS:
        raise fail(ModelError, f"unknown model {name!r}", f"use one of: {', '.join(available_contracts())}")
    return CONTRACTS[name]
