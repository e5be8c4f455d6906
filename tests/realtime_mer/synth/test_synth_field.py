"""Displacement fields and temporal profiles."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mer.errors import DataError
from realtime_mer.synth.aus import ACTION_UNITS, MOVEMENTS, label_for_aus, parse_aus
from realtime_mer.synth.backdrop import load_astronaut
from realtime_mer.synth.field import anchor_point, displacement_field, face_geometry
from realtime_mer.synth.profile import profile_value


def face_200(size: float = 200.0) -> tuple[np.ndarray, tuple[int, int]]:
    """Astronaut landmarks rescaled to a face of ``size`` px, centred in a 400x400 image."""
    _, pts = load_astronaut()
    geo = face_geometry(pts)
    pts = (pts - geo.center) * (size / geo.size) + 200.0
    return pts.astype(np.float32), (400, 400)


@pytest.mark.parametrize("aus", [(1,), (12,), (15,), (26,)])
def test_field_peak_has_requested_amplitude_at_an_anchor(aus: tuple[int, ...]) -> None:
    pts, shape = face_200()
    field = displacement_field(pts, aus, shape, amplitude_px=2.0)
    mag = np.hypot(field[..., 0], field[..., 1])
    assert mag.max() == pytest.approx(2.0, rel=1e-3)  # 200 px face: amplitude in px
    y, x = np.unravel_index(np.argmax(mag), mag.shape)
    anchors = [anchor_point(pts, b.anchor) for b in ACTION_UNITS[aus[0]]]
    assert min(np.hypot(x - a[0], y - a[1]) for a in anchors) < 0.08 * 200


def test_field_direction_and_far_field() -> None:
    pts, shape = face_200()
    geo = face_geometry(pts)
    field = displacement_field(pts, (1, 2), shape, amplitude_px=3.0)
    mag = np.hypot(field[..., 0], field[..., 1])
    y, x = np.unravel_index(np.argmax(mag), mag.shape)
    up = -geo.v
    assert float(field[y, x] @ up) / mag[y, x] > 0.95  # brows move up the face
    chin = pts[152]
    assert mag[int(chin[1]), int(chin[0])] < 1e-3  # nothing at the chin
    assert mag[:20].max() == 0.0 and mag[:, :20].max() == 0.0  # nothing at the image border


def test_field_scales_with_face_size() -> None:
    small, shape = face_200(100.0)
    big, _ = face_200(200.0)
    m_small = np.hypot(*np.moveaxis(displacement_field(small, (12,), shape, 2.0), -1, 0)).max()
    m_big = np.hypot(*np.moveaxis(displacement_field(big, (12,), shape, 2.0), -1, 0)).max()
    assert m_small == pytest.approx(1.0, rel=1e-3) and m_big == pytest.approx(2.0, rel=1e-3)


def test_bad_landmarks_and_unknown_aus_fail() -> None:
    with pytest.raises(DataError):
        displacement_field(np.zeros((10, 2)), (12,), (50, 50), 1.0)
    pts, shape = face_200()
    with pytest.raises(DataError):
        displacement_field(pts, (99,), shape, 1.0)
    with pytest.raises(DataError):
        label_for_aus((2, 15))


def test_class_table() -> None:
    assert label_for_aus((12, 6)) == "positive"
    assert label_for_aus(parse_aus("1+2")) == "surprise" and label_for_aus((26,)) == "surprise" and label_for_aus((5,)) == "surprise"
    for aus in [(4,), (9,), (10,), (14,), (15, 17)]:
        assert label_for_aus(aus) == "negative"
    assert {lab for _, lab in MOVEMENTS} == {"negative", "positive", "surprise"}
    assert all(au in ACTION_UNITS for aus, _ in MOVEMENTS for au in aus)


def test_profile_shape() -> None:
    prof = np.array([profile_value(i, 10, 25, 70) for i in range(10, 71)])
    assert len(prof) == 61
    assert prof[0] == 0.0 and prof[-1] == 0.0
    assert int(np.argmax(prof)) == 15 and prof[15] == 1.0
    assert np.all(np.diff(prof[:16]) > 0) and np.all(np.diff(prof[15:]) < 0)
    assert profile_value(9, 10, 25, 70) == 0.0 and profile_value(71, 10, 25, 70) == 0.0


def test_face_rig_keeps_a_bounded_number_of_au_fields() -> None:
    """The demo renderer caches AU fields per combination; a long run meets many, so the cache is bounded (LRU)."""
    from realtime_mer.synth.render import AU_FIELDS_KEPT, FaceRig

    pts, (w, h) = face_200()
    rig = FaceRig(pts, w, h)
    combos = [(au,) for au in sorted(ACTION_UNITS)][: AU_FIELDS_KEPT + 3]
    assert len(combos) > AU_FIELDS_KEPT
    first = rig.au_field(combos[0])
    for c in combos[1:]:
        rig.au_field(c)
        rig.au_field(combos[0])  # used again and again: stays cached
    assert len(rig._au) == AU_FIELDS_KEPT
    assert rig.au_field(combos[0]) is first
    assert combos[1] not in rig._au  # the least recently used went first
    again = rig.au_field(combos[1])  # rebuilt on demand, the same values as a fresh rig's
    fresh = FaceRig(pts, w, h).au_field(combos[1])
    assert np.array_equal(again.fx, fresh.fx) and np.array_equal(again.fy, fresh.fy)
