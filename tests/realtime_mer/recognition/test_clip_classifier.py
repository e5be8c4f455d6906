"""Every clip model runs live: ClipClassifier on ONNX Runtime / torch, fed by clip_input (the training path)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mer_lab.export.to_onnx import export_onnx
from mer_lab.models import create_model, input_contract
from realtime_mer.config import ModelConfig
from realtime_mer.errors import ModelError
from realtime_mer.recognition.classifier import load_classifier
from realtime_mer.recognition.clip_classifier import ClipClassifier, file_sha256
from realtime_mer.recognition.preprocess import clip_input
from realtime_mer.runners.onnxrt import CPU, OnnxRuntimeRunner

CLIP_MODELS = ("c3d", "convlstm", "learnet", "tcgru", "twostream3d")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def moving_clip(n: int = 24, seed: int = 0) -> np.ndarray:
    """A textured 128 px face-sized crop drifting right and back: something for every input builder to see."""
    rng = np.random.default_rng(seed)
    tex = (rng.random((128, 160)) * 255).astype(np.uint8)
    shifts = np.rint(6 * np.sin(np.linspace(0, np.pi, n))).astype(int)
    return np.stack([tex[:, 16 - s : 144 - s] for s in shifts])


def export(name: str, path: Path, trained: bool = True, **kw: object) -> tuple[torch.nn.Module, Path]:
    torch.manual_seed(3)
    model = create_model(name, **kw).eval()
    contract = input_contract(name)
    if "num_classes" in kw:
        import dataclasses

        contract = dataclasses.replace(contract, classes=tuple(f"c{i}" for i in range(int(kw["num_classes"]))))
    meta = {"model": name, "trained": "true" if trained else "false", "weights": "test"}
    return model, export_onnx(model, path, contract, metadata=meta)


@pytest.mark.parametrize("name", CLIP_MODELS)
def test_live_probabilities_equal_torch_on_the_training_input(name: str, tmp_path: Path) -> None:
    model, path = export(name, tmp_path / f"{name}.onnx")
    frames = moving_clip()
    clf = load_classifier(ModelConfig(name=name, backend="onnxruntime", path=path))
    try:
        assert isinstance(clf, ClipClassifier) and clf.needs_clip and clf.backend.startswith("onnxruntime")
        assert clf.model_sha256 == file_sha256(path) and len(clf.model_sha256) == 64
        probs = clf.classify_clip(frames, 2, 12, 21)
        with torch.no_grad():
            ref = torch.softmax(model(torch.from_numpy(clip_input(name, frames, 2, 12, 21)[None])), 1)[0].numpy()
        assert list(probs) == list(clf.classes)
        np.testing.assert_allclose(list(probs.values()), ref, atol=1e-4)
        assert clf.has_intensity == (name == "tcgru")
        if name == "tcgru":  # the intensity head reaches the live path: one value per step, placed over onset..offset
            it = clf.last_intensity
            assert it is not None and it.values.shape == (8,) and ((it.values >= 0) & (it.values <= 1)).all()
            assert it.frames[0] > 2 and it.frames[-1] == pytest.approx(21)
    finally:
        clf.close()


def test_window_intensity_runs_the_head_over_a_window_and_only_for_a_model_that_has_one(tmp_path: Path) -> None:
    model, path = export("tcgru", tmp_path / "tcgru.onnx")
    frames = moving_clip(60)
    clf = load_classifier(ModelConfig(name="tcgru", backend="onnxruntime", path=path))
    try:
        it = clf.window_intensity(frames)  # type: ignore[attr-defined]
        with torch.no_grad():  # the whole window taken as onset..offset, the training input
            _, ref = model.forward_all(torch.from_numpy(clip_input("tcgru", frames, 0, 29, 59)[None]))
        np.testing.assert_allclose(it.values, ref[0].numpy(), atol=1e-4)
        assert it.frames[-1] == pytest.approx(59) and np.all(np.diff(it.frames) > 0) and it.frames[0] > 0
    finally:
        clf.close()
    _, c3d = export("c3d", tmp_path / "c3d.onnx")
    other = load_classifier(ModelConfig(name="c3d", backend="onnxruntime", path=c3d))
    try:
        with pytest.raises(ModelError, match="has no intensity output"):
            other.window_intensity(frames)  # type: ignore[attr-defined]
    finally:
        other.close()


def test_untrained_wrong_model_and_wrong_class_set_are_refused_in_one_line(tmp_path: Path) -> None:
    _, random_export = export("c3d", tmp_path / "random.onnx", trained=False)
    with pytest.raises(ModelError, match=r"holds untrained \(random\) weights.*tools/train.py") as err:
        load_classifier(ModelConfig(name="c3d", backend="onnxruntime", path=random_export))
    assert "\n" not in str(err.value)
    _, learnet = export("learnet", tmp_path / "learnet.onnx")
    with pytest.raises(ModelError, match=r"holds a 'learnet' model, not 'c3d'.*--model learnet"):
        load_classifier(ModelConfig(name="c3d", backend="onnxruntime", path=learnet))
    with pytest.raises(ModelError, match=r"--classes casme2-5 .* was trained on negative, positive, surprise"):
        load_classifier(ModelConfig(name="learnet", backend="onnxruntime", path=learnet, classes="casme2-5"))


def test_a_five_class_export_names_its_classes_live(tmp_path: Path) -> None:
    _, path = export("learnet", tmp_path / "five.onnx", num_classes=5)
    clf = ClipClassifier(OnnxRuntimeRunner(path, [CPU]), "learnet", model_path=path)
    try:
        assert clf.classes == ("c0", "c1", "c2", "c3", "c4")
        assert len(clf.classify_clip(moving_clip(), 0, 10, 23)) == 5
        assert json.loads(clf.metadata["classes"]) == list(clf.classes)
    finally:
        clf.close()


def test_a_clip_checkpoint_runs_on_the_torch_backend_with_its_class_set(tmp_path: Path) -> None:
    from mer_lab.training.checkpoint import save_checkpoint
    from mer_lab.training.recipes import recipe_for
    from realtime_mer.recognition.classes import class_set

    torch.manual_seed(0)
    names = class_set("casme2-5").classes
    recipe = recipe_for("learnet")
    recipe = type(recipe)(**(recipe.to_dict() | {"model_kwargs": {"num_classes": 5}}))
    ckpt = save_checkpoint(tmp_path / "l.safetensors", create_model("learnet", num_classes=5),
                           {"model": "learnet", "classes": list(names), "class_set": "casme2-5", "trained": True,
                            "recipe": recipe.to_dict()})
    clf = load_classifier(ModelConfig(name="learnet", backend="torch", path=ckpt, classes="casme2-5"))
    try:
        assert clf.backend == "torch-cpu" and clf.classes == names
        probs = clf.classify_clip(moving_clip(), 0, 10, 23)
        assert list(probs) == list(names) and abs(sum(probs.values()) - 1) < 1e-6
    finally:
        clf.close()


def test_cli_maps_model_and_classes_and_refuses_an_unknown_class_set() -> None:
    from realtime_mer.app.cli import build_parser, config_from_args
    from realtime_mer.errors import MerError

    cfg = config_from_args(build_parser().parse_args(["--model", "tcgru", "--model-path", "t.onnx", "--classes", "samm-5"]))
    assert (cfg.model.name, cfg.model.path, cfg.model.classes) == ("tcgru", Path("t.onnx"), "samm-5")
    assert config_from_args(build_parser().parse_args([])).model.classes is None  # the model's own classes
    with pytest.raises(MerError, match="--classes 'casme9' is not a known class set; use one of: megc3"):
        config_from_args(build_parser().parse_args(["--classes", "casme9"]))


def test_both_live_classifiers_are_clip_classifier_stages(tmp_path: Path) -> None:
    from realtime_mer.recognition.classifier import ApexFlowClassifier
    from realtime_mer.stages import ClassifierStage, ClipClassifierStage

    _, path = export("tcgru", tmp_path / "t.onnx")
    clip_clf = ClipClassifier(OnnxRuntimeRunner(path, [CPU]), "tcgru", model_path=path)
    apex = ApexFlowClassifier()
    try:
        for clf, clip in ((clip_clf, True), (apex, False)):
            assert isinstance(clf, ClipClassifierStage) and isinstance(clf, ClassifierStage) and clf.needs_clip is clip
        frames = moving_clip()
        assert apex.classify_clip(frames, 0, 12, 23) == apex.classify(frames[0], frames[12])
    finally:
        clip_clf.close()
        apex.close()


def test_cli_tcgru_writes_its_continuous_intensity_to_the_timeline_and_the_frames_csv(tmp_path: Path) -> None:
    import pandas as pd

    from realtime_mer.app.timeline import read_intensity_sources
    from tests.realtime_mer.app.cli.helpers import cli

    _, path = export("tcgru", tmp_path / "t.onnx")
    proc = cli("--demo", "--demo-seconds", "3", "--no-ui", "--model", "tcgru", "--model-path", str(path),
               "--intensity-every", "50", "--timeline", str(tmp_path / "t.png"), "--frames-csv", str(tmp_path / "f.csv"),
               "--stats", str(tmp_path / "s.json"))
    assert proc.returncode == 0, proc.stderr
    got = read_intensity_sources(tmp_path / "t.intensity.csv")
    frames, values = got["window"]
    assert len(frames) > 200 and np.all(np.diff(frames) > 0) and ((values >= 0) & (values <= 1)).all()
    rows = pd.read_csv(tmp_path / "f.csv")
    assert rows["frame"].is_monotonic_increasing and len(rows) == 600
    filled = rows.dropna(subset=["model_intensity"]).set_index("frame")["model_intensity"]
    assert len(filled) > 0.8 * len(frames)  # the rows waited for their values
    trace = dict(zip(frames.astype(int), values, strict=True))
    assert all(abs(trace[int(f)] - v) < 1e-3 for f, v in filled.items())  # the same value in both outputs
    stats = json.loads((tmp_path / "s.json").read_text())
    assert "intensity" in stats["stage_latency_ms"]
