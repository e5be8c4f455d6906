"""The MEGC 2019 composite and the emotion mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.datasets.datasets import load_composite
from mer_lab.datasets.megc_classes import megc_label
from realtime_mer.errors import DataError
from tests.mer_lab.datasets.test_data_casme2 import make_casme2
from tests.mer_lab.datasets.test_data_samm import make_samm
from tests.mer_lab.datasets.test_data_smic import make_smic


def test_mapping() -> None:
    assert megc_label("casme2", " Happiness ") == "positive"
    assert megc_label("casme2", "repression") == "negative" and megc_label("casme2", "others") is None
    assert megc_label("samm", "Contempt") == "negative" and megc_label("samm", "Other") is None
    assert megc_label("casme3", "sad") == "negative" and megc_label("casme3", "happy") == "positive"
    assert megc_label("casme_sq", "others") is None and megc_label("smic", "surprise") == "surprise"
    assert megc_label("casme2", "disgust", {"disgust": "surprise"}) == "surprise"  # a custom mapping wins


def test_composite_prefixes_subjects(tmp_path: Path) -> None:
    roots = {"casme2": make_casme2(tmp_path / "c"), "samm": make_samm(tmp_path / "s"), "smic": make_smic(tmp_path / "m")}
    clips = load_composite(roots)
    assert {c.dataset for c in clips} == {"casme2", "samm", "smic"} and len(clips) == 3 + 2 + 3
    assert {c.subject for c in clips if c.dataset == "samm"} == {"samm/006", "samm/007"}
    with pytest.raises(DataError, match="needs roots for smic"):
        load_composite({"casme2": roots["casme2"], "samm": roots["samm"]})
