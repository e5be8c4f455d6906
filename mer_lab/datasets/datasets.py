"""One entry point for the dataset loaders: ``load_clips(name, root)`` and the MEGC 2019 composite."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from mer_lab.datasets.casme2 import load_casme2
from mer_lab.datasets.casme3 import load_casme3
from mer_lab.datasets.casme_sq import load_casme_sq
from mer_lab.datasets.samm import load_samm
from mer_lab.datasets.samples import ClipSample
from mer_lab.datasets.smic import load_smic
from realtime_mer.errors import DataError, fail

LOADERS: dict[str, Callable[..., list[ClipSample]]] = {
    "casme2": load_casme2,
    "samm": load_samm,
    "smic": load_smic,
    "casme_sq": load_casme_sq,
    "casme3": load_casme3,
}
COMPOSITE: tuple[str, ...] = ("casme2", "samm", "smic")  # the MEGC 2019 composite


def load_clips(name: str, root: Path | str) -> list[ClipSample]:
    """The clips of dataset ``name`` (one of ``LOADERS``) under ``root``, labelled with the MEGC 2019 3-class mapping."""
    if name not in LOADERS:
        raise fail(DataError, f"unknown dataset {name!r}", f"use one of {', '.join(LOADERS)}")
    return LOADERS[name](root)


def load_composite(roots: Mapping[str, Path | str]) -> list[ClipSample]:
    """The MEGC 2019 composite: CASME II + SAMM + SMIC-HS clips (``roots`` maps each name to its folder).

    Subjects are prefixed with the dataset (``casme2/sub01``) so subject-disjoint folds never mix datasets' ids.
    """
    missing = [n for n in COMPOSITE if n not in roots]
    if missing:
        raise fail(DataError, f"the MEGC 2019 composite needs roots for {', '.join(missing)}", "pass all of casme2, samm, smic")
    out: list[ClipSample] = []
    for name in COMPOSITE:
        for c in load_clips(name, roots[name]):
            out.append(dataclasses.replace(c, subject=f"{name}/{c.subject}"))
    return out
