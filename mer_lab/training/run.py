"""One training run end to end: load data, make folds, train, pool, score, write outputs (used by tools/train.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mer_lab.datasets.megc_flow import DATASET_NAME, MegcFlowSet, load_megc_flow
from mer_lab.export.to_onnx import export_onnx, onnx_max_abs_diff
from mer_lab.models import input_contract
from mer_lab.paths import BUNDLED_INITS, shared_data
from mer_lab.training.checkpoint import git_commit, save_checkpoint
from mer_lab.training.clip_inputs import CLIP_DATASETS, LICENSED, SYNTHETIC, ClipData, load_licensed, load_synthetic
from mer_lab.training.recipes import PAPER_FROM, SHORTENED
from mer_lab.training.report import plot_confusion, summarize, write_predictions
from mer_lab.training.splits import OVERLAPPING_PROTOCOLS, Fold, dev_holdout_subjects, make_folds
from mer_lab.training.trainer import RECIPE_CHOICES, FitResult, Recipe, cross_validate
from realtime_mer.errors import DataError, OutputError, fail

DATASETS: tuple[str, ...] = (DATASET_NAME, *CLIP_DATASETS)
Dataset = MegcFlowSet | ClipData


@dataclass
class RecognitionTrainConfig:
    """A recognition training job (model, data, protocol, recipe): what ``tools/train.py`` runs."""

    model: str = "apexflow"
    dataset: str = DATASET_NAME
    data_root: Path = field(default_factory=lambda: shared_data("megc2019_composite_flow"))
    protocol: str = "loso"  # loso | kfold | all
    folds: int = 5  # for kfold
    seed: int = 0
    out: Path = Path("runs/apexflow-loso")
    recipe: Recipe = field(default_factory=Recipe)
    save_fold_checkpoints: bool = True
    onnx: bool = True  # protocol "all": also export model.onnx and check parity
    cache_dir: Path | None = None  # clip datasets: model-input cache (None: next to a .npz / in the generator folder / <out>/cache)
    align: bool = True  # licensed clip datasets: align faces with FaceAligner (False: frames are face crops already)
    class_set: str = "megc3"  # realtime_mer.recognition.classes; the datasets' own sets need their dataset
    recipe_preset: str = "cpu"  # paper | cpu (training.recipes); recorded with the results


def load_dataset(name: str, root: Path, cache_dir: Path | None = None, align: bool = True,
                 class_set: str = "megc3") -> Dataset:
    """The dataset ``name`` under ``root``: the MEGC apex-flow PNG set or a clip dataset (``training.clipdata``),
    labelled in ``class_set`` (only the licensed clip datasets have their own emotion sets)."""
    if name in LICENSED:
        return load_licensed(name, root, cache_dir, align, class_set)
    if class_set != "megc3":
        raise fail(DataError, f"--classes {class_set} needs the dataset's own emotion labels; {name} has the 3 MEGC classes only",
                   f"use --classes megc3, or --dataset {', '.join(LICENSED)}")
    if name == DATASET_NAME:
        return load_megc_flow(root)
    if name == SYNTHETIC:
        return load_synthetic(root, cache_dir)
    raise fail(DataError, f"unknown dataset {name!r}", f"use one of {', '.join(DATASETS)}")


def model_data(data: Dataset, model: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(inputs, auxiliary targets or None) of ``model`` on ``data``: apex-flow PNGs as they are, clips via ``clip_input``."""
    if isinstance(data, ClipData):
        return data.inputs(model), data.aux(model)
    if model != "apexflow":
        raise fail(DataError, f"model {model} needs clips, {DATASET_NAME} holds apex-flow images only",
                   f"use --dataset {SYNTHETIC} or one of {', '.join(LICENSED)}")
    return data.images, None


def data_info(cfg: RecognitionTrainConfig, data: Dataset) -> dict[str, Any]:
    """What the model was trained on (for sidecars)."""
    if isinstance(data, ClipData):
        features = f"clips of aligned crops -> preprocess.clip_input({cfg.model!r}): {input_contract(cfg.model).sampling}"
    else:
        features = "28x28 RGB apex-flow PNGs (R=u, G=v, B=optical strain; TV-L1 onset->apex; min-max per channel)"
    info = {
        "dataset": cfg.dataset,
        "root": str(cfg.data_root),
        "n_samples": len(data),
        "n_subjects": len(set(data.subjects)),
        "class_counts": np.bincount(data.labels, minlength=len(data.classes)).tolist(),
        "features": features,
    }
    if isinstance(data, ClipData):
        info["subjects"] = {u: data.subjects.count(u) for u in sorted(set(data.subjects))}
        info["source"] = data.source
    return info


def default_cache(cfg: RecognitionTrainConfig) -> Path | None:
    """The input cache of a run: ``cfg.cache_dir``, else (licensed clip sets) ``<out>/cache``; None: the loader's default."""
    if cfg.cache_dir is not None:
        return cfg.cache_dir
    return cfg.out / "cache" if cfg.dataset in LICENSED else None


def recipe_for_classes(recipe: Recipe, model: str, n_classes: int) -> Recipe:
    """``recipe`` for a class set of ``n_classes``: a head of that size when the model's contract has another, and
    then no bundled initialisation (those are pretrained for the model's own classes, so their head does not fit)."""
    if n_classes == len(input_contract(model).classes):
        return recipe
    init = "" if recipe.init in BUNDLED_INITS else recipe.init
    return dataclasses.replace(recipe, model_kwargs={**recipe.model_kwargs, "num_classes": n_classes}, init=init)


def run(cfg: RecognitionTrainConfig, on_start: Callable[[int], None] | None = None,
        on_fold: Callable[[int, Fold, FitResult], None] | None = None) -> dict[str, Any]:
    """Train/evaluate under ``cfg.protocol`` and write everything into ``cfg.out``; returns metrics (or a summary).

    ``on_start(n_folds)`` is called once the folds are known, ``on_fold`` after each fold.
    """
    check_out_dir(cfg.out)  # before hours of training, not after
    data = load_dataset(cfg.dataset, cfg.data_root, default_cache(cfg), cfg.align, cfg.class_set)
    contract = dataclasses.replace(input_contract(cfg.model), classes=tuple(data.classes))
    cfg.recipe = recipe_for_classes(cfg.recipe, cfg.model, len(data.classes))
    t_inputs = time.perf_counter()
    x, aux = model_data(data, cfg.model)
    t_inputs = time.perf_counter() - t_inputs
    folds = make_folds(cfg.protocol, data.subjects, k=cfg.folds, seed=cfg.seed, strata=data.datasets,
                       labels=data.labels.tolist())
    overlapping = cfg.protocol in OVERLAPPING_PROTOCOLS
    if on_start is not None:
        on_start(len(folds))
    common = {
        "model": cfg.model,
        "data": data_info(cfg, data),
        "protocol": {"name": cfg.protocol, "folds": len(folds), "k": cfg.folds if cfg.protocol == "kfold" else None,
                     "stratified": cfg.protocol == "kfold", "subject_overlapping": overlapping},
        "subject_overlapping": overlapping,  # True: a paper's sample-level split, subjects on both sides (optimistic)
        "classes": list(data.classes),
        "class_set": cfg.class_set,
        "trained": True,
        "recipe_preset": cfg.recipe_preset,
        "recipe": cfg.recipe.to_dict(),
        "recipe_paper_states": PAPER_FROM.get(cfg.model, ""),
        "recipe_shortened": SHORTENED.get(cfg.model, "") if cfg.recipe_preset == "cpu" else "none (paper preset)",
        "seed": cfg.seed,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    fold_epochs: dict[int, list[int]] = {}
    extra: dict[str, Any] = {}

    def _on_fold(i: int, fold: Fold, res: FitResult) -> None:
        fold_epochs[i] = res.epochs_run
        train_subjects = sorted({data.subjects[j] for j in fold.train_idx})
        meta = {**common, "fold": fold.name, "test_subjects": list(fold.test_subjects),
                "train_subjects": train_subjects, "epochs_run": res.epochs_run}
        if cfg.protocol == "all":
            path = save_checkpoint(cfg.out / "model.safetensors", res.model, meta)
            extra["checkpoint"] = str(path)
            if cfg.onnx:
                onnx_path = export_onnx(res.model, cfg.out / "model.onnx", contract,
                                        metadata={"model": cfg.model, "git_commit": git_commit(), "trained": "true",
                                                  "weights": str(path), "class_set": cfg.class_set,
                                                  "recipe_preset": cfg.recipe_preset})
                x = np.random.default_rng(0).random((64, *contract.shape), dtype=np.float32)
                extra["onnx"] = str(onnx_path)
                extra["onnx_max_abs_diff"] = onnx_max_abs_diff(res.model, onnx_path, x)
        elif cfg.save_fold_checkpoints:
            save_checkpoint(cfg.out / "checkpoints" / f"{fold.name}.safetensors", res.model, meta)
        if on_fold is not None:
            on_fold(i, fold, res)

    cv = cross_validate(x, data.labels, data.subjects, folds, cfg.recipe, cfg.seed, cfg.model,
                        strata=data.datasets, on_fold=_on_fold, aux=aux, n_classes=len(data.classes))
    if cfg.protocol == "all":
        summary = {**common, "seconds": cv.seconds, "seconds_inputs": t_inputs, "epochs_run": fold_epochs.get(0), "git_commit": git_commit(), **extra}
        (cfg.out / "train.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
    dev, held_out = dev_holdout_subjects(data.subjects, data.datasets)
    preds = np.where(cv.fold_of >= 0, np.nan_to_num(cv.probs).argmax(1), -1)
    metrics = summarize(data.labels, preds, data.datasets, data.subjects, folds, cv.fold_of, data.classes,
                        groups={"development_half": dev, "held_out_half": held_out})
    for row in metrics["per_fold"]:
        i = next(j for j, f in enumerate(folds) if f.name == row["fold"])
        row["epochs_run"] = fold_epochs.get(i)
    metrics = {**common, "seconds": cv.seconds, "seconds_inputs": t_inputs, "git_commit": git_commit(), **metrics}
    (cfg.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion(metrics["confusion"], data.classes, cfg.out / "confusion.png",
                   f"{cfg.model} {cfg.protocol} seed {cfg.seed}: UF1 {metrics['uf1']:.3f} UAR {metrics['uar']:.3f}")
    write_predictions(cfg.out / "predictions.csv", data.files, data.subjects, data.datasets, data.labels, cv.probs,
                      cv.fold_of, data.classes)
    return metrics


def apply_overrides(recipe: Recipe, items: list[str]) -> Recipe:
    """``key=value`` (value parsed as JSON when possible) applied to a recipe; unknown keys raise DataError."""
    changes: dict[str, Any] = {}
    names = set(Recipe.__dataclass_fields__)
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key not in names:
            raise fail(DataError, f"bad recipe override {item!r}", f"use key=value with key in {', '.join(sorted(names))}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        current = getattr(recipe, key)
        if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(current):
            kind = {bool: "true or false", int: "an integer", float: "a number", str: "a word",
                    dict: "a JSON object"}.get(type(current), type(current).__name__)
            example = current if isinstance(current, str) else json.dumps(current)
            if isinstance(current, dict):
                example = f"'{example}'"
            raise fail(DataError, f"bad recipe override {item!r}: {key} takes {kind}", f"e.g. {key}={example}")
        if key in RECIPE_CHOICES and value not in RECIPE_CHOICES[key]:
            raise fail(DataError, f"bad recipe override {item!r}: {key} {value!r} is not known",
                       f"use one of {', '.join(RECIPE_CHOICES[key])}")
        changes[key] = value
    return dataclasses.replace(recipe, **changes)


def check_out_dir(out: Path) -> None:
    """Refuse an ``--out`` folder that cannot be created or written, before any data is read or trained."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise fail(OutputError, f"--out {out} is a file", "pass a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(OutputError, f"cannot create --out folder {out}: {exc.strerror or exc}", "choose a writable path") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise fail(OutputError, f"--out folder {out} is not writable", "choose a writable path")
