"""The shared records and the one micro/macro rule."""

from __future__ import annotations

import pytest

from realtime_mer.config import SpotConfig
from realtime_mer.types import MICRO_MAX_MS, classify_kind


@pytest.mark.parametrize(
    ("onset", "offset", "fps", "kind"),
    [
        (0, 100, 200.0, "micro"),  # exactly 500 ms is micro
        (0, 101, 200.0, "macro"),  # 505 ms
        (10, 25, 30.0, "micro"),  # 500 ms at 30 fps
        (10, 26, 30.0, "macro"),
        (5, 5, 200.0, "micro"),  # a one-frame movement lasts 0 ms
    ],
)
def test_micro_macro_rule(onset: int, offset: int, fps: float, kind: str) -> None:
    assert classify_kind(onset, offset, fps) == kind


def test_micro_macro_limit_is_configurable_and_the_config_default_is_the_rule() -> None:
    assert SpotConfig().micro_max_ms == MICRO_MAX_MS == 500.0
    assert classify_kind(0, 60, 200.0, micro_max_ms=250.0) == "macro"
    assert classify_kind(0, 50, 200.0, micro_max_ms=250.0) == "micro"
