"""Issue 23 §1: an output path never destroys an input. Every output kind pointed at the input video, a frame of
``--frames DIR``, the model or the config file is one line naming both (exit 2, even with ``--overwrite``), the input
untouched; two outputs on one file likewise; links and relative paths resolved; an existing file of any output kind
is refused unless ``--overwrite``. Through the real command line."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from realtime_mer.recognition.classifier import BUNDLED_MODEL
from tests.helpers.faults import write_demo_avi, write_demo_frames
from tests.realtime_mer.app.cli.helpers import REPO, assert_one_line_error, cli


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clash") / "clip.avi"
    write_demo_avi(path, seconds=0.4, size=(160, 120))
    return path


# (option, what the option is given so that the file it writes is the input)
KINDS = [
    ("--events", ""), ("--csv", ""), ("--stats", ""), ("--frames-csv", ""),
    ("--timeline", "png"),  # the picture: refused as an image in a frames folder; as a video: it is the input
    ("--eaf", "eaf"), ("--bids", "tsv"),
    ("--events", "sidecar"), ("--csv", "sidecar"), ("--timeline", "trace"), ("--timeline", "intensity"), ("--bids", "json"),
]


def _aim(option: str, side: str, target: Path, tmp: Path) -> tuple[list[str], str]:
    """The options that make the output ``option`` (or its side file ``side``) write ``target``; and how the error
    names that output."""
    if side == "sidecar":  # e.jsonl's provenance is e.jsonl.meta.json
        name = target.name.removesuffix(".meta.json")
        return [option, str(tmp / name)], f"the provenance of {option}"
    if side == "trace":  # t.png's trace is t.trace.csv
        return [option, str(target.with_name(target.name.split(".")[0] + ".png"))], f"the trace of {option}"
    if side == "intensity":
        return [option, str(target.with_name(target.name.split(".")[0] + ".png"))], f"the intensity trace of {option}"
    if side == "json":  # x_events.tsv's JSON is x_events.json
        return [option, str(target.with_suffix(".tsv"))], f"the JSON of {option}"
    return [option, str(target)], option


@pytest.mark.parametrize(("option", "side"), KINDS)
def test_every_output_kind_pointed_at_the_input_video_is_refused_even_with_overwrite(
        option: str, side: str, video: Path, tmp_path: Path) -> None:
    # the input gets the name the output (or its side file) would write, so the output *is* the input
    names = {"": "rec.avi", "png": "rec.png", "eaf": "rec.eaf", "tsv": "rec_events.tsv", "sidecar": "rec.jsonl.meta.json",
             "trace": "rec.trace.csv", "intensity": "rec.intensity.csv", "json": "rec_events.json"}
    target = tmp_path / names[side]
    shutil.copy(video, target)
    before = _sha(target)
    args, named = _aim(option, side, target, tmp_path)
    proc = cli("--video", str(target), "--no-ui", *args, "--overwrite")
    assert proc.returncode == 2
    line = assert_one_line_error(proc, named, f"the input video (--video {target})", "another path")
    assert "destroy" in line
    assert _sha(target) == before  # not a byte changed
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # nothing written beside it either


def test_the_issue_command_lines_keep_the_recording(video: Path, tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    shutil.copy(video, clip)
    before = _sha(clip)
    for extra in ([], ["--overwrite"]):
        assert_one_line_error(cli("--video", str(clip), "--no-ui", "--stats", str(clip), *extra), "--stats", "input video")
        assert_one_line_error(cli("--video", str(clip), "--no-ui", "--events", str(clip), *extra), "--events", "input video")
    assert _sha(clip) == before


def test_links_and_relative_paths_are_resolved(video: Path, tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    shutil.copy(video, clip)
    (tmp_path / "sym.avi").symlink_to(clip)
    os.link(clip, tmp_path / "hard.avi")
    (tmp_path / "sub").mkdir()
    before = _sha(clip)
    # a symbolic link read and the real file written, and the other way round; a hard link; a path relative to the
    # working folder (the CLI runs in the repository)
    rel = Path(os.path.relpath(clip, REPO))
    for read, write in ((tmp_path / "sym.avi", clip), (clip, tmp_path / "sub" / ".." / "sym.avi"),
                        (tmp_path / "hard.avi", clip), (clip, rel)):
        proc = cli("--video", str(read), "--no-ui", "--csv", str(write), "--overwrite")
        assert_one_line_error(proc, f"--csv {write}", f"--video {read}")
    assert _sha(clip) == before


def test_frames_of_a_folder_the_model_and_the_config_file_are_inputs(tmp_path: Path) -> None:
    frames = write_demo_frames(tmp_path / "EP01", n=12, size=(160, 120))
    before = _sha(frames[3])
    line = assert_one_line_error(cli("--frames", str(tmp_path / "EP01"), "--no-ui", "--frames-csv", str(frames[3]), "--overwrite"),
                                 "--frames-csv", "a frame of --frames", "img003.png")
    assert "destroy" in line
    assert _sha(frames[3]) == before
    # a new picture inside the folder would become a frame of the clip on the next run
    assert_one_line_error(cli("--frames", str(tmp_path / "EP01"), "--no-ui", "--timeline", str(tmp_path / "EP01" / "t.png")),
                          "--timeline", "inside the folder of frames")
    assert not (tmp_path / "EP01" / "t.trace.csv").exists()

    model = tmp_path / "m.onnx"
    shutil.copy(BUNDLED_MODEL, model)
    assert_one_line_error(cli("--demo", "--no-ui", "--model-path", str(model), "--stats", str(model), "--overwrite"),
                          f"--stats {model}", "the model (--model-path")
    assert _sha(model) == _sha(BUNDLED_MODEL)

    run_toml = tmp_path / "run.toml"
    run_toml.write_text("[spot]\nthreshold = 4.5\n")
    assert_one_line_error(cli("--config", str(run_toml), "--demo", "--no-ui", "--frames-csv", str(run_toml), "--overwrite"),
                          f"--frames-csv {run_toml}", "the settings file (--config")
    assert run_toml.read_text() == "[spot]\nthreshold = 4.5\n"


def test_two_outputs_on_one_file_are_refused_naming_both(tmp_path: Path) -> None:
    t = tmp_path / "t.png"
    assert_one_line_error(cli("--demo", "--no-ui", "--timeline", str(t), "--events", str(tmp_path / "t.trace.csv")),
                          f"the trace of --timeline {t}", "--events", "same file")
    assert_one_line_error(cli("--demo", "--no-ui", "--bids", str(tmp_path / "a_events.tsv"), "--stats", str(tmp_path / "a_events.json")),
                          "the JSON of --bids", "--stats", "same file")
    assert_one_line_error(cli("--demo", "--no-ui", "--eaf", str(tmp_path / "a.eaf"), "--csv", str(tmp_path / "a.eaf")),
                          "--eaf", "--csv", "same file")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("which", ["stats", "timeline", "trace", "intensity", "sidecar", "bids json", "frames csv"])
def test_an_existing_file_of_any_output_kind_is_kept_unless_overwrite(which: str, tmp_path: Path) -> None:
    files = {"stats": "s.json", "timeline": "t.png", "trace": "t.trace.csv", "intensity": "t.intensity.csv",
             "sidecar": "e.jsonl.meta.json", "bids json": "b_events.json", "frames csv": "f.csv"}
    existing = tmp_path / files[which]
    existing.write_text("kept\n")
    args = ["--demo", "--demo-seconds", "0.3", "--no-ui", "--quiet", "--stats", str(tmp_path / "s.json"),
            "--timeline", str(tmp_path / "t.png"), "--events", str(tmp_path / "e.jsonl"),
            "--bids", str(tmp_path / "b_events.tsv"), "--frames-csv", str(tmp_path / "f.csv")]
    line = assert_one_line_error(cli(*args), "exists", "--overwrite")
    assert str(existing) in line
    assert existing.read_text() == "kept\n" and sorted(p.name for p in tmp_path.iterdir()) == [existing.name]


def test_overwrite_replaces_the_outputs_of_an_earlier_run(tmp_path: Path) -> None:
    args = ["--demo", "--demo-seconds", "0.3", "--no-ui", "--quiet", "--stats", str(tmp_path / "s.json"),
            "--timeline", str(tmp_path / "t.png")]
    assert cli(*args).returncode == 0
    (tmp_path / "t.intensity.csv").write_text("frame,intensity,source\n5,0.9,event\n")  # as a tcgru run leaves it
    (tmp_path / "s.json").write_text("{}")
    assert_one_line_error(cli(*args), f"--stats {tmp_path / 's.json'}", "exists")
    proc = cli(*args, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "s.json").read_text())["frames_processed"] == 60
    assert not (tmp_path / "t.intensity.csv").exists()  # an earlier model's intensity is not drawn into this picture
