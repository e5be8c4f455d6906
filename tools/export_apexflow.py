"""Bundle a trained apexflow checkpoint as the package's model: ONNX + JSON sidecar with LOSO metrics.

    python tools/export_apexflow.py --checkpoint runs/apexflow-all/model.safetensors \
        --loso runs/apexflow-loso-s0 runs/apexflow-loso-s1 runs/apexflow-loso-s2 --out realtime_mer/assets

Writes <out>/apexflow.onnx (opset 17, dynamic batch) and <out>/apexflow.json (classes, input
contract, recipe, training data, LOSO metrics per seed and mean/spread, ORT-vs-torch parity).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from mer_lab.export.to_onnx import export_onnx, onnx_max_abs_diff
from mer_lab.models import InputContract
from mer_lab.training.checkpoint import git_commit, load_checkpoint
from realtime_mer.errors import ModelError, command_main, fail

PARITY_TOL = 1e-4
KEYS = ("uf1", "uar", "accuracy")


def _spread(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max())}


def loso_summary(runs: list[Path]) -> dict[str, Any]:
    """Per-seed LOSO metrics and their mean / sample std / min / max (composite, per sub-dataset, held-out half)."""
    per_seed = []
    for run in runs:
        m = json.loads((run / "metrics.json").read_text())
        if m["protocol"]["name"] != "loso":
            raise fail(ModelError, f"{run} is a {m['protocol']['name']} run", "pass LOSO run folders to --loso")
        per_seed.append({
            "run": str(run), "seed": m["seed"], **{k: m[k] for k in KEYS},
            "per_dataset": {d: {k: v[k] for k in ("uf1", "uar")} for d, v in m["per_dataset"].items()},
            "held_out_half": {k: m["held_out_half"][k] for k in ("uf1", "uar", "n")},
            "development_half": {k: m["development_half"][k] for k in ("uf1", "uar", "n")},
        })
    out: dict[str, Any] = {"protocol": "LOSO, 68 folds, predictions pooled (MEGC 2019)", "per_seed": per_seed}
    out.update({k: _spread([s[k] for s in per_seed]) for k in KEYS})
    out["per_dataset"] = {d: {k: _spread([s["per_dataset"][d][k] for s in per_seed]) for k in ("uf1", "uar")}
                          for d in per_seed[0]["per_dataset"]}
    for half in ("held_out_half", "development_half"):
        out[half] = {k: _spread([s[half][k] for s in per_seed]) for k in ("uf1", "uar")}
    return out


def initialisation(init: str) -> dict[str, Any] | None:
    """Where the recipe's initial weights came from: a bundled pretraining (its file's sha256 and how it was made,
    from the JSON beside it) or a path; None for random weights."""
    if not init:
        return None
    import hashlib

    from mer_lab.paths import BUNDLED_INITS

    path = BUNDLED_INITS.get(init, Path(init))
    out: dict[str, Any] = {"init": init, "file": path.name,
                           "sha256": hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None}
    about = path.with_suffix(".json")
    if about.is_file():
        made = json.loads(about.read_text())
        flows = made.get("flows", {})
        out["pretraining"] = {
            "n": made.get("n"), "classes": made.get("classes"), "seed": flows.get("seed"),
            "videos": [Path(v).name for v in flows.get("videos", [])], "epochs": made.get("recipe", {}).get("epochs"),
            "command": f"python tools/pretrain_apexflow.py --stills-per-video {flows.get('config', {}).get('stills_per_video')} "
                       f"--per-still {flows.get('per_still')} --seed {flows.get('seed')} --out runs/pretrain"}
    return out


@command_main("export_apexflow.py")
def main(argv: list[str] | None = None) -> int:
    """Export and check; expected failures print one line and exit 2."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--loso", type=Path, nargs="*", default=[])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", default="apexflow")
    args = ap.parse_args(argv)
    commit = git_commit()  # before anything is written: the export itself changes tracked files
    model, meta = load_checkpoint(args.checkpoint)
    contract = InputContract.from_dict(meta["input_contract"])
    onnx_path = export_onnx(model, args.out / f"{args.name}.onnx", contract,
                            metadata={"model": meta["model"], "git_commit": commit})
    x = np.random.default_rng(0).random((64, *contract.shape), dtype=np.float32)
    diff = onnx_max_abs_diff(model, onnx_path, x)
    if diff >= PARITY_TOL:
        raise fail(ModelError, f"ONNX output differs from torch by {diff:.2e}", "check the exporter")
    proto = onnx.load(str(onnx_path))
    sidecar = {
        "model": meta["model"],
        "format": "onnx",
        "classes": meta["classes"],
        "input_contract": meta["input_contract"],
        "output": "logits (softmax gives the class probabilities)",
        "recipe": meta["recipe"],
        "seed": meta["seed"],
        "protocol": meta["protocol"],
        "epochs_run": meta.get("epochs_run"),
        "training_data": meta["data"],
        "training_checkpoint_commit": meta.get("git_commit"),
        "export_commit": commit,
        "onnx": {"opset": proto.opset_import[0].version, "ir_version": proto.ir_version,
                 "onnxruntime": ort.__version__, "max_abs_diff_vs_torch": diff,
                 "bytes": onnx_path.stat().st_size},
        "loso": loso_summary(args.loso) if args.loso else None,
        "initialisation": initialisation(meta["recipe"].get("init", "")),
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(f"{onnx_path} ({onnx_path.stat().st_size} bytes, opset {sidecar['onnx']['opset']}, "
          f"IR {sidecar['onnx']['ir_version']}), max |torch - ORT| = {diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
