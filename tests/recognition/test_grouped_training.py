"""The grouped trainer: G side-by-side ApexFlowNets are G independent networks, and it trains as the recipe says."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers_recognition import toy_images

from realtime_mer.models.apexflow import ApexFlowNet
from realtime_mer.training.grouped import GroupedApexFlowNet
from realtime_mer.training.metrics import scores
from realtime_mer.training.protocols import make_folds
from realtime_mer.training.trainer import Recipe, cross_validate, fit, grouped_unsupported, predict_proba

FAST = Recipe(epochs=12, batch_size=16, lr=5e-3, warmup_epochs=1, ensemble=1, trainer="grouped")


def _randomise_bn(net: torch.nn.Module) -> None:
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


@pytest.mark.parametrize("norm", ["none", "robust"])
def test_members_are_independent_networks(norm: str) -> None:
    torch.manual_seed(0)
    net = GroupedApexFlowNet(4, norm=norm)
    _randomise_bn(net)
    net.eval()
    x = torch.rand(5, 4, 3, 28, 28)
    out = net(x)
    for g in range(4):
        assert torch.allclose(net.member(g)(x[:, g]), out[:, g], atol=1e-5)
    # member 2's output does not depend on member 1's input
    y = x.clone()
    y[:, 1] = torch.rand(5, 3, 28, 28)
    assert torch.equal(net(y)[:, 2], out[:, 2]) and not torch.allclose(net(y)[:, 1], out[:, 1])


def test_load_member_round_trips() -> None:
    torch.manual_seed(1)
    single = ApexFlowNet()
    _randomise_bn(single)
    net = GroupedApexFlowNet(3)
    net.load_member(1, single)
    back = net.member(1)
    for (k, a), (_, b) in zip(single.state_dict().items(), back.state_dict().items(), strict=True):
        assert torch.equal(a, b), k


def test_gradients_are_per_member() -> None:
    """The summed loss gives each member exactly the gradient of its own loss (BatchNorm in training mode)."""
    torch.manual_seed(2)
    net = GroupedApexFlowNet(2, dropout=0.0).train()
    x, y = torch.rand(8, 2, 3, 28, 28), torch.randint(0, 3, (8, 2))
    F.cross_entropy(net(x).reshape(16, 3), y.reshape(16), reduction="sum").backward()
    for g in range(2):
        single = net.member(g).train()
        F.cross_entropy(single(x[:, g]), y[:, g], reduction="sum").backward()
        assert torch.allclose(single.fc.weight.grad, net.fc_weight.grad[g].t(), atol=1e-4)
        rows = slice(g * 8, (g + 1) * 8)
        assert torch.allclose(single.branches[0][0].weight.grad, net.branches[0][0].weight.grad[rows], atol=1e-4)


def test_grouped_cross_validation_learns_and_is_deterministic(monkeypatch) -> None:
    images, labels, subjects = toy_images(16, seed=0)
    folds = make_folds("kfold", subjects, k=2, seed=0)
    cv = cross_validate(images, labels, subjects, folds, FAST, seed=0)
    assert scores(labels, cv.probs.argmax(1)).uf1 > 0.9
    again = cross_validate(images, labels, subjects, folds, FAST, seed=0)
    assert np.array_equal(cv.probs, again.probs)
    # a fold's members depend on its training set and seed only, not on which folds share a grouped network
    monkeypatch.setattr("realtime_mer.training.trainer.GROUPED_MEMBERS", 1)
    one_by_one = cross_validate(images, labels, subjects, folds, FAST, seed=0)
    assert np.allclose(cv.probs, one_by_one.probs, atol=1e-4)


def test_grouped_fit_gives_an_ordinary_ensemble() -> None:
    images, labels, _ = toy_images(8, seed=1)
    res = fit(images, labels, dataclasses.replace(FAST, ensemble=2), seed=3)
    assert [type(m).__name__ for m in res.model.members] == ["ApexFlowNet", "ApexFlowNet"]
    test_images, test_labels, _ = toy_images(10, seed=2)
    assert scores(test_labels, predict_proba(res.model, test_images).argmax(1)).accuracy > 0.9


def test_unsupported_recipes_are_refused() -> None:
    assert grouped_unsupported(Recipe(), "apexflow") == []
    assert grouped_unsupported(Recipe(mixup_alpha=0.2), "apexflow") == ["mixup_alpha=0.2"]
    images, labels, _ = toy_images(4, seed=1)
    with pytest.raises(ValueError, match="early_stopping=True"):
        fit(images, labels, dataclasses.replace(FAST, early_stopping=True), seed=0, subjects=["a"] * len(labels))
    with pytest.raises(ValueError, match="model 'c3d'"):
        fit(images, labels, FAST, seed=0, model_name="c3d")
