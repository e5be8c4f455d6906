"""Per-model training recipes: each seed model's paper recipe (``model.recipe``), shortened for a CPU.

``recipe_for(model)`` is what ``tools/train.py`` uses unless ``--set`` overrides fields. All
values are fixed here, before any held-out subject is seen; the only data-driven choices inside a
fold (convlstm's early stopping and reduce-on-plateau) look at an inner validation split of that
fold's *training* subjects.

What follows the papers (see each model's ``PaperRecipe``) and what is shortened:

* ``apexflow``: the tuned recipe of ``Recipe()`` with the robust per-channel input scaling of
  ``models.apexflow.normalize`` (round 5 of MODEL_CARD_apexflow.md).
* ``c3d`` (Dubey et al.): SGD lr 0.01, momentum 0.9, batch 8, constant lr, plain cross-entropy.
  Shortened: 30 epochs instead of 100 (4 until session 6, which left it at chance on the synthetic
  clips; 30 was fixed before the 30-epoch run, as the most that fits about an hour of one CPU thread).
* ``convlstm`` (Shukla et al.): Adam lr 1e-4, batch 16, reduce-on-plateau x0.5, early stopping on
  an inner validation split of the training subjects, horizontal flip / brightness /
  salt-and-pepper augmentation on the smaller classes only (online, p = 0.5 per sample instead
  of the paper's offline oversampling). Shortened: at most 10 epochs (plateau patience 1,
  early-stopping patience 3) and a class-stratified subsample of at most 64 inner-validation clips
  per fold (the 12 M-parameter ConvLSTM costs ~0.3 s per clip per step on one CPU thread). Until
  session 6 it was 3 epochs on at most 64 fitting clips, which left it at chance; the new values
  were fixed before their run, as the most that fits about an hour of one CPU thread.
* ``tcgru`` (Nag et al.): Adam lr 1e-3, class head (cross-entropy) + intensity head (L1 on the
  per-step phase value, weight 1); batch 16 (not stated in the paper). Shortened: 5 epochs.
* ``twostream3d`` (Yan, Li): Adam lr 1e-3 (our defaults; the paper gives magnification and
  TV-L1 flow, which the preprocessing follows), batch 16. Shortened: 8 epochs.
* ``learnet`` (Verma et al.): SGD lr 0.01, momentum 0.9, batch 16 (not stated). Shortened: 8 epochs.

No recipe weights classes, smooths labels, mixes up or ensembles (the papers do not); one
network per fold.
"""

from __future__ import annotations

import dataclasses

from mer_lab.training.trainer import Recipe

_PLAIN = {"warmup_epochs": 0, "label_smoothing": 0.0, "class_weighting": "none", "hflip": False, "max_shift": 0,
          "mixup_alpha": 0.0, "ensemble": 1, "ema": 0.0, "tta_flip": False, "early_stopping": False,
          "weight_decay": 0.0, "schedule": "constant"}

RECIPES: dict[str, Recipe] = {
    "apexflow": Recipe(model_kwargs={"norm": "robust"}),
    "c3d": Recipe(**_PLAIN | {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "batch_size": 8, "epochs": 30}),
    "convlstm": Recipe(**_PLAIN | {"optimizer": "adam", "lr": 1e-4, "batch_size": 16, "epochs": 10,
                                   "schedule": "plateau", "plateau_factor": 0.5, "plateau_patience": 1,
                                   "early_stopping": True, "patience": 3, "val_fraction": 0.15,
                                   "hflip": True, "brightness": 0.1, "salt_pepper": 0.01, "augment_minority": True,
                                   "max_train_samples": 0, "max_val_samples": 64}),
    "tcgru": Recipe(**_PLAIN | {"optimizer": "adam", "lr": 1e-3, "batch_size": 16, "epochs": 5, "intensity_weight": 1.0}),
    "twostream3d": Recipe(**_PLAIN | {"optimizer": "adam", "lr": 1e-3, "batch_size": 16, "epochs": 8}),
    "learnet": Recipe(**_PLAIN | {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "batch_size": 16, "epochs": 8}),
}

# What each recipe cuts from its paper (written into metrics.json / sidecars next to the recipe).
SHORTENED: dict[str, str] = {
    "apexflow": "none (the tuned apex-flow recipe, robust input scaling)",
    "c3d": "30 epochs instead of 100",
    "convlstm": "<= 10 epochs (early stopping); <= 64 inner-validation clips per fold (stratified subsample); "
                "online minority-class augmentation instead of offline oversampling",
    "tcgru": "5 epochs; light encoders (model deviation, see models/tcgru.py)",
    "twostream3d": "8 epochs",
    "learnet": "8 epochs",
}


def recipe_for(model_name: str, **changes: object) -> Recipe:
    """The fixed recipe of ``model_name`` (``Recipe()`` for a model without one), with ``changes`` applied."""
    return dataclasses.replace(RECIPES.get(model_name, Recipe()), **changes)  # type: ignore[arg-type]
