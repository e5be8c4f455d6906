"""Make a video of several real faces with known face boxes, micro-movements injected into one of them.

Example::

    python tools/make_multiface.py --layout crossing --seed 0 --out /tmp/mf_crossing
    python tools/make_multiface.py --layout grid --faces 4 --seconds 5 --out /tmp/mf_grid4

Layouts: ``side_by_side`` (2 or 3 still faces), ``crossing`` (2 faces pass each other, actor 0 in front;
``--apart``: one above the other), ``leave_return`` (actor 1 leaves through the right edge and comes back),
``grid`` (1, 2 or 4 faces on 640x480 at 200 fps). Writes into OUT: ``multiface.avi`` (Motion-JPEG; ``--video mkv``:
FFV1, lossless; ``--video png``: a folder of frames), ``truth.csv`` (``video, onset, apex, offset, type, aus, label``:
the injected actor's movements, 0-based inclusive frames), ``faces_truth.csv`` (the same with an ``actor`` column
first), ``boxes.csv`` (``frame, actor, x, y, w, h, visible, visible_frac``: every actor's true face box on every
frame) and ``multiface.json`` (layout and actors). The faces come from ../shared/data ($REALTIME_MER_SHARED_DATA)
or --source; several have no open licence: never commit the videos made here.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from mer_lab.synthetic.multiface import (
    DEFAULT_FPS,
    DEFAULT_SECONDS,
    LAYOUTS,
    MASKS,
    MOTIONS,
    VIDEO_FORMATS,
    build_multiface,
    check_request,
    write_multiface,
)
from realtime_mer.errors import OutputError, command_main, fail


@command_main("make_multiface.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="See docs/lab/multiface-data.md.")
    ap.add_argument("--layout", choices=LAYOUTS, default="side_by_side", help="how the faces are placed and move")
    ap.add_argument("--faces", type=int, default=None, help="number of faces (side_by_side: 2 or 3; crossing, leave_return: 2; grid: 1, 2 or 4; default: 2, grid 4)")
    ap.add_argument("--seconds", type=float, default=None, help="length (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_SECONDS.items()) + ")")
    ap.add_argument("--fps", type=float, default=None, help="frame rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_FPS.items()) + ")")
    ap.add_argument("--seed", type=int, default=0, help="everything (positions, source frames, movements) is drawn from it")
    ap.add_argument("--inject-actor", type=int, default=0, help="the actor (0-based) that gets the injected movements; -1: none")
    ap.add_argument("--motion", choices=MOTIONS, default=None, help="hold: a still of each source with small sway and blinks (grid's default); play: the source at its own speed")
    ap.add_argument("--apart", action="store_true", help="crossing: one face above the other, so they pass without overlapping")
    ap.add_argument("--out-seconds", type=float, default=1.25, help="leave_return: seconds the face stays wholly outside")
    ap.add_argument("--mask", choices=MASKS, default="ellipse", help="each face pasted through a feathered ellipse or as its whole rectangular tile")
    ap.add_argument("--source", action="append", type=Path, help="a face video or image per actor, in actor order (repeat; default: the shared data's non-talking faces)")
    ap.add_argument("--video", choices=VIDEO_FORMATS, default="avi", help="avi: Motion-JPEG q95; mkv: FFV1 lossless (large); png: a folder of frames")
    ap.add_argument("--name", default="multiface", help="the video's name (the truth's video column)")
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    faces = args.faces if args.faces is not None else (4 if args.layout == "grid" else 2)
    inject = None if args.inject_actor == -1 else args.inject_actor
    seconds = DEFAULT_SECONDS[args.layout] if args.seconds is None else args.seconds
    fps = DEFAULT_FPS[args.layout] if args.fps is None else args.fps
    check_request(args.layout, faces, seconds, fps, inject, args.out_seconds)  # refused before any video is read
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(OutputError, f"cannot create --out folder {args.out}: {exc.strerror or exc}", "choose a writable --out folder") from None
    t0 = time.monotonic()
    clip = build_multiface(args.layout, faces, seconds=seconds, fps=fps, seed=args.seed, inject_actor=inject, motion=args.motion,
                           apart=args.apart, out_s=args.out_seconds, mask=args.mask, sources=args.source, name=args.name)

    def progress(i: int, n: int) -> None:
        if (i + 1) % 100 == 0 or i + 1 == n:
            print(f"[{i + 1}/{n}] ({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)

    files = write_multiface(clip, args.out, video=args.video, progress=progress)
    heights = ", ".join(f"{a.name} {a.face_height:.0f}" for a in clip.actors)
    print(f"wrote {files.video} ({clip.n_frames} frames, {clip.width}x{clip.height} @ {clip.fps:g} fps; face heights px: {heights}), "
          f"{len(clip.truth)} movements in {files.truth}, boxes in {files.boxes} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
