"""Train many independent ApexFlowNets at once: every member of every fold in one grouped network.

A LOSO run of the apex-flow recipe is 68 folds x ``ensemble`` tiny networks. Trained one after
the other, each step of each network is dominated by PyTorch's per-call overhead (a 32 x 3x28x28
batch is ~50 M MACs). ``GroupedApexFlowNet`` holds G ApexFlowNets side by side: each conv is a
grouped conv (``groups=G``), each BatchNorm channel belongs to one member (so batch statistics
stay per member), dropout is element-wise, and the head is a batched matmul. Member ``g`` sees
only its own input channels and its own mini-batch, so the G networks are mathematically
independent; one backward pass and one AdamW step (element-wise) update all of them. The summed
loss gives each member exactly the gradient of its own mean loss.

``fit_grouped`` trains one member per (training set, seed) pair and returns ordinary
``ApexFlowNet`` modules (``GroupedApexFlowNet.member``), so checkpoints, ensembles and ONNX export
are unchanged. What differs from the one-at-a-time loop (``trainer._fit_one``): every member
draws exactly ``batch_size`` samples per step (a member whose training set is not a multiple of
the batch size tops its last batch up from a fresh permutation, instead of a short last batch),
and the random streams differ (each member draws its batches, flips and dropout masks from its own
generator), so weights are not bit-identical to the sequential loop (the development-half scores
of both are in MODEL_CARD_apexflow.md). Members share a grouped network only with members of the
same number of steps per epoch, so a member's weights depend on its training set and seed alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from realtime_mer.models.apexflow import ApexFlowNet, normalize
from realtime_mer.types import CLASSES


def _gconv(groups: int, cin: int, cout: int, k: int, dilation: int = 1) -> nn.Sequential:
    """``groups`` side-by-side (conv without bias + BatchNorm + ReLU) blocks, cin -> cout each."""
    pad = dilation * (k - 1) // 2
    return nn.Sequential(
        nn.Conv2d(groups * cin, groups * cout, k, padding=pad, dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(groups * cout),
        nn.ReLU(inplace=True),
    )


class GroupedApexFlowNet(nn.Module):
    """G independent ApexFlowNets. Input (N, G, 3, 28, 28): sample n of member g; output (N, G, classes) logits."""

    def __init__(self, groups: int, width: int = 8, mid: int = 24, head: int = 12, dropout: float = 0.5,
                 center: bool = False, norm: str = "none", num_classes: int = 3) -> None:
        super().__init__()
        self.groups, self.width, self.mid, self.head = groups, width, mid, head
        self.kwargs = {"width": width, "mid": mid, "head": head, "dropout": dropout, "center": center,
                       "norm": norm, "num_classes": num_classes}
        self.center, self.norm = center, norm
        self.unshuffle = nn.PixelUnshuffle(2)
        self.branches = nn.ModuleList([_gconv(groups, 12, width, 3), _gconv(groups, 12, width, 3, dilation=2)])
        self.pool = nn.MaxPool2d(2)
        self.stage2 = _gconv(groups, 2 * width, mid, 3)
        self.reduce = _gconv(groups, mid, head, 1)
        self.dropout = nn.Dropout(dropout)
        self.fc_weight = nn.Parameter(torch.empty(groups, head * 49, num_classes))
        self.fc_bias = nn.Parameter(torch.empty(groups, num_classes))
        self._init_like_members()
        self.to(memory_format=torch.channels_last)

    def _init_like_members(self) -> None:
        """Initialise every member as a fresh ``ApexFlowNet`` would be (PyTorch's default init), member by member."""
        for g in range(self.groups):
            self.load_member(g, ApexFlowNet(**self.kwargs))

    def forward(self, x: torch.Tensor, gens: Sequence[torch.Generator] | None = None) -> torch.Tensor:
        """(N, G, 3, 28, 28) in [0, 1] -> (N, G, C) logits.

        ``gens`` (one per member, training only): member g's dropout mask comes from ``gens[g]``, so a
        member's training does not depend on which other members share the network.
        """
        n, g = x.shape[:2]
        x = normalize(x.reshape(n, g * 3, 28, 28), self.norm, self.center)  # per image and channel
        # member g: channels 12g .. 12g+11; channels-last makes CPU grouped convs ~2x faster
        x = self.unshuffle(x).contiguous(memory_format=torch.channels_last)
        a, b = (br(x) for br in self.branches)
        h, w = a.shape[2:]
        x = torch.cat([a.view(n, g, self.width, h, w), b.view(n, g, self.width, h, w)], dim=2)
        x = self.pool(x.view(n, g * 2 * self.width, h, w))
        x = self.reduce(self.stage2(x))
        x = x.reshape(n, g, self.head * 49)
        p = self.dropout.p
        if self.training and gens is not None and p > 0:
            keep = torch.stack([torch.rand(n, x.shape[2], generator=gen) >= p for gen in gens], dim=1)
            x = x * keep / (1.0 - p)
        else:
            x = self.dropout(x)
        return torch.einsum("ngf,gfc->ngc", x, self.fc_weight) + self.fc_bias

    # -- member <-> grouped weights ------------------------------------------------------------
    def _blocks(self, net: ApexFlowNet) -> list[tuple[nn.Sequential, nn.Sequential]]:
        return [(self.branches[0], net.branches[0]), (self.branches[1], net.branches[1]),
                (self.stage2, net.stage2), (self.reduce, net.reduce)]

    @torch.no_grad()
    def load_member(self, g: int, net: ApexFlowNet) -> None:
        """Copy ``net``'s weights into member ``g``."""
        for grouped, single in self._blocks(net):
            out = single[0].out_channels
            rows = slice(g * out, (g + 1) * out)
            grouped[0].weight[rows] = single[0].weight
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(grouped[1], name)[rows] = getattr(single[1], name)
        self.fc_weight[g] = net.fc.weight.t()
        self.fc_bias[g] = net.fc.bias

    @torch.no_grad()
    def member(self, g: int) -> ApexFlowNet:
        """Member ``g`` as an ordinary ``ApexFlowNet`` (eval mode), numerically the same network."""
        net = ApexFlowNet(**self.kwargs)
        for grouped, single in self._blocks(net):
            out = single[0].out_channels
            rows = slice(g * out, (g + 1) * out)
            single[0].weight.copy_(grouped[0].weight[rows])
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(single[1], name).copy_(getattr(grouped[1], name)[rows])
            single[1].num_batches_tracked.copy_(grouped[1].num_batches_tracked)
        net.fc.weight.copy_(self.fc_weight[g].t())
        net.fc.bias.copy_(self.fc_bias[g])
        return net.eval()


def _epoch_order(n: int, steps: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    """``steps * batch`` sample positions in 0..n-1: a permutation, topped up from fresh permutations."""
    parts, have = [], 0
    while have < steps * batch:
        parts.append(torch.randperm(n, generator=gen))
        have += n
    return torch.cat(parts)[: steps * batch]


def fit_grouped(x: torch.Tensor, y: torch.Tensor, train_sets: Sequence[np.ndarray], seeds: Sequence[int],
                recipe: object, chunk: int = 64) -> list[ApexFlowNet]:
    """One ``ApexFlowNet`` per (training set, seed): member i trains on ``x[train_sets[i]]`` with seed ``seeds[i]``.

    ``x`` (N, 3, 28, 28) float32 in [0, 1], ``y`` (N,) int64. ``recipe`` is a ``trainer.Recipe``
    (only the fields ``supports_grouped`` accepts). Members are trained ``chunk`` at a time.
    """
    from realtime_mer.training.trainer import class_weights, lr_at  # (trainer imports this module)

    if len(train_sets) != len(seeds):
        raise ValueError(f"{len(train_sets)} training sets but {len(seeds)} seeds")
    # members train side by side only with others of the same number of steps per epoch, so that each
    # member's run depends on its own training set and seed alone (not on the chunk it shares)
    bs = recipe.batch_size
    by_steps: dict[int, list[int]] = {}
    for i, s in enumerate(train_sets):
        by_steps.setdefault(max(1, math.ceil(len(s) / bs)), []).append(i)
    out: dict[int, ApexFlowNet] = {}
    for members in by_steps.values():
        for start in range(0, len(members), chunk):
            part = members[start : start + chunk]
            sets = [np.asarray(train_sets[i], np.int64) for i in part]
            nets = _fit_chunk(x, y, sets, [seeds[i] for i in part], recipe, class_weights, lr_at)
            out.update(zip(part, nets, strict=True))
    return [out[i] for i in range(len(train_sets))]


def _fit_chunk(x: torch.Tensor, y: torch.Tensor, sets: list[np.ndarray], seeds: list[int], recipe,
               class_weights, lr_at) -> list[ApexFlowNet]:
    g = len(sets)
    n_classes = len(CLASSES)
    torch.manual_seed(seeds[0])
    net = GroupedApexFlowNet(g, **{**recipe.model_kwargs, "num_classes": n_classes})
    # every member starts from the weights a lone ApexFlowNet would get with its own seed
    for i, s in enumerate(seeds):
        torch.manual_seed(s)
        net.load_member(i, ApexFlowNet(**net.kwargs))
    if recipe.optimizer == "adamw":
        opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, foreach=True)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, foreach=True)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    weights = torch.stack([class_weights(y[torch.from_numpy(s)].numpy(), n_classes, recipe.class_weighting)
                           for s in sets])  # (G, C)
    sets_t = [torch.from_numpy(s) for s in sets]
    bs = recipe.batch_size
    steps = max(1, math.ceil(len(sets[0]) / bs))  # the same for every member of a chunk
    total, warm = recipe.epochs * steps, recipe.warmup_epochs * steps
    eps = recipe.label_smoothing
    step = 0
    net.train()
    for _epoch in range(recipe.epochs):
        orders = [s[_epoch_order(len(s), steps, bs, gen)] for s, gen in zip(sets_t, gens, strict=True)]
        for b in range(steps):
            idx = torch.stack([o[b * bs : (b + 1) * bs] for o in orders], dim=1)  # (B, G) sample indices
            xb = x[idx]  # (B, G, 3, 28, 28)
            yb = y[idx]  # (B, G)
            if recipe.hflip:
                flip = torch.stack([torch.rand(bs, generator=gen) < 0.5 for gen in gens], dim=1)
                mirrored = torch.flip(xb, dims=[4])
                mirrored = torch.cat([1.0 - mirrored[:, :, :1], mirrored[:, :, 1:]], dim=2)
                xb = torch.where(flip[:, :, None, None, None], mirrored, xb)
            lr = lr_at(step, total, warm, recipe.lr)
            for grp in opt.param_groups:
                grp["lr"] = lr
            logp = F.log_softmax(net(xb, gens), dim=2)  # (B, G, C)
            target = F.one_hot(yb, n_classes).float() * (1 - eps) + eps / n_classes
            # = F.cross_entropy(..., weight, label_smoothing) with probability targets, per member, summed
            loss = -(target * weights[None] * logp).sum(2).mean(0).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
    net.eval()
    return [net.member(i) for i in range(g)]
