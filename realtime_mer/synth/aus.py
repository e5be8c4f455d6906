"""FACS action units as sets of landmark-anchored displacement bumps, and the AU → class table.

Coordinates are face-relative: ``u`` points from the subject's right eye to the left eye
(image right for a frontal face), ``v`` points down the face (forehead → chin). A bump is
defined for the subject's *right* side (image left); ``pair`` mirrors it to the left side
(``u`` flipped). Radii are fractions of the face size (see ``field.face_geometry``).

Class table (the MEGC 2018/2019 objective classes of Davison et al., collapsed to the
three MEGC 2019 composite classes as CASME II/SAMM/SMIC are):

=========================  ==========================  =========
AUs                        objective class             label
=========================  ==========================  =========
6+12, 12, 7+12             I happiness                 positive
1+2, 1+2+5, 5, 26, 1+2+26  II surprise                 surprise
4, 4+7                     III anger                   negative
9, 10, 4+9                 IV disgust                  negative
15, 15+17                  V sadness                   negative
14                         (contempt)                  negative
=========================  ==========================  =========
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_mer.errors import DataError, fail


@dataclass(frozen=True, slots=True)
class Bump:
    """One Gaussian displacement bump: tissue at ``anchor`` moves along ``direction``.

    ``anchor`` is a MediaPipe FaceMesh index (or a tuple averaged), ``direction`` (du, dv)
    in face axes, ``radius`` (ru, rv) Gaussian sigmas as fractions of the face size and
    ``weight`` the bump's share of the AU amplitude.
    """

    anchor: tuple[int, ...]
    direction: tuple[float, float]
    radius: tuple[float, float]
    weight: float = 1.0

    def mirrored(self, anchor: tuple[int, ...]) -> Bump:
        return Bump(anchor, (-self.direction[0], self.direction[1]), self.radius, self.weight)


def pair(right: int | tuple[int, ...], left: int | tuple[int, ...], direction: tuple[float, float], radius: float | tuple[float, float], weight: float = 1.0) -> tuple[Bump, Bump]:
    """A bump on the subject's right side and its mirror image on the left side."""
    r = (radius, radius) if isinstance(radius, float) else radius
    ra = right if isinstance(right, tuple) else (right,)
    la = left if isinstance(left, tuple) else (left,)
    b = Bump(ra, direction, r, weight)
    return b, b.mirrored(la)


ACTION_UNITS: dict[int, tuple[Bump, ...]] = {
    # AU1 inner brow raiser: inner brow heads up
    1: (*pair((107, 55), (336, 285), (0.0, -1.0), (0.06, 0.05)),),
    # AU2 outer brow raiser: outer brow tails up
    2: (*pair((70, 46), (300, 276), (0.0, -1.0), (0.06, 0.05)), *pair(105, 334, (0.0, -1.0), 0.05, 0.6)),
    # AU4 brow lowerer: inner brows down and together, glabella down
    4: (*pair((107, 55), (336, 285), (0.45, 0.9), (0.06, 0.045)), Bump((9,), (0.0, 1.0), (0.04, 0.04), 0.5)),
    # AU5 upper lid raiser: upper lid up (tight, wide along the eye)
    5: (*pair(159, 386, (0.0, -1.0), (0.045, 0.022)),),
    # AU6 cheek raiser: infraorbital cheek and lower lid up
    6: (*pair((117, 118), (346, 347), (0.0, -1.0), (0.07, 0.05)), *pair(145, 374, (0.0, -1.0), (0.04, 0.02), 0.6)),
    # AU7 lid tightener: lower lid up and in
    7: (*pair(145, 374, (0.2, -1.0), (0.04, 0.02)),),
    # AU9 nose wrinkler: nose sides and alae up, inner brows slightly down
    9: (*pair(198, 420, (0.15, -1.0), (0.035, 0.05)), *pair(129, 358, (0.0, -1.0), 0.035, 0.8), Bump((168,), (0.0, 0.6), (0.04, 0.03), 0.4)),
    # AU10 upper lip raiser: upper lip up
    10: (Bump((0,), (0.0, -1.0), (0.05, 0.03)), *pair(37, 267, (0.0, -1.0), (0.035, 0.03), 0.9)),
    # AU12 lip corner puller: corners out and up, cheek follows
    12: (*pair(61, 291, (-0.75, -0.65), 0.045), *pair(205, 425, (-0.4, -0.9), 0.05, 0.4)),
    # AU14 dimpler: corners pulled back (outward in 2-D) and tightened
    14: (*pair(61, 291, (-1.0, 0.1), (0.03, 0.025)), *pair(57, 287, (0.3, 0.0), 0.02, 0.4)),
    # AU15 lip corner depressor: corners down
    15: (*pair(61, 291, (-0.15, 1.0), 0.04),),
    # AU17 chin raiser: chin boss and lower lip up
    17: (Bump((18, 200), (0.0, -1.0), (0.07, 0.05)), Bump((17,), (0.0, -1.0), (0.05, 0.03), 0.6)),
    # AU26 jaw drop: the lower lip, chin and jaw line down
    26: (Bump((17, 14), (0.0, 1.0), (0.07, 0.04), 0.8), Bump((152, 199), (0.0, 1.0), (0.12, 0.08)), *pair(148, 377, (0.0, 1.0), 0.06, 0.6)),
}

# (AUs, label) — the movements the generator draws from, grouped by class
MOVEMENTS: tuple[tuple[tuple[int, ...], str], ...] = (
    ((6, 12), "positive"),
    ((12,), "positive"),
    ((7, 12), "positive"),
    ((1, 2), "surprise"),
    ((1, 2, 5), "surprise"),
    ((5,), "surprise"),
    ((26,), "surprise"),
    ((1, 2, 26), "surprise"),
    ((4,), "negative"),
    ((4, 7), "negative"),
    ((9,), "negative"),
    ((10,), "negative"),
    ((4, 9), "negative"),
    ((14,), "negative"),
    ((15,), "negative"),
    ((15, 17), "negative"),
)

_LABELS: dict[tuple[int, ...], str] = dict(MOVEMENTS)


def label_for_aus(aus: tuple[int, ...] | list[int]) -> str:
    """The class of an AU combination from the table above (``DataError`` when not in it)."""
    key = tuple(sorted(aus))
    if key not in _LABELS:
        raise fail(DataError, f"AU combination {aus_str(key)} has no class in the synth table", "use one of realtime_mer.synth.aus.MOVEMENTS")
    return _LABELS[key]


def aus_str(aus: tuple[int, ...] | list[int]) -> str:
    """``(6, 12)`` → ``"6+12"`` (the ``aus`` column of truth.csv)."""
    return "+".join(str(a) for a in sorted(aus))


def parse_aus(text: str) -> tuple[int, ...]:
    """``"6+12"`` → ``(6, 12)``."""
    return tuple(sorted(int(t) for t in text.split("+") if t.strip()))


def bumps_for(aus: tuple[int, ...] | list[int]) -> tuple[Bump, ...]:
    """All bumps of an AU combination."""
    out: list[Bump] = []
    for au in aus:
        if au not in ACTION_UNITS:
            raise fail(DataError, f"AU{au} is not modelled by the synth package", f"use one of {sorted(ACTION_UNITS)}")
        out.extend(ACTION_UNITS[au])
    return tuple(out)
