"""The MEGC 2019 emotion mapping."""

from __future__ import annotations

from mer_lab.datasets.megc_classes import megc_label


def test_mapping() -> None:
    assert megc_label("casme2", " Happiness ") == "positive"
    assert megc_label("casme2", "repression") == "negative" and megc_label("casme2", "others") is None
    assert megc_label("samm", "Contempt") == "negative" and megc_label("samm", "Other") is None
    assert megc_label("casme3", "sad") == "negative" and megc_label("casme3", "happy") == "positive"
    assert megc_label("casme_sq", "others") is None and megc_label("smic", "surprise") == "surprise"
    assert megc_label("casme2", "disgust", {"disgust": "surprise"}) == "surprise"  # a custom mapping wins
