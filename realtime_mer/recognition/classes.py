"""Named class sets: the MEGC 2019 composite three classes and the datasets' own emotion sets.

A model carries its class names (checkpoint sidecar ``classes`` / ``class_set``, ONNX metadata of the
same keys); the live pipeline shows whatever the model names. ``--classes NAME`` (training and live)
picks one of these sets; live, it is a check that the model was trained on that set.

The emotion sets are the ones the seed papers and the datasets' own baselines report:

* ``megc3``: negative / positive / surprise (MEGC 2019 composite; every dataset maps onto it).
* ``casme2-5``: happiness, surprise, disgust, repression, others (CASME II's 5-class setting).
* ``casme2-7``: happiness, surprise, disgust, repression, fear, sadness, others (all CASME II labels).
* ``samm-5``: anger, contempt, happiness, surprise, other (SAMM's 5 largest classes).
* ``smic-3``: negative, positive, surprise (SMIC's own labels).
* ``casme-sq-4``: negative, positive, surprise, others (CAS(ME)^2's labels).
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_mer.errors import ModelError, fail
from realtime_mer.types import CLASSES


@dataclass(frozen=True)
class ClassSet:
    """A named list of class names and the dataset whose labels it uses (``""``: every dataset)."""

    name: str
    classes: tuple[str, ...]
    dataset: str = ""
    description: str = ""


CLASS_SETS: dict[str, ClassSet] = {s.name: s for s in (
    ClassSet("megc3", CLASSES, "", "MEGC 2019 composite: negative / positive / surprise"),
    ClassSet("casme2-5", ("happiness", "surprise", "disgust", "repression", "others"), "casme2", "CASME II, 5 classes"),
    ClassSet("casme2-7", ("happiness", "surprise", "disgust", "repression", "fear", "sadness", "others"), "casme2",
             "CASME II, all 7 labels"),
    ClassSet("samm-5", ("anger", "contempt", "happiness", "surprise", "other"), "samm", "SAMM, 5 classes"),
    ClassSet("smic-3", ("negative", "positive", "surprise"), "smic", "SMIC, its 3 labels"),
    ClassSet("casme-sq-4", ("negative", "positive", "surprise", "others"), "casme_sq", "CAS(ME)^2, its 4 labels"),
)}
DEFAULT_CLASS_SET = "megc3"


def class_set(name: str) -> ClassSet:
    """The class set ``name`` (one-line ``ModelError`` naming the known sets otherwise)."""
    if name not in CLASS_SETS:
        raise fail(ModelError, f"unknown class set {name!r}", f"use one of: {', '.join(CLASS_SETS)}")
    return CLASS_SETS[name]


def set_of(classes: tuple[str, ...]) -> str | None:
    """The name of the first class set with exactly these class names (in order), or None."""
    return next((s.name for s in CLASS_SETS.values() if s.classes == tuple(classes)), None)
