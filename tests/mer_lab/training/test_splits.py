"""Subject-wise protocols never put one subject on both sides."""

from __future__ import annotations

import numpy as np
import pytest

from mer_lab.training.splits import dev_holdout_subjects, inner_split, make_folds
from realtime_mer.errors import DataError


def _subjects(seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    subs = [f"{d}_s{k}" for d in ("smic", "casme2", "samm") for k in range(7)]
    per = rng.integers(1, 6, len(subs))
    subjects = [s for s, n in zip(subs, per, strict=True) for _ in range(n)]
    order = rng.permutation(len(subjects))
    subjects = [subjects[i] for i in order]
    return subjects, [s.split("_")[0] for s in subjects]


@pytest.mark.parametrize("protocol", ["loso", "kfold"])
def test_folds_never_share_a_subject_and_test_everything_once(protocol: str) -> None:
    subjects, strata = _subjects()
    folds = make_folds(protocol, subjects, k=4, seed=3, strata=strata)
    s = np.asarray(subjects, dtype=object)
    tested = np.concatenate([f.test_idx for f in folds])
    assert sorted(tested.tolist()) == list(range(len(subjects)))
    for f in folds:
        assert not set(s[f.train_idx]) & set(s[f.test_idx])
        assert len(f.train_idx) + len(f.test_idx) == len(subjects)
        assert set(s[f.test_idx]) == set(f.test_subjects)
    if protocol == "loso":
        assert len(folds) == len(set(subjects))
        assert all(len(f.test_subjects) == 1 for f in folds)


def test_kfold_is_seeded_and_all_has_no_test() -> None:
    subjects, strata = _subjects()
    a = make_folds("kfold", subjects, k=3, seed=1, strata=strata)
    b = make_folds("kfold", subjects, k=3, seed=1, strata=strata)
    c = make_folds("kfold", subjects, k=3, seed=2, strata=strata)
    assert [f.test_subjects for f in a] == [f.test_subjects for f in b]
    assert [f.test_subjects for f in a] != [f.test_subjects for f in c]
    (only,) = make_folds("all", subjects)
    assert len(only.train_idx) == len(subjects) and len(only.test_idx) == 0
    with pytest.raises(DataError):
        make_folds("kfold", subjects, k=1)
    with pytest.raises(DataError):
        make_folds("bogus", subjects)


def test_inner_validation_comes_from_training_subjects_only() -> None:
    subjects, strata = _subjects()
    s = np.asarray(subjects, dtype=object)
    for fold in make_folds("loso", subjects):
        fit_idx, val_idx = inner_split(subjects, fold.train_idx, 0.2, seed=0, strata=strata)
        assert len(val_idx) > 0 and len(fit_idx) > 0
        assert set(fit_idx) | set(val_idx) == set(fold.train_idx)
        assert not set(s[val_idx]) & set(s[fit_idx])
        assert not set(s[val_idx]) & set(fold.test_subjects)


def test_dev_holdout_halves_are_disjoint_and_cover_every_subject() -> None:
    subjects, strata = _subjects()
    dev, hold = dev_holdout_subjects(subjects, strata)
    assert not set(dev) & set(hold)
    assert set(dev) | set(hold) == set(subjects)
    assert abs(len(dev) - len(hold)) <= 3
