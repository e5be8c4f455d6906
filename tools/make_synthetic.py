"""Make a synthetic micro-expression set: AU movements injected into real faces.

Example::

    python tools/make_synthetic.py --source ../shared/data/real_faces/WolfgangLanger_Pexels.mp4 \\
        --source astronaut --out /tmp/synth --n 50 --seconds 20 --seed 0

Writes ``OUT/<nnn>_<source>.avi`` (Motion-JPEG, 640x480 @ 200 fps) and ``OUT/truth.csv``
(``video, onset, apex, offset, type, aus, label``; 0-based inclusive frame indices).
``astronaut`` is the bundled portrait; sources without a usable face are skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

from mer_lab.synthetic.video_set import generate_set
from realtime_mer.errors import DataError, OutputError, command_main, fail
from realtime_mer.synth.clip import ASTRONAUT, SynthConfig
from realtime_mer.synth.render import RenderConfig


@command_main("make_synthetic.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", action="append", help=f"video or image with a face, or '{ASTRONAUT}' (repeatable; default: {ASTRONAUT})")
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--n", type=int, default=50, help="number of videos")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each video")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fps", type=float, default=200.0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--video-motion", choices=("hold", "play"), default="hold", help="video sources: hold one frame per clip (sub-pixel head drift added) or play the video with its own expressions")
    ap.add_argument("--interp", choices=("flow", "blend"), default="flow", help="how played video sources are upsampled")
    ap.add_argument("--jpeg-prob", type=float, default=0.3, help="share of videos re-compressed at JPEG quality 50-85")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.n < 1 or args.seconds <= 0 or args.fps <= 0:
        raise fail(DataError, "--n, --seconds and --fps must be positive", "e.g. --n 50 --seconds 20 --fps 200")
    try:  # refused before anything is rendered
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(OutputError, f"cannot create --out folder {args.out}: {exc.strerror or exc}", "choose a writable --out folder") from None
    cfg = SynthConfig(fps=args.fps, render=RenderConfig(width=args.width, height=args.height), interp=args.interp, video_motion=args.video_motion, jpeg_prob=args.jpeg_prob)
    t0 = time.monotonic()

    def progress(i: int, n: int, name: str) -> None:
        print(f"[{i + 1}/{n}] {name} ({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)

    csv = generate_set(args.source or [ASTRONAUT], args.out, n=args.n, seconds=args.seconds, seed=args.seed, cfg=cfg, progress=progress)
    print(f"wrote {args.n} videos and {csv} in {time.monotonic() - t0:.0f} s; config: {dataclasses.asdict(cfg)['scene']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
