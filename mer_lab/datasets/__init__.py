"""Dataset loaders (features and labels for training and evaluation)."""

from __future__ import annotations

from mer_lab.datasets.megc_flow import MegcFlowSet, load_megc_flow

__all__ = ["MegcFlowSet", "load_megc_flow"]
