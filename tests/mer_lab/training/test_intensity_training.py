"""Issue 27: tcgru's intensity head trained on windows with neutral context; Recipe.init."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mer_lab.models import create_model
from mer_lab.training.intensity import clip_intensity_targets, fit_intensity, predict_intensity
from mer_lab.training.recipes import recipe_for
from mer_lab.training.trainer import Recipe, fit
from realtime_mer.errors import DataError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_clip_targets_rise_to_the_apex_and_fall_back() -> None:
    t = clip_intensity_targets(np.array([0]), np.array([4]), np.array([8]))
    np.testing.assert_allclose(t[0], [0.25, 0.5, 0.75, 1.0, 0.75, 0.5, 0.25, 0.0])


def _windows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows whose flow channels move (targets 1) or stay still (targets 0)."""
    rng = np.random.default_rng(seed)
    x = np.full((n, 8, 4, 64, 64), 0.5, np.float32)
    x[:, :, :2] = rng.random((n, 8, 2, 64, 64), dtype=np.float32) * 0.1 + 0.45
    t = np.zeros((n, 8), np.float32)
    t[::2] = 1.0
    x[::2, :, 2, 20:40, 20:40] = 0.8  # flow u: something moves in the moving windows
    return x, t


def test_fit_intensity_learns_moving_from_still_windows() -> None:
    wx, wt = _windows(8, 0)
    cx, ct = _windows(6, 1)
    cy = np.array([0, 1, 2, 0, 1, 2])
    recipe = Recipe(**{**recipe_for("tcgru", "paper").to_dict(), "epochs": 10, "batch_size": 2, "lr": 3e-3, "weight_decay": 0.0,
                       "rotate_deg": 0.0, "scale": 0.0, "translate": 0.0, "model_kwargs": {"width": 8, "hidden": 16}})
    res = fit_intensity(cx, cy, ct, wx, wt, recipe, seed=0, window_batch=4)
    pred = predict_intensity(res.model, wx)
    assert pred[wt > 0].mean() > pred[wt == 0].mean() + 0.2, (pred[wt > 0].mean(), pred[wt == 0].mean())
    with pytest.raises(ValueError, match="neutral"):
        fit_intensity(cx, cy, ct, wx[::2], wt[::2], recipe, 0)


def test_recipe_init_loads_the_pretrained_weights(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(5)
    pre = create_model("apexflow", norm="robust")
    path = tmp_path / "pre.safetensors"
    save_file({k: v.contiguous() for k, v in pre.state_dict().items()}, str(path))
    imgs = np.random.default_rng(0).integers(0, 256, (6, 28, 28, 3), dtype=np.uint8)
    recipe = recipe_for("apexflow", ensemble=1, epochs=0, init=str(path))
    got = fit(imgs, np.array([0, 1, 2, 0, 1, 2]), recipe, seed=1).model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in pre.state_dict().items())
    with pytest.raises(DataError, match="not found"):
        fit(imgs, np.array([0, 1, 2, 0, 1, 2]), recipe_for("apexflow", ensemble=1, epochs=0, init=str(tmp_path / "x")), 1)


def test_apexflow_recipe_starts_from_the_bundled_synthetic_pretraining() -> None:
    from safetensors.torch import load_file

    from mer_lab.paths import BUNDLED_INITS
    from mer_lab.training.recipes import PRESETS
    from mer_lab.training.run import recipe_for_classes

    assert {recipe_for("apexflow", p).init for p in PRESETS} == {"synthetic-flow"}
    bundled = load_file(str(BUNDLED_INITS["synthetic-flow"]))
    imgs = np.random.default_rng(0).integers(0, 256, (6, 28, 28, 3), dtype=np.uint8)
    got = fit(imgs, np.array([0, 1, 2, 0, 1, 2]), recipe_for("apexflow", ensemble=1, epochs=0), seed=1).model.state_dict()
    assert got.keys() == bundled.keys() and all(torch.equal(got[k], v) for k, v in bundled.items())
    # a class set of another size gets a head of that size and random weights: the bundled head is 3-class
    five = recipe_for_classes(recipe_for("apexflow"), "apexflow", 5)
    assert five.init == "" and five.model_kwargs == {"norm": "robust", "num_classes": 5}
    assert recipe_for_classes(recipe_for("apexflow"), "apexflow", 3) == recipe_for("apexflow")


def test_initial_weights_of_another_shape_are_one_line(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "five.safetensors"
    save_file({k: v.contiguous() for k, v in create_model("apexflow", num_classes=5).state_dict().items()}, str(path))
    imgs = np.random.default_rng(0).integers(0, 256, (6, 28, 28, 3), dtype=np.uint8)
    with pytest.raises(DataError, match="do not fit this ApexFlowNet") as e:
        fit(imgs, np.array([0, 1, 2, 0, 1, 2]), recipe_for("apexflow", ensemble=1, epochs=0, init=str(path)), seed=1)
    assert "\n" not in str(e.value)


def test_a_several_network_init_starts_each_member_from_its_own(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from mer_lab.training.trainer import MEMBER_PREFIX

    nets = []
    for m in range(2):
        torch.manual_seed(10 + m)
        nets.append(create_model("apexflow", norm="robust"))
    path = tmp_path / "two.safetensors"
    save_file({f"{MEMBER_PREFIX}{m}.{k}": v.contiguous() for m, n in enumerate(nets) for k, v in n.state_dict().items()},
              str(path))
    imgs = np.random.default_rng(0).integers(0, 256, (6, 28, 28, 3), dtype=np.uint8)
    model = fit(imgs, np.array([0, 1, 2, 0, 1, 2]), recipe_for("apexflow", ensemble=3, epochs=0, init=str(path)), seed=1).model
    for member, net in zip(model.members, (nets[0], nets[1], nets[0]), strict=True):  # member m takes network m mod 2
        assert all(torch.equal(member.state_dict()[k], v) for k, v in net.state_dict().items())


def test_the_shipped_apexflow_names_the_bundled_initialisation_it_was_trained_from() -> None:
    import hashlib
    import json

    from mer_lab.paths import BUNDLED_INITS
    from realtime_mer.recognition.backend import default_onnx
    from tests.helpers.tools import load_tool

    init = load_tool("export_apexflow").initialisation("synthetic-flow")
    path = BUNDLED_INITS["synthetic-flow"]
    assert init["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert init["pretraining"]["n"] > 0 and "--per-still" in init["pretraining"]["command"]
    assert load_tool("export_apexflow").initialisation("") is None
    sidecar = json.loads(default_onnx("apexflow").with_suffix(".json").read_text())
    assert sidecar["recipe"]["init"] == "synthetic-flow" and sidecar["initialisation"]["sha256"] == init["sha256"]
    assert sidecar["loso"]["uf1"]["mean"] > 0.747  # the issue-27 rule it was shipped by: beats the random-init recipe


def test_pretraining_reuses_a_flow_set_only_with_the_same_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mer_lab.synthetic.flow_pretrain import SynthFlowSet
    from tests.helpers.tools import load_tool

    rng = np.random.default_rng(0)
    flows = SynthFlowSet(rng.integers(0, 256, (6, 28, 28, 3), dtype=np.uint8), np.array([0, 1, 2, 0, 1, 2]),
                         ["a"] * 6, ["1"] * 6, np.ones(6, np.float32))
    flows.save(tmp_path / "synthetic_flows.npz", {"per_still": 8, "seed": 9000, "config": {"stills_per_video": 3}})
    tool = load_tool("pretrain_apexflow")
    assert tool.main(["--per-still", "24", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "was built with" in err and "\n" not in err
    assert tool.main(["--epochs", "1", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "apexflow_pretrained.safetensors").is_file()
