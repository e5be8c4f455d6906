"""Issue 15 training: class sets, paper / cpu recipes, stratified subject k-fold and paper splits, devices."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mer_lab.training.recipes import CPU_RECIPES, PAPER_FROM, PAPER_RECIPES, SHORTENED, recipe_for
from mer_lab.training.run import load_dataset
from mer_lab.training.splits import make_folds, paper_split, stratified_subject_kfold
from mer_lab.training.trainer import Recipe, affine_augment, equalize, make_optimizer, resolve_device
from realtime_mer.errors import DataError
from tests.helpers.tools import load_tool
from tests.mer_lab.datasets.test_data_casme2 import make_casme2

SEEDS = ("c3d", "convlstm", "tcgru", "twostream3d", "learnet")


def test_paper_recipes_hold_what_the_papers_state_and_cpu_only_cuts_epochs_and_patience() -> None:
    p = PAPER_RECIPES
    assert (p["tcgru"].optimizer, p["tcgru"].lr, p["tcgru"].weight_decay) == ("rmsprop", 1e-4, 0.005)
    assert p["tcgru"].rotate_deg > 0 and p["tcgru"].scale > 0 and p["tcgru"].translate > 0
    lr = p["learnet"]
    assert (lr.optimizer, lr.lr, lr.batch_size, lr.epochs, lr.rotate_deg, lr.hflip) == ("sgd", 1e-3, 25, 100, 45.0, True)
    assert lr.hist_eq > 0
    assert p["twostream3d"].batch_size == 8 and p["c3d"].epochs == 100
    assert (p["convlstm"].optimizer, p["convlstm"].lr, p["convlstm"].schedule) == ("adam", 1e-4, "plateau")
    assert "NOT from the paper" in PAPER_FROM["c3d"]
    for name in SEEDS:  # the cpu preset is the paper's recipe, shortened: same optimizer, lr, batch, augmentation
        a, b = PAPER_RECIPES[name].to_dict(), CPU_RECIPES[name].to_dict()
        changed = {k for k in a if a[k] != b[k]}
        assert changed <= {"epochs", "patience", "plateau_patience", "max_val_samples", "max_train_samples"}, (name, changed)
        assert CPU_RECIPES[name].epochs < PAPER_RECIPES[name].epochs and SHORTENED[name]
    assert recipe_for("tcgru", "paper").epochs == 50 and recipe_for("tcgru").epochs == 5  # cpu is the default
    with pytest.raises(DataError, match="unknown recipe preset"):
        recipe_for("tcgru", "gpu")
    assert isinstance(make_optimizer(torch.nn.Linear(2, 2), p["tcgru"]), torch.optim.RMSprop)


def test_stratified_subject_kfold_is_subject_exclusive_and_keeps_the_class_mix() -> None:
    rng = np.random.default_rng(0)
    subjects, labels = [], []
    for s in range(20):  # subjects with very different class mixes
        mix = rng.dirichlet([0.5, 0.5, 0.5])
        for _ in range(int(rng.integers(3, 12))):
            subjects.append(f"s{s:02d}")
            labels.append(int(rng.choice(3, p=mix)))
    y = np.asarray(labels)
    folds = stratified_subject_kfold(subjects, labels, k=5, seed=1)
    tested = np.concatenate([f.test_idx for f in folds])
    assert sorted(tested.tolist()) == list(range(len(y)))  # every sample tested once
    for f in folds:
        assert not set(np.asarray(subjects)[f.test_idx]) & set(np.asarray(subjects)[f.train_idx])
    whole = np.bincount(y, minlength=3) / len(y)

    def spread(fs: list) -> float:
        return max(float(np.abs(np.bincount(y[f.test_idx], minlength=3) / len(f.test_idx) - whole).max()) for f in fs)

    plain = make_folds("kfold", subjects, k=5, seed=1)  # subject k-fold without labels: not stratified
    assert spread(folds) < spread(plain)
    assert spread(folds) < 0.15
    assert [f.test_subjects for f in folds] == [f.test_subjects for f in stratified_subject_kfold(subjects, labels, 5, 1)]


def test_paper_splits_are_sample_level() -> None:
    subjects = [f"s{i % 4}" for i in range(40)]
    labels = [i % 3 for i in range(40)]
    (fold,) = paper_split("random80", subjects, labels, seed=0)
    assert len(fold.test_idx) in (8, 9) and len(set(fold.test_idx) | set(fold.train_idx)) == 40
    assert set(fold.test_subjects) & {subjects[i] for i in fold.train_idx}  # subjects on both sides
    loo = paper_split("loo", subjects, labels)
    assert len(loo) == 40 and all(len(f.test_idx) == 1 for f in loo)
    with pytest.raises(DataError, match="unknown paper split"):
        paper_split("random90", subjects, labels)


def test_affine_augmentation_turns_flow_with_the_frames_and_equalize_ranks() -> None:
    x = torch.full((1, 8, 4, 64, 64), 0.5)  # tcgru input: frames at 0.5, flow u = +2 px (encoded 0.5 + 2/8)
    x[:, :, 2] = 0.75
    r = Recipe(rotate_deg=90.0)
    gen = torch.Generator().manual_seed(0)
    y = affine_augment(x, r, gen, "tcgru")
    ang = (torch.rand(1, generator=torch.Generator().manual_seed(0)) * 2 - 1) * math.radians(90.0)
    u, v = float(y[0, 0, 2, 32, 32] - 0.5) * 8, float(y[0, 0, 3, 32, 32] - 0.5) * 8
    assert math.hypot(u, v) == pytest.approx(2.0, abs=1e-3)  # a rotation keeps the speed
    assert abs(math.atan2(v, u)) == pytest.approx(abs(float(ang)), abs=1e-3)  # and turns it by the angle
    assert torch.allclose(y[:, :, :2], x[:, :, :2])  # uniform frames stay uniform
    img = torch.tensor([[0.1, 0.1, 0.2], [0.9, 0.5, 0.3]])[None]
    eq = equalize(img.reshape(1, 2, 3))
    assert eq.min() == 0 and eq.max() == 1 and torch.equal(eq.flatten().argsort(), img.flatten().argsort())


def test_devices() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(DataError, match=r"sees no CUDA GPU.*--device cpu"):
            resolve_device("cuda")


def test_casme2_in_its_own_five_classes(tmp_path: Path) -> None:
    root = make_casme2(tmp_path / "casme2")
    data = load_dataset("casme2", root, tmp_path / "cache", align=False, class_set="casme2-5")
    assert data.classes == ("happiness", "surprise", "disgust", "repression", "others")
    assert [data.classes[i] for i in data.labels] == ["happiness", "disgust", "surprise", "others"]  # others kept
    again = load_dataset("casme2", root, tmp_path / "cache", align=False, class_set="casme2-5")  # from the crop cache
    assert again.classes == data.classes and again.labels.tolist() == data.labels.tolist()
    with pytest.raises(DataError, match="class set samm-5 is SAMM"):
        load_dataset("casme2", root, tmp_path / "cache", align=False, class_set="samm-5")
    with pytest.raises(DataError, match="needs the dataset's own emotion labels"):
        load_dataset("synthetic-clips", tmp_path / "x.npz", class_set="casme2-5")


def test_train_tool_class_set_paper_split_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = load_tool("train")
    export = load_tool("export_onnx")
    root = make_casme2(tmp_path / "casme2")
    out = tmp_path / "split"
    rc = train.main(["--dataset", "casme2", "--data-root", str(root), "--model", "learnet", "--no-align",
                     "--classes", "casme2-5", "--recipe", "paper", "--paper-split", "random80", "--device", "cpu",
                     "--out", str(out), "--set", "epochs=1"])
    assert rc == 0
    printed = [ln for ln in capsys.readouterr().err.splitlines() if "UF1" in ln]
    assert printed and all("SUBJECT-OVERLAPPING" in ln for ln in printed)
    m = json.loads((out / "metrics.json").read_text())
    assert m["subject_overlapping"] is True and m["protocol"]["name"] == "paper-random80"
    assert m["classes"] == ["happiness", "surprise", "disgust", "repression", "others"] and m["class_set"] == "casme2-5"
    assert m["recipe_preset"] == "paper" and m["recipe"]["optimizer"] == "sgd" and m["recipe"]["batch_size"] == 25
    assert len(m["confusion"]) == 5
    full = tmp_path / "all"
    assert train.main(["--dataset", "casme2", "--data-root", str(root), "--model", "learnet", "--no-align",
                       "--classes", "casme2-5", "--protocol", "all", "--out", str(full), "--set", "epochs=1"]) == 0
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(full / "model.onnx")).metadata_props}
    assert meta["trained"] == "true" and meta["class_set"] == "casme2-5"
    assert json.loads(meta["classes"]) == m["classes"]
    side = json.loads((full / "model.json").read_text())
    assert side["classes"] == m["classes"] and side["trained"] is True
    assert export.main(["--model", "learnet", "--checkpoint", str(full / "model.safetensors"),
                        "--out", str(tmp_path / "re.onnx")]) == 0
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "re.onnx")).metadata_props}
    assert meta["trained"] == "true" and json.loads(meta["classes"]) == m["classes"]
    evaluate = load_tool("evaluate")  # scored in the checkpoint's own class set
    assert evaluate.main(["--checkpoint", str(full / "model.safetensors"), "--dataset", "casme2", "--data-root",
                          str(root), "--no-align", "--subjects", "all", "--out", str(tmp_path / "ev")]) == 0
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["classes"] == m["classes"]
