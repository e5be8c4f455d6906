"""``PaperRecipe``: the training recipe a seed architecture's paper reports, kept next to the model.

The shared trainer (``mer_lab.training``) has its own fixed ``Recipe``; this record only says
what the original authors used (optimizer, learning rate, schedule, batch, augmentation), so a
faithful re-training can be set up and a model card can cite it. Fields the paper does not state
are left at ``None`` / empty and named in ``notes``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class PaperRecipe:
    """Optimizer, schedule and augmentation of a published model (``None``: not stated in the paper)."""

    optimizer: str  # "sgd" | "adam"
    lr: float
    momentum: float | None = None
    weight_decay: float | None = None
    batch_size: int | None = None
    epochs: int | None = None
    schedule: str = ""  # e.g. "reduce-on-plateau x0.5"
    early_stopping: bool = False
    loss: str = "cross-entropy"
    augmentation: tuple[str, ...] = ()
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return asdict(self)
