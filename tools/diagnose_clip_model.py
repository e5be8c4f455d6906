"""Why does a clip model not learn? Input scale, gradient norms, overfitting a few clips, an lr range test.

    python tools/diagnose_clip_model.py --model c3d --data-root runs/clips24.npz --n 16 --epochs 30

Uses the model's fixed recipe (``--recipe cpu|paper``, ``--set`` overrides as in tools/train.py) on the
first ``--n`` clips of a class-stratified subsample (seed 0). Prints one JSON object per check.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--recipe", default="paper", choices=("cpu", "paper"))
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checks", default="stats,grads,overfit,lr")
    ap.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from mer_lab.models import create_model
    from mer_lab.training.clip_inputs import load_synthetic
    from mer_lab.training.diagnose import grad_norms, input_stats, lr_range, overfit
    from mer_lab.training.recipes import recipe_for
    from mer_lab.training.run import apply_overrides
    from mer_lab.training.trainer import stratified_subsample

    data = load_synthetic(a.data_root)
    x_all = data.inputs(a.model)
    idx = stratified_subsample(data.labels, a.n, a.seed)
    x, y = x_all[idx], data.labels[idx]
    recipe = apply_overrides(recipe_for(a.model, a.recipe), a.overrides)
    checks = set(a.checks.split(","))
    if "stats" in checks:
        print(json.dumps({"check": "input_stats", **input_stats(x, a.model)}), flush=True)
    if "grads" in checks:
        torch.manual_seed(a.seed)
        g = grad_norms(create_model(a.model, **recipe.model_kwargs), torch.from_numpy(x), torch.from_numpy(y))
        print(json.dumps({"check": "grad_norms", **{k: round(v, 6) for k, v in g.items()}}), flush=True)
    if "overfit" in checks:
        r = overfit(a.model, x, y, recipe, a.epochs, a.seed)
        print(json.dumps({"check": "overfit", "n": len(y), "epochs": a.epochs, "lr": recipe.lr,
                          "optimizer": recipe.optimizer, "accuracy": [round(v, 3) for v in r.accuracy],
                          "loss": [round(v, 4) for v in r.loss]}), flush=True)
    if "lr" in checks:
        pts = lr_range(a.model, x, y, recipe, seed=a.seed)
        print(json.dumps({"check": "lr_range", "points": [[float(f"{lr:.3g}"), round(v, 4)] for lr, v in pts]}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
