"""--max-faces on real faces composited into one video (``mer_lab.synthetic.multiface``, from ../shared/data; skipped
without it): a movement injected on one face is reported for that face's id alone; ids never swap when two faces cross;
a face that leaves and comes back keeps its id; one face followed by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.evaluation.identity import IdentityReport, follow_clip, score_identities
from mer_lab.synthetic.multiface import MultifaceClip, build_multiface, write_multiface
from realtime_mer.app.pipeline import Pipeline
from realtime_mer.capture.video import VideoSource
from realtime_mer.config import FaceConfig, OutputConfig, PipelineConfig, SourceConfig
from realtime_mer.face.multi import MultiFaceAligner
from realtime_mer.spotting.match import iou
from realtime_mer.types import Event
from tests.helpers.faces import RecordingFaces


def _run(clip: MultifaceClip, tmp_path: Path, max_faces: int) -> tuple[list[Event], dict[int, int], IdentityReport]:
    """The whole pipeline over the clip written as a video: its events and which actor each face id was on."""
    files = write_multiface(clip, tmp_path)
    cfg = PipelineConfig(source=SourceConfig(kind="video", path=files.video), face=FaceConfig(max_faces=max_faces),
                         output=OutputConfig(ui=False))
    rec = RecordingFaces(MultiFaceAligner(cfg.face, clip.fps))
    p = Pipeline(cfg, VideoSource(files.video), aligner=rec)
    p.run()
    rep = score_identities(rec.followed, [b for row in clip.boxes for b in row])
    return p.events, {fid: c.most_common(1)[0][0] for fid, c in rep.on_actor.items()}, rep


@pytest.mark.parametrize(("faces", "actor"), [(2, 1), (3, 0)])
def test_a_movement_injected_on_one_of_several_real_faces_is_reported_for_that_face_alone(
        multiface_sources: list[Path], tmp_path: Path, faces: int, actor: int) -> None:
    clip = build_multiface("side_by_side", faces, seconds=6.0, fps=100.0, seed=0, inject_actor=actor, motion="hold",
                           sources=multiface_sources)
    events, actor_of, rep = _run(clip, tmp_path, faces)
    assert rep.swaps == [] and sorted(actor_of.values()) == list(range(faces))  # every face followed, one id each
    truth = [t.interval for t in clip.truth]
    hits = [e for e in events if any(e.type == t.kind and iou(e.interval(), t) >= 0.5 for t in truth)]
    assert hits and all(actor_of[e.face_id] == actor for e in hits)  # found, and only on the face that made it
    assert not [e for e in events if e.type == "micro" and actor_of[e.face_id] != actor]  # no micro alarm on the others


def test_two_real_faces_crossing_keep_their_ids(multiface_sources: list[Path]) -> None:
    clip = build_multiface("crossing", 2, seed=0, inject_actor=0, sources=multiface_sources)  # one passes in front of the other
    rep, _stats = follow_clip(clip, 2)
    assert rep.swaps == [], rep.to_dict()  # no id was ever on both people
    assert rep.ids_per_actor() == {0: 1, 1: 1}, rep.to_dict()  # the face behind got its own id back after the pass
    assert rep.coverage()[0] == 1.0 and rep.coverage()[1] > 0.8


def test_a_face_that_leaves_and_comes_back_keeps_its_id(multiface_sources: list[Path]) -> None:
    clip = build_multiface("leave_return", 2, seed=0, inject_actor=0, sources=multiface_sources)
    rep, stats = follow_clip(clip, 2)
    assert rep.swaps == [] and rep.ids_per_actor() == {0: 1, 1: 1}, rep.to_dict()
    assert stats["losses"] >= 1 and stats["ids_returned"] >= 1  # it was lost, and its id given back


def test_one_face_is_followed_by_default(multiface_sources: list[Path], tmp_path: Path) -> None:
    clip = build_multiface("side_by_side", 2, seconds=1.0, seed=0, inject_actor=None, sources=multiface_sources)
    _events, actor_of, rep = _run(clip, tmp_path, 1)
    assert set(actor_of) == {0} and len(rep.ids_per_actor()) == 1  # face_id 0 on one person only
