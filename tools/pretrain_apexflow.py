"""Pretrain apexflow on synthetic onset->apex flows (mer_lab.synthetic.flow_pretrain); the weights initialise every
network of every fold of apexflow's recipe, so no composite sample is seen before fine-tuning.

    python tools/pretrain_apexflow.py --seed 9000 --out runs/pretrain
    python tools/apexflow_levers.py --data-root ../shared/data/megc2019_composite_flow --protocol dev5 --seeds 0 1 2 \\
        --out runs/levers-pre --set init=runs/pretrain/apexflow_pretrained.safetensors

The defaults made the bundled initialisation (``mer_lab/assets/apexflow_synthetic_flow.safetensors``, the JSON beside
it says how; the recipe's ``init="synthetic-flow"``): 3 stills per video x 8 samples = 560 flows, 30 epochs. In one
environment a rebuild is identical; an earlier session's build (another install) gave other weights, cause not traced.

Faces: every face video under ``--faces-root`` (default ../shared/data: real_faces, real_faces_more,
real_faces_listen; ``no_face.mp4`` skipped) -- none of them is a MEGC subject. Pretraining recipe (fixed
before any LOSO run): apexflow's recipe with one network (``--members``), ``--epochs`` (30), the same input
scaling, random initial weights.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from realtime_mer.errors import DataError, command_main, fail


@command_main("pretrain_apexflow.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces-root", type=Path, default=Path("../shared/data"))
    ap.add_argument("--stills-per-video", type=int, default=3)
    ap.add_argument("--per-still", type=int, default=8)
    ap.add_argument("--seed", type=int, default=9000)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--members", type=int, default=1,
                    help="networks to pretrain (seeds as an ensemble's members); with several, the file holds "
                         "member<m>.* keys and ensemble member m of every fold starts from network m (default 1)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    from safetensors.torch import save_file

    from mer_lab.synthetic.flow_pretrain import SynthFlowConfig, SynthFlowSet, config_dict, face_stills, render_flow_set
    from mer_lab.training.recipes import recipe_for
    from mer_lab.training.trainer import fit

    cfg = SynthFlowConfig(stills_per_video=a.stills_per_video)
    flows = a.out / "synthetic_flows.npz"
    t0 = time.monotonic()
    if flows.is_file():  # built before (the round's variations reuse one set): only with the same settings
        s, meta = SynthFlowSet.load(flows)
        asked = {"per_still": a.per_still, "seed": a.seed, "stills_per_video": a.stills_per_video}
        made = meta.get("config")
        built = {"per_still": meta.get("per_still"), "seed": meta.get("seed"),
                 "stills_per_video": made.get("stills_per_video") if isinstance(made, dict) else None}
        if built != asked:
            raise fail(DataError, f"{flows} was built with {built}, not {asked}",
                       "pass another --out, or delete that file to build the flows again")
    else:
        videos = sorted(p for d in ("real_faces", "real_faces_more", "real_faces_listen")
                        for p in (a.faces_root / d).iterdir() if p.suffix.lower() in (".mp4", ".mov") and p.stem != "no_face")
        stills = face_stills(videos, cfg, a.seed)
        s = render_flow_set(stills, a.per_still, a.seed, cfg,
                            progress=lambda i, n: print(f"[{i}/{n}] stills ({time.monotonic() - t0:.0f} s)",
                                                        file=sys.stderr, flush=True))
        meta = {"videos": [str(v) for v in videos], "stills": len(stills), "per_still": a.per_still, "seed": a.seed,
                "config": config_dict(cfg), "seconds": round(time.monotonic() - t0, 1)}
        s.save(flows, meta)
    counts = np.bincount(s.labels, minlength=3).tolist()
    print(f"{len(s)} synthetic flows from {len(set(s.faces))} faces, classes {counts}", flush=True)
    recipe = recipe_for("apexflow", ensemble=a.members, epochs=a.epochs, init="")  # from random weights
    res = fit(s.images, s.labels, recipe, a.seed, "apexflow")
    path = a.out / "apexflow_pretrained.safetensors"
    if a.members == 1:
        state = res.model.state_dict()
    else:
        from mer_lab.training.trainer import MEMBER_PREFIX

        state = {f"{MEMBER_PREFIX}{m}.{k}": v for m, net in enumerate(res.model.members) for k, v in net.state_dict().items()}
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(path))
    (a.out / "pretrain.json").write_text(json.dumps({"flows": meta, "n": len(s), "classes": counts,
                                                     "recipe": recipe.to_dict(), "seconds_train": round(res.seconds, 1)},
                                                    indent=1, default=str) + "\n")
    print(f"pretrained {a.members} apexflow network(s) ({a.epochs} epochs, {res.seconds:.0f} s) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
