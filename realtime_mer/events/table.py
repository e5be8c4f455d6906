"""Events as flat table rows: one probability column per class (``p_negative``, ``p_positive``, ...)
instead of a nested object. The one flattening used by the CSV sink, the batch table, the Python
API's DataFrame and the BIDS export."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from realtime_mer.types import CLASSES, EVENT_FIELDS, Event

PROB_PREFIX = "p_"


def prob_column(cls: str) -> str:
    """The column of class ``cls``'s probability, e.g. ``p_surprise``."""
    return PROB_PREFIX + cls


def classes_of(events: Iterable[Event], default: Sequence[str] = CLASSES) -> tuple[str, ...]:
    """The class names the events carry, in first-seen order (``default`` when none carries any)."""
    seen: dict[str, None] = {}
    for e in events:
        seen.update(dict.fromkeys(e.probabilities))
    return tuple(seen) or tuple(default)


def columns(classes: Sequence[str] = CLASSES) -> tuple[str, ...]:
    """``EVENT_FIELDS`` with ``probabilities`` replaced, in place, by one ``p_<class>`` column per class."""
    i = EVENT_FIELDS.index("probabilities")
    return (*EVENT_FIELDS[:i], *(prob_column(c) for c in classes), *EVENT_FIELDS[i + 1 :])


def flat_row(event: Event, classes: Sequence[str] = CLASSES) -> dict[str, Any]:
    """``event`` as a row of ``columns(classes)``: a class without a probability (an unclassified event) is ``None``."""
    d = event.to_dict()
    probs = d.pop("probabilities")
    row: dict[str, Any] = {}
    for k in columns(classes):
        if k.startswith(PROB_PREFIX) and k not in d:
            row[k] = probs.get(k[len(PROB_PREFIX) :])
        else:
            row[k] = d[k]
    return row


__all__ = ["PROB_PREFIX", "classes_of", "columns", "flat_row", "prob_column"]
