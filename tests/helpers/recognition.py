"""Small synthetic data shared by the recognition tests (no shared data needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

ASTRONAUT = Path(__file__).resolve().parents[2] / "realtime_mer" / "assets" / "astronaut.png"


def textured_crop(size: int = 128, seed: int = 0) -> np.ndarray:
    """A (size, size) uint8 face-like texture: the astronaut's face if bundled, else smoothed noise."""
    img = cv2.imread(str(ASTRONAUT), cv2.IMREAD_GRAYSCALE) if ASTRONAUT.is_file() else None
    if img is not None:
        return cv2.resize(img[45:195, 165:315], (size, size), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    noise = rng.normal(128, 60, (size, size)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0), 0, 255).astype(np.uint8)


def warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``img`` moved by ``flow`` (H, W, 2): out(x + d) ~= img(x)."""
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = cv2.remap(img.astype(np.float32), xx - flow[..., 0], yy - flow[..., 1], cv2.INTER_CUBIC,
                    borderMode=cv2.BORDER_REFLECT)
    return np.clip(out, 0, 255).astype(np.uint8)


def bump_flow(size: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth local displacement field (a few Gaussian bumps, <= ~1.5 px)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    flow = np.zeros((size, size, 2), np.float32)
    for _ in range(3):
        cy, cx = rng.uniform(0.25, 0.75, 2) * size
        sigma = rng.uniform(0.08, 0.14) * size
        amp = rng.uniform(-1.5, 1.5, 2).astype(np.float32)
        flow += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))[..., None] * amp
    return flow


def toy_images(n_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A separable 3-class toy set of apex-flow-like uint8 images (patterns survive a left-right flip)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c in range(3):
        for _ in range(n_per_class):
            img = rng.normal(110, 25, (28, 28, 3))
            if c == 0:
                img[:10, :, 1] += 90  # v moves in the brow region
            elif c == 1:
                img[18:, :, 1] += 90  # v moves in the mouth region
            else:
                img[10:18, 8:20, 2] += 120  # strain in the middle
            images.append(np.clip(img, 0, 255).astype(np.uint8))
            labels.append(c)
    order = rng.permutation(len(labels))
    subjects = [f"toy_s{i % 6}" for i in range(len(labels))]
    return np.stack(images)[order], np.asarray(labels, np.int64)[order], subjects


def write_flow_tree(root: Path, images: np.ndarray, labels: np.ndarray, subjects: list[str],
                    datasets: list[str] | None = None) -> Path:
    """Write a MEGC-flow-like tree (labels.csv + flow/*.png, RGB) under ``root``."""
    (root / "flow").mkdir(parents=True, exist_ok=True)
    lines = ["file,dataset,subject,clip,label"]
    for i, (img, y, s) in enumerate(zip(images, labels, subjects, strict=True)):
        name = f"clip{i:03d}.png"
        cv2.imwrite(str(root / "flow" / name), np.ascontiguousarray(img[..., ::-1]))
        ds = datasets[i] if datasets else "casme2"
        lines.append(f"{name},{ds},{s},c{i},{int(y)}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root
