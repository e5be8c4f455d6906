"""Calibration inputs for INT8: model inputs (N, *contract.shape) float32 from an array file or an image set.

Accepted ``--data``:
- ``.npy`` / ``.npz``: model inputs (N, *shape) float32, or apex-flow images (N, 28, 28, 3) uint8;
- a MEGC-style flow folder (``labels.csv`` + ``flow/``): its apex-flow images, optionally one subject half
  (``dev`` / ``held-out``, the split ``mer_lab.training.splits.dev_holdout_subjects`` makes);
- a folder of 28x28 RGB PNG apex-flow images (e.g. saved from live sessions).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mer_lab.models import InputContract
from realtime_mer.errors import DataError, fail

SPLITS = ("all", "dev", "held-out")


def _flow_images_to_inputs(images: np.ndarray, contract: InputContract) -> np.ndarray:
    from realtime_mer.recognition.features import to_model_input

    if contract.shape != (3, 28, 28):
        raise fail(DataError, f"apex-flow images do not fit a model with input {contract.shape}",
                   "pass model inputs (N, *shape) float32 in a .npy file")
    return to_model_input(images)


def split_indices(subjects: list[str], datasets: list[str], split: str) -> np.ndarray:
    """Sample indices of one subject half of the MEGC set (``all``: every sample)."""
    if split not in SPLITS:
        raise fail(DataError, f"unknown split {split!r}", f"use one of {', '.join(SPLITS)}")
    if split == "all":
        return np.arange(len(subjects))
    from mer_lab.training.splits import dev_holdout_subjects

    dev, _held = dev_holdout_subjects(subjects, datasets)
    keep = set(dev)
    want = split == "dev"
    return np.array([i for i, s in enumerate(subjects) if (s in keep) == want], dtype=np.int64)


def _from_array(path: Path, contract: InputContract) -> np.ndarray:
    try:
        data = np.load(path)
        arr = np.asarray(data[data.files[0]] if isinstance(data, np.lib.npyio.NpzFile) else data)
    except (OSError, ValueError, IndexError) as e:
        raise fail(DataError, f"cannot read calibration array {path}: {e}", "pass a .npy/.npz of model inputs") from e
    if arr.dtype == np.uint8 and arr.ndim == 4 and arr.shape[-1] == 3:
        return _flow_images_to_inputs(arr, contract)
    if arr.shape[1:] != contract.shape:
        raise fail(DataError, f"{path} holds {arr.shape}, the model takes (N, {', '.join(map(str, contract.shape))})",
                   "save model inputs with the contract's shape")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _from_pngs(folder: Path, contract: InputContract) -> np.ndarray:
    files = sorted(folder.glob("*.png"))
    if not files:
        raise fail(DataError, f"{folder} has no labels.csv and no .png images", "see calibration/README.md")
    imgs = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None or img.shape != (28, 28, 3):
            raise fail(DataError, f"{f} is not a 28x28 RGB apex-flow image", "remove it or pass a .npy")
        imgs.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return _flow_images_to_inputs(np.stack(imgs), contract)


def load_calibration_inputs(data: Path, contract: InputContract, split: str = "dev",
                            limit: int | None = None, seed: int = 0) -> np.ndarray:
    """Calibration inputs (N, *contract.shape) float32 from ``data`` (see the module docstring)."""
    data = Path(data)
    if data.is_file():
        x = _from_array(data, contract)
    elif (data / "labels.csv").is_file():
        from mer_lab.datasets.megc_flow import load_megc_flow

        s = load_megc_flow(data)
        x = _flow_images_to_inputs(s.images[split_indices(s.subjects, s.datasets, split)], contract)
    elif data.is_dir():
        x = _from_pngs(data, contract)
    else:
        raise fail(DataError, f"calibration data {data} not found", "see calibration/README.md")
    if limit is not None and len(x) > limit:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), limit, replace=False))]
    return x
