"""The PyTorch recognition models (registered by name; see ``mer_lab.models.registry``)."""

from __future__ import annotations

from mer_lab.models import apexflow as _apexflow  # noqa: F401  (registers "apexflow")
from mer_lab.models import c3d as _c3d  # noqa: F401  (registers "c3d")
from mer_lab.models import convlstm as _convlstm  # noqa: F401  (registers "convlstm")
from mer_lab.models import learnet as _learnet  # noqa: F401  (registers "learnet")
from mer_lab.models import tcgru as _tcgru  # noqa: F401  (registers "tcgru")
from mer_lab.models import twostream3d as _twostream3d  # noqa: F401  (registers "twostream3d")
from mer_lab.models.registry import InputContract, available_models, create_model, input_contract, register

__all__ = ["InputContract", "available_models", "create_model", "input_contract", "register"]
