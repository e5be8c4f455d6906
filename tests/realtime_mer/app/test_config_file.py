"""``--config`` / ``--print-config``: the generic dataclass <-> TOML mapper, its one-line errors, and CLI precedence."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_mer.app import cli
from realtime_mer.app.config_file import ConfigError, config_toml, load_config, loads, to_dict, unset_notes
from realtime_mer.config import PipelineConfig


def _strategy(tp: typing.Any) -> st.SearchStrategy:
    """Values of a config field type (the same type rules the mapper follows)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if args and len(args) < len(typing.get_args(tp)):
        return st.none() | _strategy(args[0])
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return st.builds(tp, **{f.name: _strategy(hints[f.name]) for f in dataclasses.fields(tp)})
    return {
        bool: st.booleans(),
        int: st.integers(-(2**63), 2**63 - 1),
        float: st.floats(allow_nan=False, allow_infinity=False),
        str: st.text(),
        Path: st.text(min_size=1).filter(lambda s: "\x00" not in s).map(Path),
    }[tp]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_strategy(PipelineConfig))
def test_print_then_load_gives_the_same_config(cfg: PipelineConfig) -> None:
    assert loads(config_toml(cfg)) == cfg


def test_every_setting_is_printed_including_every_spotters() -> None:
    text = config_toml(PipelineConfig())
    for table in ("[spot]", "[spot.roiflow]", "[spot.lagflow]", "[spot.lbp]", "[spot.gru]", "[face.track]"):
        assert table in text
    for key in ("micro_max_ms = 500.0", "calibration_ms = 1000.0", "threshold = 5.0", "ref_ms = 200.0"):
        assert key in text
    assert "# weights = (unset)  # a path string" in text  # None is a comment that says what it takes
    assert set(unset_notes(PipelineConfig())) >= {"source.path", "source.fps", "spot.gru.weights", "model.path"}


def test_a_partial_file_changes_only_its_keys() -> None:
    cfg = loads('[spot]\nthreshold = 4\nmicro_max_ms = 450\n[spot.roiflow]\nref_ms = 150\n[face.track]\nsmooth = false\n')
    want = PipelineConfig()
    want.spot.threshold, want.spot.micro_max_ms, want.spot.roiflow.ref_ms = 4.0, 450.0, 150.0
    want.face.track.smooth = False
    assert cfg == want
    assert isinstance(cfg.spot.threshold, float)


@pytest.mark.parametrize(("text", "message"), [
    ('[spot.roiflow]\nref_ms = "x"', "run.toml: spot.roiflow.ref_ms: expected a number, got 'x'"),
    ("[spot.roiflow]\nconfirm_z = 3", "run.toml: spot.roiflow.confirm_z: unknown setting"),
    ("colour = 1", "run.toml: colour: unknown setting"),
    ("[face]\nlandmark_every = 2.5", "run.toml: face.landmark_every: expected a whole number, got 2.5"),
    ("[face.track]\nsmooth = 1", "run.toml: face.track.smooth: expected true or false, got 1"),
    ("[spot]\nthreshold = true", "run.toml: spot.threshold: expected a number, got True"),
    ("[spot]\nname = 3", "run.toml: spot.name: expected a string, got 3"),
    ("spot = 3", "run.toml: spot: expected a table [spot], got 3"),
    ("[spot.roiflow]\nref_ms = [1, 2]", "run.toml: spot.roiflow.ref_ms: expected a number, got an array"),
    ('[spot.gru]\nweights = ""', "run.toml: spot.gru.weights: expected a path string, got ''"),
    ("[spot\n", "run.toml: not valid TOML"),
])
def test_bad_keys_and_values_are_one_line_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        loads(text, where="run.toml")
    line = str(err.value)
    assert line.startswith(message), line
    assert "\n" not in line


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def _printed(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.run(list(argv)) == 0
    return capsys.readouterr().out


def test_cli_print_config_round_trips_and_options_override_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run.toml"
    run.write_text('[spot]\nname = "lagflow"\nthreshold = 4.5\n[source]\ndemo_seconds = 3.0\nwidth = 320\n', encoding="utf-8")
    printed = _printed(capsys, "--config", str(run), "--spotter", "lbp", "--print-config")
    cfg = loads(printed)
    assert cfg.spot.name == "lbp"  # given on the command line: wins over the file
    assert cfg.spot.threshold == 4.5 and cfg.source.demo_seconds == 3.0 and cfg.source.width == 320  # from the file
    again = tmp_path / "again.toml"
    again.write_text(printed, encoding="utf-8")
    assert _printed(capsys, "--config", str(again), "--print-config") == printed
    # without --config the printed settings are the options' own
    assert loads(_printed(capsys, "--print-config")) == cli.config_from_args(cli.build_parser().parse_args([]))


def test_every_option_mapped_to_config_sets_those_fields() -> None:
    dests = {a.dest for a in cli.build_parser()._actions}
    assert set(cli.OPTION_FIELDS) <= dests
    unmapped = dests - set(cli.OPTION_FIELDS) - set(cli.NON_CONFIG_OPTIONS)
    assert not unmapped, (f"options {sorted(unmapped)} are in neither cli.OPTION_FIELDS (the config fields they set, so that "
                          "they override --config) nor cli.NON_CONFIG_OPTIONS")
    fields = {f for fs in cli.OPTION_FIELDS.values() for f in fs}
    flat = json.dumps(to_dict(PipelineConfig()))
    for f in fields:  # every target is a real setting
        assert f.split(".")[-1] in flat, f


def test_bad_spotter_in_file_is_refused_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run.toml"
    run.write_text('[spot]\nname = "nope"\n', encoding="utf-8")
    assert cli.main(["--config", str(run), "--print-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"realtime-mer: error: {run}: spot.name: unknown spotter 'nope'") and "\n" not in err


def test_unknown_class_set_in_file_is_refused_before_any_model_is_loaded(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run.toml"
    run.write_text('[model]\nclasses = "casme9"\n', encoding="utf-8")
    assert cli.main(["--config", str(run), "--print-config"]) == 2  # --print-config loads no model: the check is earlier
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"realtime-mer: error: {run}: model.classes: unknown class set 'casme9'") and "\n" not in err
    assert "casme2-5" in err
    run.write_text('[model]\nclasses = "samm-5"\nintensity_every_ms = 50.0\n', encoding="utf-8")
    assert cli.main(["--config", str(run), "--print-config"]) == 0
    out = capsys.readouterr().out
    assert 'classes = "samm-5"' in out and "intensity_every_ms = 50.0" in out


def test_settings_from_the_file_reach_the_run(tmp_path: Path) -> None:
    from tests.realtime_mer.app.cli.helpers import cli as run_cli

    run = tmp_path / "run.toml"
    run.write_text("[source]\ndemo_seconds = 1.5\n", encoding="utf-8")
    proc = run_cli("--config", str(run), "--no-ui", "--quiet", "--stats", str(tmp_path / "s.json"))
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["frames_processed"] == 300  # 1.5 s at 200 fps, from the file


def test_the_settings_own_checks_run_after_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Range rules are not the loader's: whatever ``realtime_mer.config.validate`` says is what a file gets."""
    from realtime_mer import config

    seen: list[PipelineConfig] = []

    def check(cfg: PipelineConfig) -> None:
        seen.append(cfg)
        if cfg.spot.threshold > 100:
            raise ConfigError("spot.threshold = 500 is out of range")

    monkeypatch.setattr(config, "validate", check, raising=False)
    run = tmp_path / "run.toml"
    run.write_text("[spot]\nthreshold = 500.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="out of range"):
        cli.run(["--config", str(run), "--print-config"])
    assert seen and seen[-1].spot.threshold == 500.0
