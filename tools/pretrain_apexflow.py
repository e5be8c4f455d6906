"""Pretrain apexflow on synthetic onset->apex flows (mer_lab.synthetic.flow_pretrain); the weights then initialise
every LOSO fold's networks (``--set init=...``), so no composite sample is seen before fine-tuning.

    python tools/pretrain_apexflow.py --per-still 12 --seed 9000 --out runs/pretrain
    python tools/apexflow_levers.py --data-root ../shared/data/megc2019_composite_flow --seeds 0 \\
        --out runs/levers-pre --set init=runs/pretrain/apexflow_pretrained.safetensors

Faces: every face video under ``--faces-root`` (default ../shared/data: real_faces, real_faces_more,
real_faces_listen; ``no_face.mp4`` skipped) -- none of them is a MEGC subject. Pretraining recipe (fixed
before any LOSO run): apexflow's recipe with one network, ``--epochs`` (30) and the same input scaling.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from realtime_mer.errors import command_main


@command_main("pretrain_apexflow.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces-root", type=Path, default=Path("../shared/data"))
    ap.add_argument("--stills-per-video", type=int, default=4)
    ap.add_argument("--per-still", type=int, default=12)
    ap.add_argument("--seed", type=int, default=9000)
    ap.add_argument("--epochs", type=int, default=30)
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
    if flows.is_file():
        s, meta = SynthFlowSet.load(flows)
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
    recipe = recipe_for("apexflow", ensemble=1, epochs=a.epochs)
    res = fit(s.images, s.labels, recipe, a.seed, "apexflow")
    path = a.out / "apexflow_pretrained.safetensors"
    save_file({k: v.detach().contiguous() for k, v in res.model.state_dict().items()}, str(path))
    (a.out / "pretrain.json").write_text(json.dumps({"flows": meta, "n": len(s), "classes": counts,
                                                     "recipe": recipe.to_dict(), "seconds_train": round(res.seconds, 1)},
                                                    indent=1, default=str) + "\n")
    print(f"pretrained apexflow ({a.epochs} epochs, {res.seconds:.0f} s) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
