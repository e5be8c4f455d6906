"""Evaluation protocols as lists of folds over subjects: LOSO, subject k-fold, all (no test).

Every split is by subject, so no subject is ever on both sides of a fold. ``inner_split`` draws
an inner validation set from the *training* subjects of a fold only (for early stopping).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from realtime_mer.errors import DataError, fail

PROTOCOLS: tuple[str, ...] = ("loso", "kfold", "all")


@dataclass(frozen=True)
class Fold:
    """One train/test split; ``test_subjects`` is empty for the ``all`` protocol."""

    name: str
    train_idx: np.ndarray
    test_idx: np.ndarray
    test_subjects: tuple[str, ...]


def _split(subjects: np.ndarray, test_subjects: Sequence[str], name: str) -> Fold:
    mask = np.isin(subjects, np.asarray(list(test_subjects), dtype=object))
    return Fold(name, np.flatnonzero(~mask), np.flatnonzero(mask), tuple(sorted(test_subjects)))


def loso(subjects: Sequence[str]) -> list[Fold]:
    """Leave-one-subject-out: one fold per distinct subject (sorted by name)."""
    s = np.asarray(subjects, dtype=object)
    return [_split(s, [u], f"loso-{u}") for u in sorted(set(subjects))]


def _assign_groups(subjects: Sequence[str], k: int, seed: int, strata: Sequence[str] | None) -> list[list[str]]:
    """Deal the shuffled subjects round-robin into ``k`` groups (per stratum, so strata spread evenly)."""
    rng = np.random.default_rng(seed)
    by_stratum: dict[str, list[str]] = {}
    for i, subj in enumerate(subjects):
        key = strata[i] if strata is not None else ""
        if subj not in by_stratum.setdefault(key, []):
            by_stratum[key].append(subj)
    groups: list[list[str]] = [[] for _ in range(k)]
    turn = 0
    for key in sorted(by_stratum):
        subs = sorted(by_stratum[key])
        for j in rng.permutation(len(subs)):
            groups[turn % k].append(subs[j])
            turn += 1
    return groups


def subject_kfold(subjects: Sequence[str], k: int = 5, seed: int = 0, strata: Sequence[str] | None = None) -> list[Fold]:
    """``k`` folds of whole subjects, shuffled with ``seed``; ``strata`` (e.g. sub-dataset) are spread evenly."""
    n_subjects = len(set(subjects))
    if not 2 <= k <= n_subjects:
        raise fail(DataError, f"subject k-fold needs 2 <= k <= {n_subjects} subjects, got k={k}", "pick another --folds")
    s = np.asarray(subjects, dtype=object)
    return [_split(s, g, f"kfold{k}-{i}") for i, g in enumerate(_assign_groups(subjects, k, seed, strata))]


def all_data(subjects: Sequence[str]) -> list[Fold]:
    """One fold that trains on everything and tests on nothing (the shipped model)."""
    return [Fold("all", np.arange(len(subjects)), np.zeros(0, np.int64), ())]


def make_folds(protocol: str, subjects: Sequence[str], *, k: int = 5, seed: int = 0,
               strata: Sequence[str] | None = None) -> list[Fold]:
    """The folds of ``protocol`` (``loso``, ``kfold`` or ``all``)."""
    if protocol == "loso":
        return loso(subjects)
    if protocol == "kfold":
        return subject_kfold(subjects, k, seed, strata)
    if protocol == "all":
        return all_data(subjects)
    raise fail(DataError, f"unknown protocol {protocol!r}", f"use one of {', '.join(PROTOCOLS)}")


def inner_split(subjects: Sequence[str], train_idx: np.ndarray, fraction: float, seed: int,
                strata: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split a fold's training indices into (fit, validation) by whole subjects drawn from those indices only."""
    idx = np.asarray(train_idx, np.int64)
    subs = [subjects[i] for i in idx]
    n_val = max(1, round(fraction * len(set(subs))))
    k = max(2, round(len(set(subs)) / n_val))
    groups = _assign_groups(subs, k, seed, [strata[i] for i in idx] if strata is not None else None)
    val = np.isin(np.asarray(subs, dtype=object), np.asarray(groups[0], dtype=object))
    return idx[~val], idx[val]


DEV_SEED = 2024  # fixed once, before any result was seen


def dev_holdout_subjects(subjects: Sequence[str], strata: Sequence[str] | None = None,
                         seed: int = DEV_SEED) -> tuple[list[str], list[str]]:
    """Split the subjects in two halves (per stratum): a development half for recipe choices, a held-out half.

    Recipe choices are made by subject k-fold *inside the development half*; the held-out half
    never influences them, so LOSO scores pooled over it are free of recipe selection.
    """
    dev, hold = _assign_groups(subjects, 2, seed, strata)
    return sorted(dev), sorted(hold)
