"""Decode-only speed of a video file: the yardstick of ``tools/bench.py``'s throughput table (issue 24).

    python -m mer_lab.benchmarks.decode FILE            # OpenCV's default: BGR frames, FFmpeg's own thread count
    python -m mer_lab.benchmarks.decode FILE --gray     # what realtime-mer reads: the luma plane, one decoder thread

Prints one JSON line: ``{"frames": N, "seconds": S, "fps": F, "cpu_s": C}``. Run in a fresh process per
measurement (as ``tools/bench.py`` does), side by side with the pipeline on the same file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from realtime_mer.errors import DataError, command_main, fail


def decode(path: Path, gray: bool = False) -> dict[str, float]:
    """Read every frame of ``path`` and nothing else; frames, wall seconds, fps, process CPU seconds."""
    import cv2

    if gray:
        from realtime_mer.capture.video import VideoSource

        src = VideoSource(path, gray=True)
        src.open()
        read = src.read
    else:
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise fail(DataError, f"cannot open {path} as a video", "check the path")

        def read():  # type: ignore[no-untyped-def]
            ok, img = cap.read()
            return img if ok else None

    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while read() is not None:
        n += 1
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"frames": n, "seconds": round(dt, 4), "fps": round(n / dt, 2) if dt > 0 else 0.0, "cpu_s": round(cpu, 4)}


@command_main("mer_lab.benchmarks.decode")
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--gray", action="store_true", help="decode as realtime-mer does (luma plane, one decoder thread)")
    a = ap.parse_args()
    print(json.dumps(decode(a.path, a.gray)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
