"""Training: a fast smoke test that learns a separable toy problem, determinism, and the CLI end to end."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mer_lab.training.metrics import scores
from mer_lab.training.run import apply_overrides, check_out_dir
from mer_lab.training.splits import make_folds
from mer_lab.training.trainer import (
    Recipe,
    augment,
    class_weights,
    cross_validate,
    dataset_class_weights,
    fit,
    logit_adjustment,
    lr_at,
    predict_proba,
)
from realtime_mer.errors import DataError, OutputError
from tests.helpers.recognition import toy_images, write_flow_tree
from tests.helpers.tools import load_tool

TOOLS = Path(__file__).resolve().parents[3] / "tools"
FAST = Recipe(epochs=12, batch_size=16, lr=5e-3, warmup_epochs=1, ensemble=1)


def test_learns_a_separable_toy_problem() -> None:
    images, labels, subjects = toy_images(16, seed=0)
    folds = make_folds("kfold", subjects, k=2, seed=0)
    cv = cross_validate(images, labels, subjects, folds, FAST, seed=0)
    s = scores(labels, cv.probs.argmax(1))
    assert s.uf1 > 0.9, s


def test_training_is_deterministic_and_untrained_is_not_good() -> None:
    images, labels, _ = toy_images(8, seed=1)
    a = fit(images, labels, FAST, seed=5).model
    b = fit(images, labels, FAST, seed=5).model
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    test_images, test_labels, _ = toy_images(10, seed=2)
    assert scores(test_labels, predict_proba(a, test_images).argmax(1)).accuracy > 0.9


def test_recipe_pieces() -> None:
    w = class_weights(np.array([0] * 6 + [1] * 3 + [2]), 3, "inverse")
    assert torch.allclose(w / w[0], torch.tensor([1.0, 2.0, 6.0]))
    assert torch.allclose(class_weights(np.array([0, 1, 2]), 3, "none"), torch.ones(3))
    assert lr_at(0, 100, 10, 1.0) == 0.1 and lr_at(10, 100, 10, 1.0) == 1.0 and lr_at(100, 100, 10, 1.0) == 0.0
    assert Recipe.from_dict(Recipe(epochs=3).to_dict()) == Recipe(epochs=3)


def test_dataset_class_weights_balance_classes_within_each_dataset() -> None:
    labels = np.array([0, 0, 0, 1, 2, 0, 1, 1, 1])
    strata = ["a"] * 5 + ["b"] * 4
    w = dataset_class_weights(labels, strata).numpy()
    assert np.isclose(w.mean(), 1.0)
    for s in ("a", "b"):  # within a dataset every present class carries the same total weight
        m = np.array(strata) == s
        totals = [w[m & (labels == c)].sum() for c in np.unique(labels[m])]
        assert np.allclose(totals, totals[0])
    images, y, subjects = toy_images(6, seed=4)
    with pytest.raises(ValueError, match="needs the dataset of each training sample"):
        fit(images, y, Recipe(epochs=1, ensemble=1, class_weighting="inverse-dataset"), seed=0)
    res = fit(images, y, Recipe(epochs=2, ensemble=1, class_weighting="inverse-dataset"), seed=0,
              strata=["x" if s < "m" else "y" for s in subjects])
    assert res.epochs_run == [2]


def test_logit_adjustment_is_the_log_prior_and_trains() -> None:
    adj = logit_adjustment(np.array([0] * 6 + [1] * 3 + [2]), 4)  # class 3 absent: prior of one sample
    assert torch.allclose(adj.exp()[:3] / adj.exp()[0], torch.tensor([1.0, 0.5, 1 / 6]))
    assert torch.isfinite(adj).all() and float(adj[3]) == float(adj[2])
    images, labels, _ = toy_images(12, seed=6)
    model = fit(images, labels, dataclasses.replace(FAST, class_weighting="logit-adjust"), seed=0).model
    test_images, test_labels, _ = toy_images(10, seed=7)
    assert scores(test_labels, predict_proba(model, test_images).argmax(1)).accuracy > 0.9


def test_member_fraction_gives_each_member_its_own_share() -> None:
    images, labels, _ = toy_images(8, seed=8)
    recipe = dataclasses.replace(FAST, ensemble=2, epochs=2)
    full = fit(images, labels, recipe, seed=3).model
    part = fit(images, labels, dataclasses.replace(recipe, member_fraction=0.5), seed=3).model
    again = fit(images, labels, dataclasses.replace(recipe, member_fraction=0.5), seed=3).model
    first = lambda m: next(iter(m.members[0].state_dict().values()))  # noqa: E731
    assert not torch.equal(first(full), first(part)) and torch.equal(first(part), first(again))
    with pytest.raises(ValueError, match="member_fraction must be in"):
        fit(images, labels, dataclasses.replace(recipe, member_fraction=0.0), seed=0)


def test_cutout_fills_one_square_with_the_channel_median() -> None:
    x = torch.rand(64, 3, 28, 28)
    out = augment(x, Recipe(hflip=False, cutout=7), torch.Generator().manual_seed(0))
    changed = (out != x).any(dim=1)  # (N, H, W): the patch covers all channels
    hit = changed.flatten(1).any(1)
    assert 16 < int(hit.sum()) < 48  # p = 0.5 per sample
    for i in torch.nonzero(hit).flatten().tolist():
        ys, xs = torch.nonzero(changed[i], as_tuple=True)
        assert int(ys.max() - ys.min()) < 7 and int(xs.max() - xs.min()) < 7
        med = x[i].flatten(1).median(dim=1).values
        assert torch.equal(out[i][:, ys[0], xs[0]], med)
    assert torch.equal(out[~hit], x[~hit])


def test_early_stopping_uses_training_subjects_only() -> None:
    images, labels, subjects = toy_images(10, seed=3)
    res = fit(images, labels, Recipe(epochs=30, batch_size=16, early_stopping=True, patience=3, val_fraction=0.34, ensemble=1),
              seed=0, subjects=subjects)
    assert 1 <= res.epochs_run[0] <= 30


def test_train_and_evaluate_cli(tmp_path: Path, monkeypatch) -> None:
    evaluate_tool = load_tool("evaluate")
    train_tool = load_tool("train")

    images, labels, subjects = toy_images(6, seed=4)
    root = write_flow_tree(tmp_path / "set", images, labels, subjects, ["smic", "casme2", "samm"] * 6)
    out = tmp_path / "run"
    rc = train_tool.main(["--data-root", str(root), "--protocol", "kfold", "--folds", "2", "--out", str(out),
                          "--set", "epochs=3", "batch_size=16", "ensemble=2"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 18 and len(metrics["per_fold"]) == 2 and metrics["recipe"]["epochs"] == 3
    assert set(metrics["per_dataset"]) == {"smic", "casme2", "samm"} and len(metrics["confusion"]) == 3
    assert (out / "confusion.png").stat().st_size > 0 and (out / "predictions.csv").is_file()
    ck = sorted((out / "checkpoints").glob("*.safetensors"))
    assert len(ck) == 2
    rc = evaluate_tool.main(["--checkpoint", str(ck[0]), "--data-root", str(root), "--out", str(tmp_path / "ev")])
    ev = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert rc == 0 and ev["n_seen_in_training"] == 0 and 0 < ev["n"] < 18
    assert train_tool.main(["--data-root", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    # the shipped-style model: trained on everything, exported to ONNX; scoring it needs --subjects all
    full = tmp_path / "all"
    assert train_tool.main(["--data-root", str(root), "--protocol", "all", "--out", str(full),
                            "--set", "epochs=2", "ensemble=1"]) == 0
    summary = json.loads((full / "train.json").read_text())
    assert summary["onnx_max_abs_diff"] < 1e-4 and (full / "model.safetensors").is_file()
    args = ["--checkpoint", str(full / "model.onnx"), "--data-root", str(root), "--out", str(tmp_path / "ev2")]
    assert evaluate_tool.main(args) == 2
    assert evaluate_tool.main([*args, "--subjects", "all"]) == 0
    assert json.loads((tmp_path / "ev2" / "metrics.json").read_text())["n_seen_in_training"] == 18


def test_weight_average_is_applied() -> None:
    images, labels, _ = toy_images(6, seed=5)
    plain = fit(images, labels, Recipe(epochs=3, batch_size=8, ensemble=1), seed=1).model
    averaged = fit(images, labels, Recipe(epochs=3, batch_size=8, ensemble=1, ema=0.9), seed=1).model
    w_plain, w_avg = plain.fc.weight.detach(), averaged.fc.weight.detach()
    assert torch.isfinite(w_avg).all() and not torch.allclose(w_plain, w_avg)


def test_recipe_overrides_are_type_checked() -> None:
    base = Recipe()
    r = apply_overrides(base, ["epochs=3", "lr=1", "hflip=false", "class_weighting=sqrt", 'model_kwargs={"norm": "robust"}'])
    assert (r.epochs, r.lr, r.hflip, r.class_weighting, r.model_kwargs) == (3, 1.0, False, "sqrt", {"norm": "robust"})
    assert isinstance(r.lr, float)
    for bad, says in [("epochs=abc", "integer"), ("epochs=2.5", "integer"), ("hflip=1", "true or false"),
                      ("lr=fast", "number"), ("model_kwargs=robust", "JSON object"), ("nosuch=1", "key in")]:
        with pytest.raises(DataError, match=says) as err:
            apply_overrides(base, [bad])
        assert "\n" not in str(err.value)


def test_out_folder_is_checked_before_training(tmp_path: Path, capsys) -> None:
    train_tool = load_tool("train")

    check_out_dir(tmp_path / "new" / "run")  # created
    assert (tmp_path / "new" / "run").is_dir()
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_out_dir(afile)
    with pytest.raises(OutputError, match="cannot create"):
        check_out_dir(afile / "sub")
    # the CLI says so in one line and exits 2 before it reads any data (the data root does not exist either)
    assert train_tool.main(["--data-root", str(tmp_path / "nowhere"), "--out", str(afile)]) == 2
    assert "--out" in capsys.readouterr().err
