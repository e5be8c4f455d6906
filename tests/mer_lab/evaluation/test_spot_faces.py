"""Played real-face backdrops (natural motion) for spotting: the generator path, the benchmark's
clip cache and its variants, and an end-to-end check that ``lagflow`` finds injected movements
on a face that moves by itself. Needs ``../shared/data/real_faces/single_face.mp4``."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_lab.evaluation.spot_bench import align_frames, replay
from mer_lab.evaluation.spot_faces import (
    CONDITIONS,
    FACES,
    REPORTING,
    TUNING,
    FacesConfig,
    build_face,
    face_files,
    load_aligned,
)
from mer_lab.evaluation.spotting import evaluate
from realtime_mer.config import FaceConfig, SpotConfig
from realtime_mer.face.aligner import FaceAligner
from realtime_mer.synth.backdrop import VideoBackdrop, load_astronaut
from realtime_mer.synth.clip import Clip, SynthConfig
from realtime_mer.synth.scene import SceneConfig


@pytest.fixture(scope="module")
def single_face(real_faces: Path) -> Path:
    p = real_faces / "single_face.mp4"
    if not p.is_file():
        pytest.skip(f"{p} not found")
    return p


def test_split_is_by_person_and_covers_every_face(shared_data: Path) -> None:
    persons = {}
    for _name, (_, person, split, condition) in FACES.items():
        assert split in (TUNING, REPORTING) and condition in CONDITIONS
        assert persons.setdefault(person, split) == split, f"{person} is on both sides"
    splits = list(persons.values())
    assert 0.4 <= splits.count(TUNING) / len(splits) <= 0.6
    import csv

    for folder in ("real_faces_more", "real_faces_listen"):
        manifest = shared_data / folder / "manifest.csv"
        if manifest.is_file():  # every face video of the manifest is in the split, with its person (and condition)
            with manifest.open() as f:
                for row in csv.DictReader(f):
                    assert FACES[row["file"]].person == row["person"]
                    if "talking" in row:
                        assert FACES[row["file"]].condition == ("talking" if row["talking"] == "yes" else "listening")
    tuning, reporting = face_files(shared_data, TUNING), face_files(shared_data, REPORTING)
    assert not {p.name for p in tuning} & {p.name for p in reporting}


def test_played_backdrop_moves_and_held_does_not(single_face: Path) -> None:
    cfg = SynthConfig(fps=200.0, video_motion="play", jpeg_prob=0.0)
    cfg.render = dataclasses.replace(cfg.render, width=320, height=240)
    bd = VideoBackdrop(single_face, 320, 240, 200.0, 2.0, cfg.face_frac, cfg.interp)
    assert bd.source_fps == pytest.approx(30.0, abs=0.1)
    assert bd.position(0) == (0, 0.0) and bd.position(20)[0] == 3  # 200 fps output, 30 fps source
    played = Clip(bd, 240, 1, cfg)
    held = Clip(bd, 240, 1, dataclasses.replace(cfg, video_motion="hold"))
    a0, a1 = played.frame(0, inject=False), played.frame(200, inject=False)
    b0, b1 = held.frame(0, inject=False), held.frame(200, inject=False)
    diff = lambda x, y: float(np.mean(cv2.absdiff(x, y)))  # noqa: E731
    assert diff(a0, a1) > 2.0 * diff(b0, b1)  # the played video moves by itself
    mid = played.frame(3, inject=False)  # an interpolated frame between source frames 0 and 1
    assert not np.array_equal(mid, a0) and mid.shape == (240, 320, 3)


def test_face_cache_builds_all_variants_once(single_face: Path, tmp_path: Path) -> None:
    cfg = FacesConfig(faces=TUNING, clips_per_face=1, listening_clips=1, seconds=2.6, width=320, height=240)
    files = build_face(single_face, cfg, tmp_path)
    assert len(files) == 1 and set(files[0]) == {"native", "played", "held", "jpeg", "reencode"}  # a listening face: every variant
    stamps = {v: f.stat().st_mtime_ns for v, f in files[0].items()}
    truths = []
    for v, f in files[0].items():
        al, truth, meta = load_aligned(f)
        assert meta["variant"] == v and meta["person"] == "single_face_man" and meta["split"] == TUNING
        assert len(al.present) == (78 if v == "native" else 520) and al.present.mean() > 0.9 and al.crops.shape[1:] == (128, 128)
        assert al.fps == pytest.approx(30.0 if v == "native" else 200.0, abs=0.1) and meta["condition"] == "listening"
        truths.append((v, truth))
        if v in ("jpeg", "reencode"):
            assert 20.0 < meta["psnr_db"] < 60.0  # lossy, but the same picture
    by = dict(truths)
    assert by["played"] == by["jpeg"] == by["reencode"]  # the same clip, encoded differently
    assert all(t.offset < 78 for t in by["native"])  # truths in the native clip's own frames
    assert build_face(single_face, cfg, tmp_path) == files  # cached: nothing is rebuilt
    assert {v: f.stat().st_mtime_ns for v, f in files[0].items()} == stamps


def drifting_video(path: Path) -> Path:
    """The bundled portrait as a 25 fps, 5 s video whose head sways, turns and leans (smooth
    natural motion, no expressions) -- a played backdrop without unlabelled facial movements."""
    img, _ = load_astronaut()
    h, w = img.shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (w, h))
    for i in range(125):
        t = i / 25.0
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 1.0 * math.sin(2 * math.pi * t / 5.0), 1.0 + 0.01 * math.sin(2 * math.pi * t / 3.0))
        m[:, 2] += (6.0 * math.sin(2 * math.pi * t / 4.0), 3.0 * math.sin(2 * math.pi * t / 6.0))
        vw.write(cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    vw.release()
    return path


def test_lagflow_finds_injected_movements_on_a_played_face(tmp_path: Path) -> None:
    """End to end: a played (moving) backdrop, upsampled to 200 fps by the generator's flow
    interpolation, three injected micro-expressions -> aligned -> ``lagflow``: all found, nothing
    else. (Real talking faces are much harder: see the played rows of tools/bench_spotting.py.)"""
    scene = SceneConfig(macro_fraction=0.0, micro_amp_px=(2.0, 2.5), micro_ms=(150.0, 400.0), micro_typical_ms=(150.0, 400.0), blink_every_s=(20.0, 30.0), min_gap_s=0.8, max_gap_s=1.2)
    cfg = SynthConfig(fps=200.0, video_motion="play", jpeg_prob=0.0, scene=scene)
    cfg.render = dataclasses.replace(cfg.render, width=320, height=240)
    bd = VideoBackdrop(drifting_video(tmp_path / "drift.avi"), 320, 240, 200.0, 4.9, cfg.face_frac, cfg.interp)
    clip = Clip(bd, 1200, 8, cfg)
    aligner = FaceAligner(FaceConfig())
    try:
        al = align_frames((clip.frame(k) for k in range(1200)), 1200, 200.0, aligner)
    finally:
        aligner.close()
    truth = [t.interval for t in clip.truth]
    assert len(truth) == 3 and all(t.kind == "micro" for t in truth)
    found = replay(al, "lagflow", SpotConfig(name="lagflow"))
    rep = evaluate({"clip": truth}, {"clip": found})
    assert rep.counts["micro"].tp == 3 and rep.counts["micro"].fp == 0, (truth, found)
