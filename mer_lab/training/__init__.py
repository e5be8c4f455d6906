"""Training and evaluation of recognition models: metrics, protocols, the fixed recipe, checkpoints, export."""

from __future__ import annotations
