"""Synthetic clip dataset: aligned crops of injected movements, from Clip objects or a generated folder, cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer_lab.synthetic import clip_set as sc
from mer_lab.synthetic.clip_set import (
    SyntheticClipConfig,
    SyntheticClipSet,
    build_from_clips,
    kept_indices,
    load_or_build,
    subject_of,
)
from mer_lab.synthetic.video_set import generate_video
from realtime_mer.errors import DataError
from realtime_mer.synth.clip import ASTRONAUT, Clip, SynthConfig, make_backdrop
from realtime_mer.synth.render import RenderConfig
from realtime_mer.synth.scene import SceneConfig
from realtime_mer.synth.truth import write_truth_csv
from realtime_mer.types import CLASSES

CFG = SynthConfig(render=RenderConfig(width=320, height=240), jpeg_prob=0.0,
                  scene=SceneConfig(macro_fraction=0.0, max_movements=1, lead_in_s=0.6, lead_jitter_s=0.0))
CLIP_CFG = SyntheticClipConfig(max_frames=16)


def test_helpers() -> None:
    assert subject_of("000_astronaut") == "astronaut" and subject_of("012_Wolf_Lang") == "Wolf_Lang"
    assert subject_of("astronaut") == "astronaut" and subject_of("x_y") == "x_y"
    assert kept_indices(10, 12, 14, 32).tolist() == [10, 11, 12, 13, 14]
    k = kept_indices(0, 33, 99, 16)  # stride 7, plus apex and offset
    assert k[0] == 0 and 33 in k and k[-1] == 99 and len(k) <= 18 and np.all(np.diff(k) > 0)


def test_from_clip_objects() -> None:
    backdrop = make_backdrop(ASTRONAUT, CFG, 1.5)
    clips = [Clip(backdrop, 300, seed=s, cfg=CFG, name=f"{s:03d}_astronaut") for s in (1, 2)]
    truth = [t for c in clips for t in c.truth]
    s = build_from_clips(clips, CLIP_CFG)
    assert len(s) == len(truth) == 2 and s.subjects == ["astronaut", "astronaut"]
    assert [CLASSES[y] for y in s.labels] == [t.label for t in truth] and s.videos == [t.video for t in truth]
    for i, t in enumerate(truth):
        crops, onset, apex, offset = s.sample(i)
        assert crops.shape[1:] == (128, 128) and crops.dtype == np.uint8 and onset == 0 and offset == len(crops) - 1
        assert 0 < apex < offset and len(crops) == len(kept_indices(t.interval.onset, t.interval.apex, t.interval.offset, 16))
        assert crops.std() > 20  # a face, not a blank crop
        assert np.abs(crops[apex].astype(np.float32) - crops[0]).mean() > 0.2  # the movement shows at the apex


def test_from_generated_folder_with_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "set"
    truth = generate_video(ASTRONAUT, folder / "000_astronaut.avi", seconds=1.5, seed=1, cfg=CFG)
    write_truth_csv(folder / "truth.csv", truth)
    cache = tmp_path / "cache" / "clips.npz"
    s = load_or_build(folder, cache, CLIP_CFG)
    assert cache.is_file() and len(s) == len(truth) >= 1 and s.subjects[0] == "astronaut"
    monkeypatch.setattr(sc, "build_from_dir", lambda *a, **k: pytest.fail("the cache was not used"))
    again = load_or_build(folder, cache, CLIP_CFG)
    np.testing.assert_array_equal(again.crops, s.crops)
    assert again.subjects == s.subjects and again.apex.tolist() == s.apex.tolist()
    x = s.inputs("c3d")
    assert x.shape == (len(s), 1, 18, 64, 64) and x.dtype == np.float32
    cache.write_bytes(b"junk")
    with pytest.raises(DataError, match="cannot read synthetic clip cache"):
        SyntheticClipSet.load(cache)


def test_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a directory"):
        sc.build_from_dir(tmp_path / "nope")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "truth.csv").write_text("video,onset,apex,offset,type,aus,label\n000_a,1,2,3,micro,4,negative\n")
    with pytest.raises(DataError, match=r"video 000_a of .* not found"):
        sc.build_from_dir(tmp_path / "t")
