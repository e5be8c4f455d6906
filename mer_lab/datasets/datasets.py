"""The dataset loaders by name: ``LOADERS[name](root)`` gives the clips, labelled with the MEGC 2019 3-class mapping."""

from __future__ import annotations

from collections.abc import Callable

from mer_lab.datasets.casme2 import load_casme2
from mer_lab.datasets.casme3 import load_casme3
from mer_lab.datasets.casme_sq import load_casme_sq
from mer_lab.datasets.samm import load_samm
from mer_lab.datasets.samples import ClipSample
from mer_lab.datasets.smic import load_smic

LOADERS: dict[str, Callable[..., list[ClipSample]]] = {
    "casme2": load_casme2,
    "samm": load_samm,
    "smic": load_smic,
    "casme_sq": load_casme_sq,
    "casme3": load_casme3,
}
