"""Training the clip models on a synthetic clip set: each seed model 1 step via the CLI, face-disjoint folds, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mer_lab.models import input_contract
from mer_lab.synthetic.clip_set import SyntheticClipSet
from mer_lab.training.clip_inputs import load_synthetic
from mer_lab.training.recipes import RECIPES, recipe_for
from mer_lab.training.splits import make_folds
from mer_lab.training.trainer import Recipe, augment, fit, hflip_input, stratified_subsample
from realtime_mer.errors import DataError
from realtime_mer.recognition.preprocess import clip_input
from tests.helpers.recognition import textured_crop
from tests.helpers.tools import load_tool

TOOLS = Path(__file__).resolve().parents[3] / "tools"
SEED_MODELS = ("c3d", "convlstm", "tcgru", "twostream3d", "learnet")
FACES = ("faceA", "faceB")


def fake_clip_set(per_face: int = 3, size: int = 64, frames: int = 8) -> SyntheticClipSet:
    """``per_face`` clips per face (labels cycle 0, 1, 2): a texture with a class-dependent patch brightening to the apex."""
    parts, subjects, labels = [], [], []
    for f, face in enumerate(FACES):
        base = textured_crop(size, seed=f).astype(np.float32) * (0.8 + 0.2 * f)
        for i in range(per_face):
            y = i % 3
            clip = np.repeat(base[None], frames, axis=0)
            r0 = 8 + 16 * y
            for t in range(frames):
                clip[t, r0 : r0 + 8, 16:48] += 40.0 * (1 - abs(t - 3) / 4)
            parts.append(np.clip(clip, 0, 255).astype(np.uint8))
            subjects.append(face)
            labels.append(y)
    n = len(parts)
    return SyntheticClipSet(np.concatenate(parts), np.arange(n + 1, dtype=np.int64) * frames,
                            np.zeros(n, np.int64), np.full(n, 3, np.int64), np.full(n, frames - 1, np.int64),
                            np.array(labels, np.int64), subjects, [f"{k:03d}_{s}" for k, s in enumerate(subjects)],
                            ["micro"] * n)


@pytest.fixture(scope="module")
def clip_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "clips.npz"
    fake_clip_set().save(path, {"sources": list(FACES)})
    return path


@pytest.fixture(scope="module")
def train_tool():
    train = load_tool("train")

    return train


def test_each_seed_model_trains_one_step_with_face_disjoint_folds(clip_npz: Path, tmp_path: Path, train_tool) -> None:
    for model in SEED_MODELS:
        out = tmp_path / model
        rc = train_tool.main(["--dataset", "synthetic-clips", "--data-root", str(clip_npz), "--model", model,
                              "--protocol", "loso", "--out", str(out), "--set", "epochs=1", "batch_size=8"])
        assert rc == 0, model
        m = json.loads((out / "metrics.json").read_text())
        assert m["n"] == 6 and len(m["confusion"]) == 3 and {"uf1", "uar", "accuracy"} <= set(m)
        assert [f["test_subjects"] for f in m["per_fold"]] == [["faceA"], ["faceB"]]
        assert m["data"]["subjects"] == {"faceA": 3, "faceB": 3} and m["recipe"]["epochs"] == 1
        assert m["recipe"]["optimizer"] == RECIPES[model].optimizer and m["recipe_shortened"]
        sides = sorted((out / "checkpoints").glob("*.json"))
        assert len(sides) == 2 and len(list((out / "checkpoints").glob("*.safetensors"))) == 2
        for side in sides:
            meta = json.loads(side.read_text())
            assert meta["model"] == model and meta["input_contract"]["shape"] == list(input_contract(model).shape)
            assert not set(meta["train_subjects"]) & set(meta["test_subjects"])  # face-disjoint
            assert meta["epochs_run"] == [1]
    # cached inputs are reused and equal to the live preprocessing path
    data = load_synthetic(clip_npz)
    cached = data.inputs("c3d")
    assert any(p.name.startswith("c3d-") for p in data.cache_dir.iterdir())  # type: ignore[union-attr]
    np.testing.assert_array_equal(cached[4], clip_input("c3d", *data.clips.sample(4)))


def test_evaluate_a_clip_model_checkpoint(clip_npz: Path, tmp_path: Path, train_tool) -> None:
    evaluate = load_tool("evaluate")

    out = tmp_path / "run"
    assert train_tool.main(["--dataset", "synthetic-clips", "--data-root", str(clip_npz), "--model", "learnet",
                            "--protocol", "kfold", "--folds", "2", "--out", str(out), "--set", "epochs=1"]) == 0
    ck = sorted((out / "checkpoints").glob("*.safetensors"))[0]
    ev = tmp_path / "ev"
    assert evaluate.main(["--checkpoint", str(ck), "--dataset", "synthetic-clips", "--data-root", str(clip_npz),
                          "--out", str(ev)]) == 0
    m = json.loads((ev / "metrics.json").read_text())
    assert m["n"] == 3 and m["n_seen_in_training"] == 0


def test_folds_are_face_disjoint(clip_npz: Path) -> None:
    data = load_synthetic(clip_npz)
    for protocol in ("loso", "kfold"):
        folds = make_folds(protocol, data.subjects, k=2)
        assert len(folds) == 2
        for f in folds:
            train = {data.subjects[i] for i in f.train_idx}
            test = {data.subjects[i] for i in f.test_idx}
            assert train and test and not train & test


def test_bad_data_root_is_one_line(tmp_path: Path, train_tool, capsys: pytest.CaptureFixture[str]) -> None:
    for root in (tmp_path / "missing.npz", tmp_path):
        rc = train_tool.main(["--dataset", "synthetic-clips", "--data-root", str(root), "--model", "c3d",
                              "--out", str(tmp_path / "o")])
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip() and "━" not in ln]  # minus the progress bar
        assert rc == 2 and len(err) == 1 and err[0].startswith("train.py: error: synthetic-clips data root"), err
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    assert train_tool.main(["--dataset", "synthetic-clips", "--data-root", str(junk), "--out", str(tmp_path / "o")]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip() and "━" not in ln]
    assert len(err) == 1 and err[0].startswith("train.py: error: cannot read synthetic clip"), err
    with pytest.raises(DataError, match="needs clips"):  # a clip model on the apex-flow PNG set
        from mer_lab.training.run import model_data

        model_data(type("Flow", (), {"images": np.zeros((1, 28, 28, 3), np.uint8)})(), "c3d")  # type: ignore[arg-type]


def test_flip_negates_u_and_augmentation_respects_minority() -> None:
    x = torch.rand(2, *input_contract("twostream3d").shape)
    f = hflip_input(x, "twostream3d")
    assert torch.allclose(f[:, 0], torch.flip(x[:, 0], dims=[-1]))
    assert torch.allclose(f[:, 1], 1 - torch.flip(x[:, 1], dims=[-1])) and torch.allclose(f[:, 2], torch.flip(x[:, 2], dims=[-1]))
    t = torch.rand(2, *input_contract("tcgru").shape)
    ft = hflip_input(t, "tcgru")
    assert torch.allclose(ft[:, :, 2], 1 - torch.flip(t[:, :, 2], dims=[-1])) and torch.allclose(hflip_input(ft, "tcgru"), t)
    c = torch.rand(4, *input_contract("convlstm").shape)
    rec = recipe_for("convlstm")
    out = augment(c, rec, torch.Generator().manual_seed(0), "convlstm", torch.tensor([False, False, True, True]))
    assert torch.equal(out[:2], c[:2]) and not torch.equal(out[2:], c[2:])
    idx = stratified_subsample(np.array([0] * 10 + [1] * 6 + [2] * 4), 10, seed=0)
    assert len(idx) == 10 and np.bincount(np.array([0] * 10 + [1] * 6 + [2] * 4)[idx]).tolist() == [5, 3, 2]


def test_tcgru_intensity_targets_and_determinism(clip_npz: Path) -> None:
    data = load_synthetic(clip_npz)
    aux = data.aux("tcgru")
    assert aux is not None and aux.shape == (6, 8) and np.all(np.diff(aux, axis=1) >= 0) and aux[0, -1] == 1.0
    assert data.aux("c3d") is None
    x = data.inputs("tcgru")
    r = Recipe(**(recipe_for("tcgru").to_dict() | {"epochs": 1, "batch_size": 4}))
    a = fit(x, data.labels, r, seed=3, model_name="tcgru", subjects=data.subjects, aux=aux).model
    b = fit(x, data.labels, r, seed=3, model_name="tcgru", subjects=data.subjects, aux=aux).model
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
