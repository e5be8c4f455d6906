"""Per-model training recipes in two presets: ``paper`` (the paper's values where it states them) and ``cpu``
(the same recipe shortened to fit a CPU budget). ``recipe_for(model, preset)`` is what ``tools/train.py``
uses (``--recipe paper|cpu``) unless ``--set`` overrides fields. All values are fixed here, before any
held-out subject is seen; the only data-driven choices inside a fold (early stopping and
reduce-on-plateau) look at an inner validation split of that fold's *training* subjects.

``paper`` preset, per model (``PAPER_FROM`` says which values the paper states; the rest are ours):

* ``c3d`` (Dubey et al.): SGD; lr 2e-3 (from an lr range test, issue 27; was 0.01), momentum 0.9, batch 8,
  100 epochs are NOT from the paper (the paper's values were not verified); ReLU (the paper's better activation).
* ``convlstm`` (Shukla et al.): Adam lr 1e-4, batch 16, reduce-on-plateau x0.5, early stopping,
  flip / brightness / salt-and-pepper on the smaller classes; epochs (100) and patience (plateau 5,
  stopping 10) are not stated.
* ``tcgru`` (Nag et al.): RMSProp lr 1e-4, weight decay 0.005, Xavier init (in the model), rotation /
  scale / translation augmentation; the ranges (+-10 deg, +-10 %, +-5 %), batch 16 and 50 epochs
  are not stated. Class head + intensity head (L1, weight 1).
* ``twostream3d`` (Yan, Li): batch 8 (paper); Adam lr 1e-3 and 50 epochs are not stated.
* ``learnet`` (Verma et al.): SGD lr 1e-3, batch 25, 100 epochs, rotation +-45 deg, histogram
  equalisation, flips (paper); momentum 0.9 is not stated.

``cpu`` preset: what session 6 ran on one CPU thread (``SHORTENED`` says what each cuts), with the
paper's optimizer and augmentation where they are cheap:

* ``apexflow``: the tuned recipe of ``Recipe()`` with the robust input scaling, every network initialised from the
  bundled synthetic pretraining (``init="synthetic-flow"``, issue 27; both presets). A run whose class set is not
  the three MEGC classes starts from random weights instead (``training.run``: the pretrained head is 3-class).
* ``c3d``: as paper, 30 epochs.  ``convlstm``: <= 10 epochs (patience 1 / 3), <= 64 inner-validation clips.
* ``tcgru``: as paper, 5 epochs.  ``twostream3d``: as paper, 8 epochs.  ``learnet``: as paper, 8 epochs.

``c3d`` and ``convlstm`` (both presets) build their model with ``norm="onset-rms"``: the change from the onset
frame at unit RMS instead of the raw frames (``mer_lab.models.clip_norm``; with raw frames neither could
memorise 16 synthetic clips, issue 27).

No recipe weights classes, smooths labels, mixes up or ensembles (the papers do not); one network per fold.
"""

from __future__ import annotations

import dataclasses

from mer_lab.training.trainer import Recipe

_PLAIN = {"warmup_epochs": 0, "label_smoothing": 0.0, "class_weighting": "none", "hflip": False, "max_shift": 0,
          "mixup_alpha": 0.0, "ensemble": 1, "ema": 0.0, "tta_flip": False, "early_stopping": False,
          "weight_decay": 0.0, "schedule": "constant"}

PRESETS: tuple[str, ...] = ("cpu", "paper")
DEFAULT_PRESET = "cpu"

_CONVLSTM = {"optimizer": "adam", "lr": 1e-4, "batch_size": 16, "schedule": "plateau", "plateau_factor": 0.5,
             "early_stopping": True, "val_fraction": 0.15, "hflip": True, "brightness": 0.1, "salt_pepper": 0.01,
             "augment_minority": True, "model_kwargs": {"norm": "onset-rms"}}
_TCGRU = {"optimizer": "rmsprop", "lr": 1e-4, "weight_decay": 0.005, "batch_size": 16, "intensity_weight": 1.0,
          "rotate_deg": 10.0, "scale": 0.1, "translate": 0.05}
_TWOSTREAM = {"optimizer": "adam", "lr": 1e-3, "batch_size": 8}
_LEARNET = {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9, "batch_size": 25, "rotate_deg": 45.0, "hflip": True,
            "hist_eq": 0.5}
# lr 2e-3: a tenth of where the loss diverges in the lr range test with onset-rms inputs (0.022; 16 training clips,
# tools/diagnose_clip_model.py); 0.01 collapsed every LOSO fold to one class (docs/lab/recognition-results.md)
_C3D = {"optimizer": "sgd", "lr": 2e-3, "momentum": 0.9, "batch_size": 8, "model_kwargs": {"norm": "onset-rms"}}

PAPER_RECIPES: dict[str, Recipe] = {
    "apexflow": Recipe(model_kwargs={"norm": "robust"}, init="synthetic-flow"),
    "c3d": Recipe(**_PLAIN | _C3D | {"epochs": 100}),
    "convlstm": Recipe(**_PLAIN | _CONVLSTM | {"epochs": 100, "plateau_patience": 5, "patience": 10}),
    "tcgru": Recipe(**_PLAIN | _TCGRU | {"epochs": 50}),
    "twostream3d": Recipe(**_PLAIN | _TWOSTREAM | {"epochs": 50}),
    "learnet": Recipe(**_PLAIN | _LEARNET | {"epochs": 100}),
}

CPU_RECIPES: dict[str, Recipe] = {
    "apexflow": PAPER_RECIPES["apexflow"],
    "c3d": Recipe(**_PLAIN | _C3D | {"epochs": 30}),
    "convlstm": Recipe(**_PLAIN | _CONVLSTM | {"epochs": 10, "plateau_patience": 1, "patience": 3,
                                               "max_train_samples": 0, "max_val_samples": 64}),
    "tcgru": Recipe(**_PLAIN | _TCGRU | {"epochs": 5}),
    "twostream3d": Recipe(**_PLAIN | _TWOSTREAM | {"epochs": 8}),
    "learnet": Recipe(**_PLAIN | _LEARNET | {"epochs": 8}),
}
RECIPES = CPU_RECIPES  # the default preset (older callers)

# Which values of the paper preset the paper states (the rest are ours; README's deviation table).
PAPER_FROM: dict[str, str] = {
    "apexflow": "not a paper model (the tuned recipe of MODEL_CARD_apexflow.md)",
    "c3d": "SGD and ReLU only; lr, momentum, batch and epochs are NOT from the paper",
    "convlstm": "Adam 1e-4, batch 16, plateau x0.5, early stopping, the augmentation; not epochs or patience",
    "tcgru": "RMSProp 1e-4, weight decay 0.005, Xavier init, rotation/scale/translation; not their ranges, batch, epochs",
    "twostream3d": "batch 8 (and the inputs: alpha 20, TV-L1); not the optimizer, lr or epochs",
    "learnet": "SGD 1e-3, batch 25, 100 epochs, rotation +-45, histogram equalisation, flips; not the momentum",
}

# What the cpu preset cuts from the paper preset (written into metrics.json / sidecars next to the recipe).
SHORTENED: dict[str, str] = {
    "apexflow": "none (the tuned apex-flow recipe, robust input scaling)",
    "c3d": "30 epochs instead of 100",
    "convlstm": "<= 10 epochs (early stopping, patience 3 instead of 10, plateau 1 instead of 5); <= 64 "
                "inner-validation clips per fold (stratified subsample); online minority-class augmentation "
                "instead of offline oversampling",
    "tcgru": "5 epochs instead of 50; light encoders (model deviation, see models/tcgru.py)",
    "twostream3d": "8 epochs instead of 50",
    "learnet": "8 epochs instead of 100",
}


def recipes(preset: str = DEFAULT_PRESET) -> dict[str, Recipe]:
    """The recipes of ``preset`` (``paper`` or ``cpu``)."""
    if preset not in PRESETS:
        from realtime_mer.errors import DataError, fail

        raise fail(DataError, f"unknown recipe preset {preset!r}", f"use one of {', '.join(PRESETS)}")
    return PAPER_RECIPES if preset == "paper" else CPU_RECIPES


def recipe_for(model_name: str, preset: str = DEFAULT_PRESET, **changes: object) -> Recipe:
    """The fixed recipe of ``model_name`` in ``preset`` (``Recipe()`` for a model without one), with ``changes`` applied."""
    return dataclasses.replace(recipes(preset).get(model_name, Recipe()), **changes)  # type: ignore[arg-type]
