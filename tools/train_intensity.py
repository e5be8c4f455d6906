"""Train tcgru with an intensity head that follows the face: class head on clips, intensity head on clips and
windows with neutral context (mer_lab.training.intensity); writes model.safetensors + model.onnx.

    python tools/make_intensity_windows.py ... --out runs/intensity_windows.npz
    python tools/train_intensity.py --clips runs/synth_clips/clips.npz --windows runs/intensity_windows.npz \\
        --seed 0 --out runs/tcgru-intensity
    python tools/bench_intensity.py --model-path runs/tcgru-intensity/model.onnx --seeds 0,1,2 --seconds 20

Recipe: tcgru's fixed ``--recipe paper`` (RMSProp 1e-4, wd 0.005, rotation / scale / translation, 50 epochs)
unless ``--set`` overrides it. ``--holdout FACE`` leaves that face's windows out of training and reports the
window-level AUC (inside vs outside movements) on them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from realtime_mer.errors import command_main


@command_main("train_intensity.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=Path, required=True, help="a synthetic clip set .npz (class labels)")
    ap.add_argument("--windows", type=Path, required=True, help="a window set .npz (tools/make_intensity_windows.py)")
    ap.add_argument("--recipe", default="paper", choices=("cpu", "paper"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--holdout", default=None, help="a face (subject) whose windows are held out and scored")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from mer_lab.benchmarks.intensity_trace import auc
    from mer_lab.export.to_onnx import export_onnx, onnx_max_abs_diff
    from mer_lab.models import input_contract
    from mer_lab.synthetic.intensity_windows import WindowSet
    from mer_lab.training.checkpoint import git_commit, save_checkpoint
    from mer_lab.training.clip_inputs import load_synthetic
    from mer_lab.training.intensity import clip_intensity_targets, fit_intensity, predict_intensity
    from mer_lab.training.recipes import recipe_for
    from mer_lab.training.run import apply_overrides

    t0 = time.perf_counter()
    recipe = apply_overrides(recipe_for("tcgru", a.recipe), a.overrides)
    data = load_synthetic(a.clips)
    cx = data.inputs("tcgru")
    ct = clip_intensity_targets(data.clips.onset, data.clips.apex, data.clips.offset)
    ws, wmeta = WindowSet.load(a.windows)
    keep = np.array([s != a.holdout for s in ws.subjects])
    ckeep = np.array([s != a.holdout for s in data.subjects])
    res = fit_intensity(cx[ckeep], data.labels[ckeep], ct[ckeep], ws.x[keep], ws.target[keep], recipe, a.seed)
    summary: dict[str, object] = {"model": "tcgru", "recipe_preset": a.recipe, "recipe": recipe.to_dict(),
                                  "seed": a.seed, "clips": str(a.clips), "windows": str(a.windows),
                                  "windows_meta": wmeta, "n_clips": int(ckeep.sum()), "n_windows": int(keep.sum()),
                                  "holdout": a.holdout, "steps": res.steps, "seconds_train": round(res.seconds, 1),
                                  "git_commit": git_commit(), "intensity_target": "0 neutral, 0->1 onset->apex, 1->0 apex->offset"}
    if a.holdout is not None:
        pred = predict_intensity(res.model, ws.x[~keep]).reshape(-1)
        truth = ws.target[~keep].reshape(-1)
        summary["holdout_windows"] = int((~keep).sum())
        summary["holdout_step_auc"] = auc(pred[truth > 0], pred[truth <= 0])
        print(f"held-out face {a.holdout}: {int((~keep).sum())} windows, step AUC inside vs outside "
              f"{summary['holdout_step_auc']:.3f}", flush=True)
    contract = input_contract("tcgru")
    meta = {"model": "tcgru", "classes": list(data.classes), "trained": True, "recipe": recipe.to_dict(),
            "recipe_preset": a.recipe, "seed": a.seed, "train_subjects": sorted(set(np.array(data.subjects)[ckeep])),
            "intensity_target": summary["intensity_target"]}
    path = save_checkpoint(a.out / "model.safetensors", res.model, meta)
    onnx_path = export_onnx(res.model, a.out / "model.onnx", contract,
                            metadata={"model": "tcgru", "git_commit": git_commit(), "trained": "true",
                                      "weights": str(path), "class_set": "megc3", "recipe_preset": a.recipe})
    x = np.random.default_rng(0).random((8, *contract.shape), dtype=np.float32)
    summary["onnx_max_abs_diff"] = onnx_max_abs_diff(res.model, onnx_path, x)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    (a.out / "train.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"trained tcgru ({res.steps} steps, {res.seconds:.0f} s) -> {onnx_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
