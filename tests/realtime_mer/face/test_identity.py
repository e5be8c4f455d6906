"""Face identities: Hungarian matching on IoU, new ids in order and never reused, a lost face's id back only when
unambiguous, and the pair that collapsed onto one face told apart by motion."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_mer.face.identity import Anchor, Box, Identities, Motion, iou, match


def test_iou_of_boxes() -> None:
    a = Box(0, 0, 10, 10)
    assert iou(a, a) == 1.0
    assert iou(a, Box(20, 0, 10, 10)) == 0.0
    assert abs(iou(a, Box(5, 0, 10, 10)) - 50 / 150) < 1e-9


def test_match_is_one_to_one_and_refuses_weak_overlaps() -> None:
    followed = [Box(0, 0, 100, 100), Box(200, 0, 100, 100)]
    found = [Box(205, 5, 100, 100), Box(500, 0, 100, 100), Box(3, 2, 100, 100)]
    assert sorted(match(followed, found)) == [(0, 2), (1, 0)]
    assert match(followed, [Box(80, 0, 100, 100)], min_iou=0.3) == []  # overlaps the first by 0.11 only
    assert match([], found) == [] and match(followed, []) == []


def test_new_ids_count_up_and_a_lost_face_gets_its_id_back_where_it_left() -> None:
    ids = Identities(fps=30.0, memory_s=3.0)
    assert ids.assign([Box(0, 0, 100, 100), Box(300, 0, 100, 100)], frame=0) == [0, 1]
    ids.forget(1, Anchor(10, 350.0, 50.0, 0.0, 0.0, 100.0), Box(300, 0, 100, 100))
    assert ids.assign([Box(310, 5, 100, 100)], frame=40) == [1]  # back near where it was lost, 1 s later
    assert ids.returned == 1


def test_a_return_after_the_memory_or_far_away_or_at_another_size_gets_a_new_id() -> None:
    ids = Identities(fps=30.0, memory_s=1.0)
    ids.assign([Box(0, 0, 100, 100)], frame=0)
    ids.forget(0, Anchor(0, 50.0, 50.0, 0.0, 0.0, 100.0), Box(0, 0, 100, 100))
    assert ids.assign([Box(0, 0, 100, 100)], frame=31) == [1]  # 1.03 s later: forgotten
    ids.forget(1, Anchor(31, 50.0, 50.0, 0.0, 0.0, 100.0), Box(0, 0, 100, 100))
    assert ids.assign([Box(400, 0, 100, 100)], frame=35) == [2]  # far from where it was lost
    ids.forget(2, Anchor(35, 450.0, 50.0, 0.0, 0.0, 100.0), Box(400, 0, 100, 100))
    assert ids.assign([Box(400, 0, 220, 220)], frame=36) == [3]  # twice the size: another person (or much closer)


def test_two_faces_that_could_be_one_lost_face_both_get_new_ids() -> None:
    ids = Identities(fps=30.0)
    ids.assign([Box(100, 0, 100, 100)], frame=0)
    ids.forget(0, Anchor(5, 150.0, 50.0, 0.0, 0.0, 100.0), Box(100, 0, 100, 100))
    assert ids.assign([Box(80, 0, 100, 100), Box(125, 10, 100, 100)], frame=10) == [1, 2]  # ambiguous: no id given back


def test_one_face_that_could_be_two_lost_faces_gets_a_new_id() -> None:
    ids = Identities(fps=30.0)
    ids.assign([Box(100, 0, 100, 100), Box(160, 0, 100, 100)], frame=0)
    ids.forget(0, Anchor(5, 150.0, 50.0, 0.0, 0.0, 100.0), Box(100, 0, 100, 100))
    ids.forget(1, Anchor(5, 210.0, 50.0, 0.0, 0.0, 100.0), Box(160, 0, 100, 100))
    assert ids.assign([Box(130, 0, 100, 100)], frame=10) == [2]


def test_a_face_moving_behind_another_is_found_where_its_motion_takes_it() -> None:
    ids = Identities(fps=30.0, memory_s=3.0)
    ids.assign([Box(600, 0, 100, 100)], frame=0)
    ids.forget(0, Anchor(30, 450.0, 50.0, -5.0, 0.0, 100.0), Box(300, 0, 100, 100))  # moving left at 5 px per frame
    assert ids.assign([Box(250, 0, 100, 100)], frame=50) == [0]  # 20 frames later, 100 px further left


def test_motion_deviation_tells_which_of_two_trackers_strayed() -> None:
    steady, strayed = Motion(), Motion()
    for f in range(30):
        steady.add(f, Box(100 + 4 * f, 0, 100, 100))  # keeps moving right
        x = 400 - 4 * f if f < 18 else 400 - 4 * 18 + 4 * (f - 18) * 2  # moving left, then dragged right
        strayed.add(f, Box(x, 0, 100, 100))
    assert steady.deviation(12) < 0.05 < 0.5 < strayed.deviation(12)
    before = strayed.anchor(12)
    assert before.frame == 17 and before.vx < 0  # where it was, still moving left


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 600), st.integers(40, 200)), max_size=4), max_size=12),
       st.integers(0, 3))
def test_ids_are_never_reused_or_given_twice(frames: list[list[tuple[int, int, int]]], lose_every: int) -> None:
    """Whatever faces come and go, an id is given once (or back to one lost face), never to two faces at once."""
    ids = Identities(fps=30.0, memory_s=2.0)
    live: dict[int, Box] = {}
    for t, found in enumerate(frames):
        boxes = [Box(x, y, w, w) for x, y, w in found]
        got = ids.assign(boxes, frame=t * 5)
        assert len(got) == len(boxes) and len(set(got)) == len(got)
        assert not set(got) & set(live)  # never the id of a face still followed
        assert all(0 <= g < ids.next_id for g in got)
        live.update(zip(got, boxes, strict=True))
        if lose_every and t % lose_every == 0:
            for fid, b in list(live.items()):
                ids.forget(fid, Anchor(t * 5, b.cx, b.cy, 0.0, 0.0, b.w), b)
                del live[fid]
