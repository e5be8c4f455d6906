"""Build tcgru intensity-training windows (with neutral context) from whole generator clips.

    F=../shared/data/real_faces
    python tools/make_intensity_windows.py --source astronaut --source $F/WolfgangLanger_Pexels.mp4 \\
        --source $F/single_face.mp4 --source $F/face_noface.mov --n-clips 12 --seconds 10 --seed 7000 \\
        --out runs/intensity_windows.npz

Each clip is rendered and aligned frame by frame (the live face stage's settings); windows of
``--window-ms`` (the live ``model.intensity_window_ms``, 300) are cut every ``--stride`` frames and
turned into tcgru inputs as the live trace does; per-step targets: 0 on neutral frames, 0 -> 1 from a
movement's onset to its apex, back to 0 at its offset (``mer_lab.synthetic.intensity_windows``). Use
generator seeds disjoint from the demo's (0, 1, 2, ...) and the spotting benchmark's (0..49).
Train with tools/train_intensity.py.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from mer_lab.synthetic.clip_set import clip_subject, generator_clips
from mer_lab.synthetic.intensity_windows import render_window_set
from realtime_mer.errors import command_main
from realtime_mer.synth.clip import ASTRONAUT, SynthConfig
from realtime_mer.synth.render import RenderConfig


@command_main("make_intensity_windows.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", action="append", help=f"face video / image or '{ASTRONAUT}' (repeatable)")
    ap.add_argument("--n-clips", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=7000, help="generator seed of clip 0 (clip i: seed + i)")
    ap.add_argument("--fps", type=float, default=200.0)
    ap.add_argument("--window-ms", type=float, default=300.0)
    ap.add_argument("--stride", type=int, default=20, help="frames between window starts")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    import cv2

    cv2.setNumThreads(1)
    synth = SynthConfig(fps=a.fps, render=RenderConfig(width=640, height=480))
    clips = generator_clips(a.source or [ASTRONAUT], a.n_clips, a.seconds, a.seed, synth)
    window = max(9, round(a.window_ms * a.fps / 1000.0))
    t0 = time.monotonic()
    ws = render_window_set(clips, [clip_subject(c) for c in clips], window, a.stride, a.seed,
                           progress=lambda i, c: print(f"[{i + 1}/{len(clips)}] {c.name} ({time.monotonic() - t0:.0f} s)",
                                                       file=sys.stderr, flush=True))
    meta = {"sources": [str(s) for s in a.source or [ASTRONAUT]], "n_clips": a.n_clips, "seconds": a.seconds,
            "seed": a.seed, "fps": a.fps, "window": window, "stride": a.stride,
            "seconds_to_build": round(time.monotonic() - t0, 1)}
    ws.save(a.out, meta)
    moving = int((ws.target.max(1) > 0).sum())
    print(f"wrote {len(ws)} windows ({moving} touch a movement) to {a.out} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
