"""Train and evaluate a recognition model with a fixed recipe (thin CLI over mer_lab.training).

    python tools/train.py --model apexflow --dataset megc2019-flow \
        --data-root ../shared/data/megc2019_composite_flow --protocol loso --seed 0 --out runs/apexflow-loso
    python tools/train.py --model c3d --dataset synthetic-clips --data-root runs/synth_clips/clips.npz \
        --protocol loso --seed 0 --out runs/c3d-synth-loso
    python tools/train.py --model learnet --dataset casme2 --data-root /data/CASME2 --protocol loso --out runs/learnet-casme2
    python tools/train.py --model tcgru --dataset casme2 --data-root /data/CASME2 --classes casme2-5 --recipe paper \
        --device auto --out runs/tcgru-casme2-5
    python tools/train.py --model learnet --dataset casme2 --data-root /data/CASME2 --paper-split random80 --out runs/x

Protocols: --protocol kfold (default: subject-exclusive, class-stratified, --folds 5), loso, all (train on
everything, export model.onnx). --paper-split random80|loo replaces them with a paper's sample-level split
to reproduce its table only: subjects land on both sides, so every score it prints and writes is marked
SUBJECT-OVERLAPPING. --recipe paper|cpu picks the paper's recipe or the CPU-budget one (training.recipes).
--classes picks the class set (megc3, or a dataset's own emotions: casme2-5, casme2-7, samm-5, smic-3,
casme-sq-4). --device auto|cpu|cuda (mixed precision on CUDA; seeds fixed, deterministic kernels asked for).

Each model trains with its own fixed recipe (mer_lab.training.recipes: the paper's, shortened
for a CPU). Clip models (c3d, convlstm, tcgru, twostream3d, learnet) need a clip dataset:
synthetic-clips (a .npz from tools/make_synthetic_clips.py or a tools/make_synthetic.py folder;
subject = source face) or casme2 / samm / smic (faces aligned with FaceAligner unless --no-align);
their inputs are built by realtime_mer.recognition.preprocess.clip_input (as live) and cached.

Writes metrics.json (UF1/UAR/accuracy, per_dataset, per_fold, confusion), confusion.png,
predictions.csv and checkpoints/ (per fold) -- or, for --protocol all, model.safetensors +
model.json and model.onnx (with a torch/onnxruntime parity check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mer_lab.models import available_models
from mer_lab.training.recipes import DEFAULT_PRESET, PRESETS, recipe_for
from mer_lab.training.run import DATASETS, RecognitionTrainConfig, apply_overrides, run
from mer_lab.training.splits import PAPER_SPLITS, PROTOCOLS, Fold
from mer_lab.training.trainer import FitResult, make_deterministic, resolve_device
from realtime_mer.errors import command_main
from realtime_mer.recognition.classes import CLASS_SETS, DEFAULT_CLASS_SET

OVERLAP_MARK = "SUBJECT-OVERLAPPING (paper split, not leak-free)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="apexflow", choices=available_models())
    ap.add_argument("--dataset", default=DATASETS[0], choices=DATASETS)
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--protocol", default="kfold", choices=PROTOCOLS,
                    help="kfold: subject-exclusive, class-stratified (default); loso; all (train on everything)")
    ap.add_argument("--paper-split", choices=PAPER_SPLITS, default=None,
                    help="a paper's sample-level split instead of --protocol (subject-overlapping: results are marked so)")
    ap.add_argument("--recipe", default=DEFAULT_PRESET, choices=PRESETS,
                    help="paper: the paper's recipe; cpu: shortened for a CPU (default %(default)s)")
    ap.add_argument("--classes", default=DEFAULT_CLASS_SET, choices=list(CLASS_SETS),
                    help="class set (default %(default)s; the others need their dataset)")
    ap.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"),
                    help="training device (default %(default)s; auto: CUDA when torch sees a GPU; AMP on CUDA)")
    ap.add_argument("--folds", type=int, default=5, help="k for --protocol kfold")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--no-fold-checkpoints", action="store_true", help="do not save one checkpoint per fold")
    ap.add_argument("--cache-dir", type=Path, default=None,
                    help="clip datasets: where model inputs are cached (default: next to a .npz, in a generator "
                         "folder, or <out>/cache for casme2/samm/smic)")
    ap.add_argument("--no-align", action="store_true",
                    help="casme2/samm/smic: the frames are face crops already (resize instead of FaceAligner)")
    ap.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="KEY=VALUE",
                    help="override recipe fields (experiments only; the reported results use none)")
    return ap.parse_args(argv)


@command_main("train.py")
def main(argv: list[str] | None = None) -> int:
    """Run one training job; expected failures print one line and exit 2."""
    args = parse_args(argv)
    console = Console(stderr=True)
    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    device = resolve_device(args.device)
    make_deterministic(args.seed, device)
    recipe = apply_overrides(recipe_for(args.model, args.recipe, threads=args.threads, device=device), args.overrides)
    protocol = f"paper-{args.paper_split}" if args.paper_split else args.protocol
    cfg = RecognitionTrainConfig(model=args.model, dataset=args.dataset, data_root=args.data_root, protocol=protocol,
                      folds=args.folds, seed=args.seed, out=args.out, recipe=recipe,
                      save_fold_checkpoints=not args.no_fold_checkpoints, cache_dir=args.cache_dir,
                      align=not args.no_align, class_set=args.classes, recipe_preset=args.recipe)
    mark = f"{OVERLAP_MARK}: " if args.paper_split else ""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn(), TextColumn("{task.fields[info]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"{mark}{args.model} {protocol} {args.recipe} recipe on {device}, seed {args.seed}",
                                 total=None, info="")

        def on_start(n_folds: int) -> None:
            progress.update(task, total=n_folds)

        def on_fold(i: int, fold: Fold, res: FitResult) -> None:
            progress.update(task, advance=1, info=f"{mark}{fold.name} ({res.seconds:.1f} s)")

        result = run(cfg, on_start=on_start, on_fold=on_fold)
    if args.protocol == "all":
        console.print(f"trained on all data -> {args.out}/model.safetensors, model.onnx "
                      f"(ORT max |diff| {result.get('onnx_max_abs_diff', float('nan'))})")
    else:
        per = "  ".join(f"{d} UF1 {v['uf1']:.3f} UAR {v['uar']:.3f}" for d, v in result["per_dataset"].items())
        console.print(f"{mark}{protocol} seed {args.seed}: UF1 {result['uf1']:.3f} UAR {result['uar']:.3f} "
                      f"acc {result['accuracy']:.3f}  |  {per}  ->  {args.out}/metrics.json", soft_wrap=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
