"""The cheap levers of apexflow under the fixed leak-free LOSO protocol: flip test-time augmentation and a seed
ensemble, measured on the same trained fold models (no choice looks at a held-out subject).

    python tools/apexflow_levers.py --data-root ../shared/data/megc2019_composite_flow --seeds 0 1 --out runs/levers

Per seed: one LOSO run of the fixed recipe (``recipe_for("apexflow")``, which now starts from the bundled synthetic
pretraining; ``--set`` overrides as in tools/train.py, e.g. ``init=`` for random weights as before issue 27, or
``init=pretrained.safetensors``); every fold's model predicts its held-out subject plainly and with flip TTA
(mirrored, u negated, softmax averaged). Probabilities are saved per seed (``probs_s<seed>.npz``); the summary
scores each seed plain / TTA and the seed ensemble (mean probabilities over the seeds run, plain / TTA), composite
and per sub-dataset. A later call with other seeds reuses the saved runs.

``--protocol dev5`` replaces LOSO by the recipe-development protocol of tools/tune_recipe.py: subject 5-fold CV
inside the development half only (``dev_holdout_subjects``; folds ``subject_kfold(..., seed=100 + seed)``), ~30x
cheaper than LOSO; the held-out half is not read. Adoption rule for a lever or an initialisation, fixed before
any of these runs (issue 27; the rule of tune_recipe.py rounds 1-8): mean development UF1 higher by more than
0.02, higher on every paired seed, and UAR not lower. Only what passes it goes on to a 5-seed LOSO.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--protocol", choices=("loso", "dev5"), default="loso")
    ap.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from mer_lab.datasets.megc_flow import load_megc_flow
    from mer_lab.training.metrics import scores
    from mer_lab.training.recipes import recipe_for
    from mer_lab.training.run import apply_overrides
    from mer_lab.training.splits import Fold, dev_holdout_subjects, loso, subject_kfold
    from mer_lab.training.trainer import FitResult, FlipAverage, cross_validate, make_deterministic, predict_proba

    data = load_megc_flow(a.data_root)
    if a.protocol == "dev5":
        dev, _held_out = dev_holdout_subjects(data.subjects, data.datasets)
        data = data.subset(np.flatnonzero(np.isin(np.asarray(data.subjects, dtype=object), dev)))
    recipe = apply_overrides(recipe_for("apexflow"), a.overrides)
    a.out.mkdir(parents=True, exist_ok=True)
    for seed in a.seeds:
        path = a.out / f"probs_s{seed}.npz"
        if path.is_file():
            continue
        make_deterministic(seed, "cpu")
        folds = loso(data.subjects) if a.protocol == "loso" else subject_kfold(data.subjects, 5, seed=100 + seed,
                                                                               strata=data.datasets)
        tta = np.full((len(data.labels), 3), np.nan)

        def on_fold(i: int, fold: Fold, res: FitResult, tta: np.ndarray = tta) -> None:
            if len(fold.test_idx):
                tta[fold.test_idx] = predict_proba(FlipAverage(res.model), data.images[fold.test_idx])

        cv = cross_validate(data.images, data.labels, data.subjects, folds, recipe, seed, "apexflow",
                            strata=data.datasets, on_fold=on_fold)
        np.savez(path, plain=cv.probs, tta=tta, seconds=cv.seconds, recipe=json.dumps(recipe.to_dict()))
        print(f"seed {seed}: {a.protocol} done in {cv.seconds:.0f} s", flush=True)
    runs = {s: np.load(a.out / f"probs_s{s}.npz") for s in a.seeds}
    ds = np.array(data.datasets)

    def score(p: np.ndarray) -> dict[str, float]:
        pred = p.argmax(1)
        out = {"uf1": scores(data.labels, pred).uf1, "uar": scores(data.labels, pred).uar}
        for d in sorted(set(data.datasets)):
            m = ds == d
            sc = scores(data.labels[m], pred[m])
            out[f"{d}_uf1"], out[f"{d}_uar"] = sc.uf1, sc.uar
        return out

    summary = {"protocol": a.protocol, "n_samples": len(data.labels), "recipe_overrides": a.overrides, "seeds": a.seeds,
               "per_seed": {s: {"plain": score(r["plain"]), "tta": score(r["tta"]), "seconds": float(r["seconds"])}
                            for s, r in runs.items()}}
    if len(runs) > 1:
        summary["seed_ensemble"] = {k: score(np.mean([r[k] for r in runs.values()], axis=0)) for k in ("plain", "tta")}
    text = json.dumps(summary, indent=1)
    (a.out / f"summary_{'_'.join(map(str, a.seeds))}.json").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
