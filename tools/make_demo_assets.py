"""Regenerate the demo face assets: the astronaut portrait and its 468 FaceMesh landmarks.

Usage: ``python tools/make_demo_assets.py [--wheel scikit_image-*.whl]``.
With ``--wheel`` the portrait is first extracted from a scikit-image wheel
(``pip download scikit-image --no-deps -d /tmp/sk``) and re-saved losslessly
(same pixels, no colour-profile chunk). The landmarks are then computed once with
MediaPipe FaceMesh in static-image mode and stored as float32 (468, 2) pixel coordinates.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import DataError, command_main, fail

ASSETS = Path(__file__).resolve().parents[1] / "realtime_mer" / "assets"


def extract_from_wheel(wheel: Path, dest: Path) -> None:
    """Copy ``skimage/data/astronaut.png`` out of a scikit-image wheel, re-encoded losslessly."""
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read("skimage/data/astronaut.png")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise fail(DataError, f"cannot decode astronaut.png from {wheel}", "pass a scikit-image wheel with --wheel")
    cv2.imwrite(str(dest), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def face_landmarks(image_bgr: np.ndarray) -> np.ndarray:
    """468 FaceMesh landmarks in pixel coordinates, (468, 2) float32."""
    import mediapipe as mp

    h, w = image_bgr.shape[:2]
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False) as mesh:
        res = mesh.process(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
    if not res.multi_face_landmarks:
        raise fail(DataError, "FaceMesh found no face in the portrait", "restore realtime_mer/assets/astronaut.png with --wheel")
    pts = np.array([(p.x * w, p.y * h) for p in res.multi_face_landmarks[0].landmark], np.float32)
    return pts[:468]


@command_main("make_demo_assets.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="scikit-image wheel to extract astronaut.png from")
    args = ap.parse_args(argv)
    png = ASSETS / "astronaut.png"
    if args.wheel:
        extract_from_wheel(args.wheel, png)
    image = cv2.imread(str(png), cv2.IMREAD_COLOR)
    if image is None:
        raise fail(DataError, f"{png} is missing", "pass --wheel with a scikit-image wheel")
    pts = face_landmarks(image)
    np.save(ASSETS / "astronaut_landmarks.npy", pts)
    print(f"wrote {ASSETS / 'astronaut_landmarks.npy'}: {pts.shape}, bbox {pts.min(0)} .. {pts.max(0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
