"""Rebuild the head-pose reference face ``realtime_mer/face/reference3d.npy``.

    python tools/make_face_reference.py [--image realtime_mer/assets/astronaut.png] [-o realtime_mer/face/reference3d.npy]

Runs MediaPipe FaceMesh (static image mode, mediapipe 0.10.21) on the portrait, keeps each landmark's
x, y and relative depth z (in pixels: z is on x's scale) and frontalises them against the alignment
template (``realtime_mer.face.pose.build_reference``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import DataError, command_main, fail
from realtime_mer.face.mesh import _import_mediapipe, quiet_stderr
from realtime_mer.face.pose import REFERENCE_PATH, build_reference

ASTRONAUT = Path(__file__).resolve().parents[1] / "realtime_mer" / "assets" / "astronaut.png"


@command_main("make_face_reference.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=ASTRONAUT, help="a frontal face (default: the bundled portrait)")
    ap.add_argument("-o", "--out", type=Path, default=REFERENCE_PATH, help="where to write the (468, 3) reference")
    a = ap.parse_args(argv)
    img = cv2.imread(str(a.image), cv2.IMREAD_COLOR)
    if img is None:
        raise fail(DataError, f"cannot read image {a.image}", "pass a PNG or JPEG with one face")
    mp = _import_mediapipe()
    h, w = img.shape[:2]
    with quiet_stderr(), mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False) as fm:
        res = fm.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    if not res.multi_face_landmarks:
        raise fail(DataError, f"no face found in {a.image}", "pass an image with one clearly visible face")
    pts = np.array([(p.x * w, p.y * h, p.z * w) for p in res.multi_face_landmarks[0].landmark], np.float64)
    ref = build_reference(pts)
    np.save(a.out, ref)
    print(f"wrote {a.out}: {ref.shape} reference, depth span {np.ptp(ref[:, 2]):.1f} px of a {np.ptp(ref[:, 0]):.1f} px wide face")
    return 0


if __name__ == "__main__":
    sys.exit(main())
