"""Temporal profiles of movements: raised-cosine onset → apex → offset."""

from __future__ import annotations

import math


def profile_value(i: float, onset: int, apex: int, offset: int) -> float:
    """Movement intensity at frame ``i``: 0 at and outside onset/offset, 1 at the apex.

    Rises as ``(1 - cos)/2`` from onset to apex and falls as ``(1 + cos)/2`` to the offset,
    so velocity is zero at onset, apex and offset (no jumps, no kinks).
    """
    if i <= onset or i >= offset:
        return 0.0
    if i <= apex:
        return 0.5 * (1.0 - math.cos(math.pi * (i - onset) / (apex - onset)))
    return 0.5 * (1.0 + math.cos(math.pi * (i - apex) / (offset - apex)))


def smoothstep(x: float) -> float:
    """0 below 0, 1 above 1, ``3x² - 2x³`` in between."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)
