#!/usr/bin/env python
"""Measure the face stage: alignment error, crop jitter, speed, face-found rate (errors in crop px).

    python tools/measure_alignment.py                 # everything (a few minutes on 2 cores)
    python tools/measure_alignment.py --quick         # fewer frames
    python tools/measure_alignment.py --every 1,4,8 --data ../shared/data/real_faces

(a) synthetic 200 fps head sway of the bundled astronaut (known motion) and real videos vs per-frame
FaceMesh fits; (b) jitter of a static noisy face; (c) ms per frame; (d) face found / lost.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2

from mer_lab.evaluation import alignment as ms
from mer_lab.paths import shared_data
from realtime_mer.config import FaceConfig
from realtime_mer.errors import command_main
from realtime_mer.synth.backdrop import load_astronaut

REAL = shared_data("real_faces")


def table(title: str, rows: list[ms.Row]) -> None:
    """Print rows (dicts) as an aligned text table."""
    print(f"\n## {title}")
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[_fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.3f}"
    return str(v)


@command_main("measure_alignment.py")
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REAL, help="folder with the real_faces videos")
    ap.add_argument("--every", default="1,2,4,8", help="landmark_every values to compare")
    ap.add_argument("--frames", type=int, default=400, help="synthetic frames per run")
    ap.add_argument("--quick", action="store_true", help="150 synthetic frames, first 200 video frames")
    ap.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads (1 = what a pipeline worker uses)")
    ap.add_argument("--gray", action="store_true", help="the aligner gets gray frames (what --video gives it by default: "
                    "the decoder's luma plane; synthetic frames converted); the reference FaceMesh fits stay on colour")
    a = ap.parse_args()
    cv2.setNumThreads(a.threads)
    everies = tuple(int(x) for x in a.every.split(","))
    n, limit = (150, 200) if a.quick else (a.frames, None)

    face, marks = load_astronaut()
    base = ms.place_face(marks)
    table(f"(a) 200 fps head sway, {n} frames: error vs known motion", ms.synthetic_rows(face, base, everies, n, ms.Sway(), a.gray))
    still = ms.Sway(shift_px=0.0, roll_deg=0.0, zoom=0.0)
    table(f"(b) static face + sensor noise, {n} frames: jitter", ms.synthetic_rows(face, base, everies, n, still, a.gray))
    table(f"(c) speed on the 200 fps sway, 640x480, {n} frames (cv2 threads={a.threads})", ms.speed_rows(face, base, everies, n, ms.Sway(seed=5), a.gray))
    for name in ("WolfgangLanger_Pexels.mp4", "single_face.mp4"):
        path = a.data / name
        if path.is_file():
            table(f"(a) {name}: error vs per-frame FaceMesh", ms.video_rows(path, everies, limit, a.gray))
        else:
            print(f"\n{path} not found: skipped")
    print(f"\n## (d) face found (landmark_every={FaceConfig().landmark_every})")
    for name in ("WolfgangLanger_Pexels.mp4", "no_face.mp4", "face_noface.mov"):
        path = a.data / name
        if path.is_file():
            total, found, line = ms.presence(path, FaceConfig().landmark_every)
            print(f"{name}: {found}/{total} frames ({100.0 * found / max(total, 1):.1f} %)\n  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
