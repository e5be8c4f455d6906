"""The MEGC 2019 flow loader: a tiny fake tree, its error messages, and (when present) the real set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer_lab.datasets import load_megc_flow
from realtime_mer.errors import DataError
from tests.helpers.recognition import toy_images, write_flow_tree


def _tree(tmp_path: Path) -> Path:
    images, labels, subjects = toy_images(2, seed=1)
    return write_flow_tree(tmp_path / "megc", images, labels, subjects)


def test_loads_a_fake_tree(tmp_path: Path) -> None:
    images, labels, subjects = toy_images(2, seed=1)
    root = write_flow_tree(tmp_path / "megc", images, labels, subjects, ["smic", "samm"] * 3)
    data = load_megc_flow(root)
    assert len(data) == 6 and data.images.dtype == np.uint8 and data.images.shape == (6, 28, 28, 3)
    assert np.array_equal(data.images, images)  # RGB order kept through the BGR PNG
    assert data.labels.dtype == np.int64 and data.labels.tolist() == labels.tolist()
    assert data.subjects == subjects and data.datasets == ["smic", "samm"] * 3
    assert data.files[0] == "clip000.png"
    sub = data.subset(np.array([4, 1]))
    assert sub.files == ["clip004.png", "clip001.png"] and np.array_equal(sub.images[0], images[4])


def _one_line_error(root: Path, needle: str) -> None:
    with pytest.raises(DataError) as err:
        load_megc_flow(root)
    msg = str(err.value)
    assert "\n" not in msg and needle in msg and ";" in msg  # problem; fix


def test_wrong_root(tmp_path: Path) -> None:
    _one_line_error(tmp_path / "nowhere", "is not a directory")


def test_missing_labels_csv(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _one_line_error(tmp_path / "empty", "labels.csv not found")


def test_missing_png(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "flow" / "clip003.png").unlink()
    _one_line_error(root, "clip003.png (labels.csv line 5) not found")


def test_bad_label_column_and_image(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    text = (root / "labels.csv").read_text().splitlines()
    (root / "labels.csv").write_text("\n".join([*text[:2], text[2].rsplit(",", 1)[0] + ",7", *text[3:]]) + "\n")
    _one_line_error(root, "label '7' is not in 0..2")
    (root / "labels.csv").write_text("file,subject,label\nx.png,s,0\n")
    _one_line_error(root, "lacks column(s) dataset, clip")
    root = _tree(tmp_path / "b")
    (root / "flow" / "clip000.png").write_bytes(b"not a png")
    _one_line_error(root, "is not a readable image")


def test_real_set_counts(megc_flow: Path) -> None:
    data = load_megc_flow(megc_flow)
    assert len(data) == 442
    assert len(set(data.subjects)) == 68
    assert np.bincount(data.labels).tolist() == [250, 109, 83]
    assert {d: data.datasets.count(d) for d in ("smic", "casme2", "samm")} == {"smic": 164, "casme2": 145, "samm": 133}
    chans = data.images.reshape(len(data), -1, 3)
    assert (chans.min(1) == 0).all() and (chans.max(1) == 255).all()
