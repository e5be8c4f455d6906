"""The MEGC 2019 composite mapping of each dataset's emotion labels to negative / positive / surprise.

MEGC 2019 (See et al., FG 2019) merged CASME II, SAMM and SMIC into three classes: positive
(happiness), surprise, and negative (repression, anger, contempt, disgust, fear, sadness);
"others" and unmapped labels are excluded. SMIC is labelled in these three classes natively; the
CAS(ME)^2 spreadsheet gives valence-like labels (negative / positive / surprise / others) and
CAS(ME)^3 Part A emotion words (happy, surprise, disgust, fear, anger, sad, others), mapped the
same way. Note: the published composite lists 88 negative CASME II clips, which suggests fewer
CASME II negatives than all six words give; pass your own ``mapping`` to a loader to match it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

NEGATIVE_WORDS: tuple[str, ...] = ("repression", "anger", "contempt", "disgust", "fear", "sadness", "sad", "negative")


def _table(positive: tuple[str, ...], surprise: tuple[str, ...], negative: tuple[str, ...]) -> Mapping[str, str]:
    d = {w: "positive" for w in positive} | {w: "surprise" for w in surprise} | {w: "negative" for w in negative}
    return MappingProxyType(d)


MEGC2019: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "casme2": _table(("happiness",), ("surprise",), ("disgust", "repression", "anger", "contempt", "fear", "sadness")),
    "samm": _table(("happiness",), ("surprise",), ("anger", "contempt", "disgust", "fear", "sadness")),
    "smic": _table(("positive",), ("surprise",), ("negative",)),
    "casme_sq": _table(("positive", "happiness", "happy"), ("surprise",), NEGATIVE_WORDS),
    "casme3": _table(("happy", "happiness", "positive"), ("surprise",), NEGATIVE_WORDS),
})


def megc_label(dataset: str, emotion: str, mapping: Mapping[str, str] | None = None) -> str | None:
    """The 3-class label of a dataset's emotion word (case-insensitive), or None when the clip is excluded."""
    table = mapping if mapping is not None else MEGC2019[dataset]
    return table.get(" ".join(str(emotion).split()).lower())


def _identity(*words: str, **renamed: str) -> Mapping[str, str]:
    """Each word maps to itself; ``renamed`` maps a dataset word to another class name."""
    return MappingProxyType({w: w for w in words} | dict(renamed))


# The datasets' own emotion sets (``realtime_mer.recognition.classes.CLASS_SETS``): dataset word -> class name;
# words not listed are excluded, as in the papers' 5- and 7-class settings.
CLASS_SET_MAPPINGS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "casme2-5": _identity("happiness", "surprise", "disgust", "repression", "others"),
    "casme2-7": _identity("happiness", "surprise", "disgust", "repression", "fear", "sadness", "others"),
    "samm-5": _identity("anger", "contempt", "happiness", "surprise", "other", others="other"),
    "smic-3": _identity("negative", "positive", "surprise"),
    "casme-sq-4": _identity("negative", "positive", "surprise", "others", other="others"),
})


def class_set_mapping(name: str, dataset: str) -> Mapping[str, str] | None:
    """The emotion-word mapping of class set ``name`` for ``dataset`` (None: the MEGC 2019 default, ``megc3``).

    A one-line ``DataError`` when the set belongs to another dataset (e.g. ``samm-5`` on CASME II).
    """
    from realtime_mer.errors import DataError, fail
    from realtime_mer.recognition.classes import class_set

    cs = class_set(name)
    if name == "megc3":
        return None
    if cs.dataset != dataset:
        raise fail(DataError, f"class set {name} is {cs.description}, not for dataset {dataset}",
                   f"use --classes megc3 or a class set of {dataset}")
    return CLASS_SET_MAPPINGS[name]
