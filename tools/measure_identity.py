"""How well face ids follow people on real faces composited into one video (needs the shared data).

    python tools/measure_identity.py --seeds 0,1,2 [--json out.json]

Each layout of ``mer_lab.synthetic.multiface`` (two crossing faces, one passing in front of the other; the same one
above the other; a face that leaves and comes back; three side by side) is rendered per seed and run through the
face stage with ``--max-faces`` set to its number of faces, as a video reaches it (gray). Reported per layout,
summed over seeds: id swaps (an id seen on two people: the error that would mix two people in the log), ids per
person (1 is ideal), the share of visible frames each person was followed, and how often a face was lost (or hidden
behind another) and how often it got its id back.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mer_lab.evaluation.identity import follow_clip
from mer_lab.paths import shared_data
from mer_lab.synthetic.multiface import DEFAULT_SOURCES, build_multiface
from realtime_mer.errors import command_main, fail

LAYOUTS = (("crossing, one in front", "crossing", 2, False), ("crossing, apart", "crossing", 2, True),
           ("leave and return", "leave_return", 2, False), ("three side by side", "side_by_side", 3, False))


def measure(layout: str, faces: int, apart: bool, seed: int, sources: list[Path]) -> dict[str, object]:
    clip = build_multiface(layout, faces, seed=seed, inject_actor=None, apart=apart, sources=sources)
    rep, stats = follow_clip(clip, faces)
    return {**rep.to_dict(), "losses": stats["losses"] + stats["duplicates"], "ids_returned": stats["ids_returned"],
            "frames": clip.n_frames}


@command_main("measure_identity.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default %(default)s)")
    ap.add_argument("--data", type=Path, default=shared_data(), help="the shared data folder")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    a = ap.parse_args(argv)
    sources = [a.data.joinpath(*s.split("/")) for s in DEFAULT_SOURCES]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise fail(ValueError, f"face videos not found: {', '.join(missing)}", "pass --data (the shared data folder)")
    seeds = [int(s) for s in a.seeds.split(",")]
    raw: dict[str, list[dict[str, object]]] = {}
    print("| layout | clips | id swaps | ids per person | visible frames followed | faces lost or hidden, ids given back |")
    print("|---|---|---|---|---|---|")
    for name, layout, faces, apart in LAYOUTS:
        res = raw[name] = [measure(layout, faces, apart, s, sources) for s in seeds]
        swaps = sum(len(r["swaps"]) for r in res)  # type: ignore[arg-type]
        ids = [n for r in res for n in r["ids_per_actor"].values()]  # type: ignore[attr-defined]
        cov = [c for r in res for c in r["coverage"].values()]  # type: ignore[attr-defined]
        print(f"| {name} | {len(res)} x {res[0]['frames']} frames | {swaps} | {min(ids)}–{max(ids)} | "
              f"{100 * min(cov):.0f}–{100 * max(cov):.0f} % | {sum(r['losses'] for r in res)}, "  # type: ignore[misc]
              f"{sum(r['ids_returned'] for r in res)} |")  # type: ignore[misc]
    if a.json:
        a.json.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
