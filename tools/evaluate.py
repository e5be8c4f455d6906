"""Evaluate a trained checkpoint (.safetensors + sidecar, or an exported .onnx) on a dataset.

    python tools/evaluate.py --checkpoint runs/apexflow-loso/checkpoints/loso-casme2_sub01.safetensors \
        --dataset megc2019-flow --data-root ../shared/data/megc2019_composite_flow --out eval/
    python tools/evaluate.py --checkpoint runs/c3d-synth-loso/checkpoints/loso-astronaut.safetensors \
        --dataset synthetic-clips --data-root runs/synth_clips/clips.npz --out eval/c3d-astronaut

Clip models' inputs are built from the clips with realtime_mer.recognition.preprocess.clip_input (cached).

By default only subjects the checkpoint was NOT trained on are scored (``--subjects unseen``);
``--subjects all`` scores everything (training-set fit, not an estimate of generalisation).
Writes metrics.json, confusion.png and predictions.csv into --out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from rich.console import Console

from mer_lab.training.checkpoint import load_checkpoint, read_sidecar
from mer_lab.training.report import plot_confusion, summarize, write_predictions
from mer_lab.training.run import DATASETS, Dataset, check_out_dir, load_dataset, model_data
from mer_lab.training.splits import Fold
from mer_lab.training.trainer import predict_proba
from realtime_mer.errors import DataError, command_main, fail
from realtime_mer.recognition.classifier import ApexFlowClassifier


def probabilities(checkpoint: Path, data: Dataset) -> tuple[np.ndarray, dict]:
    """(N, C) probabilities from a .safetensors checkpoint (torch) or an .onnx model (onnxruntime), and its sidecar."""
    if checkpoint.suffix == ".onnx":
        meta = read_sidecar(checkpoint) if checkpoint.with_suffix(".json").is_file() else {"model": "apexflow"}
        if meta["model"] != "apexflow":
            raise fail(DataError, f"{checkpoint} is a {meta['model']} ONNX model; only apexflow is scored from ONNX here",
                       "pass the .safetensors checkpoint")
        return ApexFlowClassifier(checkpoint).predict_proba(model_data(data, "apexflow")[0]), meta
    model, meta = load_checkpoint(checkpoint)
    return predict_proba(model, model_data(data, meta["model"])[0]), meta


def seen_subjects(meta: dict, dataset: str, subjects: list[str]) -> set[str]:
    """Subjects the model was trained on: listed in fold checkpoints; all of them for a ``--protocol all`` model."""
    if "train_subjects" in meta:
        return set(meta["train_subjects"])
    data = meta.get("data") or meta.get("training_data") or {}
    if (meta.get("protocol") or {}).get("name") == "all" and data.get("dataset") == dataset:
        return set(subjects)
    return set()


@command_main("evaluate.py")
def main(argv: list[str] | None = None) -> int:
    """Score one checkpoint; expected failures print one line and exit 2."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--dataset", default=DATASETS[0], choices=DATASETS)
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--subjects", choices=("unseen", "all"), default="unseen")
    ap.add_argument("--cache-dir", type=Path, default=None, help="clip datasets: model-input cache (see tools/train.py)")
    ap.add_argument("--no-align", action="store_true", help="casme2/samm/smic: frames are face crops already")
    args = ap.parse_args(argv)
    console = Console(stderr=True)
    check_out_dir(args.out)
    cache = args.cache_dir or (args.out / "cache" if args.dataset in ("casme2", "samm", "smic", "casme_sq") else None)
    side = args.checkpoint.with_suffix(".json")
    class_set = "megc3"  # a checkpoint trained on a dataset's own emotion set is scored in that set
    if args.checkpoint.suffix == ".safetensors" and side.is_file():
        from mer_lab.training.checkpoint import read_sidecar

        class_set = str(read_sidecar(args.checkpoint).get("class_set", "megc3"))
    data = load_dataset(args.dataset, args.data_root, cache, not args.no_align, class_set)
    probs, meta = probabilities(args.checkpoint, data)
    seen = seen_subjects(meta, args.dataset, data.subjects)
    if args.subjects == "unseen":
        test = np.flatnonzero([s not in seen for s in data.subjects])
        if not len(test):
            raise fail(DataError, f"every subject of {args.dataset} was used to train {args.checkpoint}",
                       "pass --subjects all to score the training fit, or use a fold checkpoint")
    else:
        test = np.arange(len(data))
    fold_of = np.full(len(data), -1, np.int64)
    fold_of[test] = 0
    fold = Fold("evaluate", np.zeros(0, np.int64), test, tuple(sorted({data.subjects[i] for i in test})))
    preds = np.where(fold_of >= 0, probs.argmax(1), -1)
    metrics = summarize(data.labels, preds, data.datasets, data.subjects, [fold], fold_of, data.classes)
    metrics = {"checkpoint": str(args.checkpoint), "dataset": args.dataset, "subjects": args.subjects,
               "n_seen_in_training": int(sum(data.subjects[i] in seen for i in test)), **metrics}
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion(metrics["confusion"], data.classes, args.out / "confusion.png",
                   f"{args.checkpoint.name}: UF1 {metrics['uf1']:.3f} UAR {metrics['uar']:.3f}")
    write_predictions(args.out / "predictions.csv", data.files, data.subjects, data.datasets, data.labels, probs,
                      fold_of, data.classes)
    if metrics["n_seen_in_training"]:
        console.print(f"warning: {metrics['n_seen_in_training']} of {metrics['n']} scored samples were seen in "
                      "training; this is a training-set fit, not a generalisation estimate", style="yellow")
    console.print(f"UF1 {metrics['uf1']:.3f} UAR {metrics['uar']:.3f} acc {metrics['accuracy']:.3f} "
                  f"on {metrics['n']} samples -> {args.out}/metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
