"""Evaluation protocols as lists of folds: LOSO, subject-exclusive stratified k-fold, all (no test), and
the papers' own sample-level splits.

``loso`` and ``kfold`` split by subject, so no subject is ever on both sides of a fold; ``kfold`` also
keeps each fold's class mix close to the whole set's (greedy stratified group k-fold, as
scikit-learn's ``StratifiedGroupKFold``). ``paper-random80`` (a seeded, class-stratified random 80/20
split of the *samples*) and ``paper-loo`` (leave one sample out) exist only to reproduce a paper's
table: a subject's clips land on both sides, so their scores are *subject-overlapping* (optimistic)
and are marked so wherever they are written. ``inner_split`` draws an inner validation set from the
*training* subjects of a fold only (for early stopping).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from realtime_mer.errors import DataError, fail

PROTOCOLS: tuple[str, ...] = ("loso", "kfold", "all")
PAPER_SPLITS: tuple[str, ...] = ("random80", "loo")  # sample-level, subject-overlapping (tools/train.py --paper-split)
OVERLAPPING_PROTOCOLS: tuple[str, ...] = tuple(f"paper-{s}" for s in PAPER_SPLITS)


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


def stratified_subject_kfold(subjects: Sequence[str], labels: Sequence[int], k: int = 5, seed: int = 0,
                             strata: Sequence[str] | None = None) -> list[Fold]:
    """``k`` folds of whole subjects whose class mix follows the whole set's (subject-exclusive, stratified).

    Subjects are taken in a seeded order, those with the most uneven class counts first, and each goes to
    the fold that keeps the per-class shares across folds most even (ties: the smaller fold). ``strata``
    (e.g. the sub-dataset) are stratified on together with the class.
    """
    n_subjects = len(set(subjects))
    if not 2 <= k <= n_subjects:
        raise fail(DataError, f"subject k-fold needs 2 <= k <= {n_subjects} subjects, got k={k}", "pick another --folds")
    keys = [f"{strata[i] if strata is not None else ''}|{int(y)}" for i, y in enumerate(labels)]
    names = sorted(set(keys))
    col = {c: j for j, c in enumerate(names)}
    subs = sorted(set(subjects))
    counts = {u: np.zeros(len(names)) for u in subs}
    for u, key in zip(subjects, keys, strict=True):
        counts[u][col[key]] += 1
    total = np.maximum(sum(counts.values()), 1)
    rng = np.random.default_rng(seed)
    order = [subs[i] for i in rng.permutation(len(subs))]
    order.sort(key=lambda u: -float(np.std(counts[u])))  # stable: the seeded order breaks ties
    per_fold = np.zeros((k, len(names)))
    groups: list[list[str]] = [[] for _ in range(k)]
    for u in order:
        best, best_eval = 0, np.inf
        for f in range(k):
            per_fold[f] += counts[u]
            score = float(np.mean(np.std(per_fold / total, axis=0)))
            per_fold[f] -= counts[u]
            if score < best_eval - 1e-12 or (abs(score - best_eval) <= 1e-12 and per_fold[f].sum() < per_fold[best].sum()):
                best, best_eval = f, score
        per_fold[best] += counts[u]
        groups[best].append(u)
    s = np.asarray(subjects, dtype=object)
    return [_split(s, g, f"kfold{k}-{i}") for i, g in enumerate(groups)]


def _sample_fold(subjects: np.ndarray, test: np.ndarray, name: str) -> Fold:
    mask = np.zeros(len(subjects), bool)
    mask[test] = True
    return Fold(name, np.flatnonzero(~mask), np.flatnonzero(mask), tuple(sorted(set(subjects[mask].tolist()))))


def paper_split(split: str, subjects: Sequence[str], labels: Sequence[int], seed: int = 0) -> list[Fold]:
    """A paper's sample-level split (SUBJECT-OVERLAPPING): ``random80`` (one class-stratified 80/20 split)
    or ``loo`` (one fold per sample)."""
    s = np.asarray(subjects, dtype=object)
    y = np.asarray(labels)
    if split == "loo":
        return [_sample_fold(s, np.array([i]), f"loo-{i}") for i in range(len(y))]
    if split == "random80":
        rng = np.random.default_rng(seed)
        test = [idx[: max(1, round(0.2 * len(idx)))] for c in np.unique(y) for idx in [rng.permutation(np.flatnonzero(y == c))]]
        return [_sample_fold(s, np.sort(np.concatenate(test)), "random80")]
    raise fail(DataError, f"unknown paper split {split!r}", f"use one of {', '.join(PAPER_SPLITS)}")


def all_data(subjects: Sequence[str]) -> list[Fold]:
    """One fold that trains on everything and tests on nothing (the shipped model)."""
    return [Fold("all", np.arange(len(subjects)), np.zeros(0, np.int64), ())]


def make_folds(protocol: str, subjects: Sequence[str], *, k: int = 5, seed: int = 0,
               strata: Sequence[str] | None = None, labels: Sequence[int] | None = None) -> list[Fold]:
    """The folds of ``protocol`` (``loso``, ``kfold``, ``all``, ``paper-random80``, ``paper-loo``).

    ``kfold`` is stratified by class when ``labels`` are given (else by ``strata`` only).
    """
    if protocol == "loso":
        return loso(subjects)
    if protocol == "kfold":
        if labels is not None:
            return stratified_subject_kfold(subjects, labels, k, seed, strata)
        return subject_kfold(subjects, k, seed, strata)
    if protocol == "all":
        return all_data(subjects)
    if protocol in OVERLAPPING_PROTOCOLS:
        if labels is None:
            raise fail(DataError, f"protocol {protocol} needs the labels", "pass labels=")
        return paper_split(protocol.removeprefix("paper-"), subjects, labels, seed)
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
