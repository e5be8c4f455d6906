"""``config.validate``: the one place settings are checked for type, finiteness and range."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from realtime_mer.buffer import RingBuffer, ring_budget_bytes, slot_bytes
from realtime_mer.config import PipelineConfig, SourceConfig, validate
from realtime_mer.errors import ConfigError


def _cfg(**source: object) -> PipelineConfig:
    return PipelineConfig(source=SourceConfig(**source))  # type: ignore[arg-type]


def test_defaults_are_valid() -> None:
    cfg = PipelineConfig()
    assert validate(cfg) is cfg


@pytest.mark.parametrize("field,value,needle", [
    ("fps", float("inf"), "--fps (source.fps) = inf is not a finite number"),
    ("fps", float("nan"), "--fps (source.fps) = nan"),
    ("fps", 1e9, "out of range"),
    ("fps", 0.0, "must be > 0"),
    ("demo_seconds", float("inf"), "--demo-seconds"),
    ("demo_seconds", 1e300, "<= 86400"),
    ("demo_seconds", -1.0, "--demo-seconds"),
    ("demo_seed", -1, "--seed (source.demo_seed) = -1"),
    ("width", 100_000, "--width"),
    ("height", 100_000, "--height"),
    ("width", 640.5, "whole number"),
    ("fps", "200", "must be a number"),
    ("realtime", "yes", "true or false"),
    ("queue_size", 0, "source.queue_size"),
])
def test_bad_source_settings_are_one_line_config_errors(field: str, value: object, needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        validate(_cfg(**{field: value}))
    msg = str(e.value)
    assert needle in msg and "\n" not in msg


def test_nested_settings_are_checked_too() -> None:
    cfg = PipelineConfig()
    cfg.spot.roiflow.ref_ms = float("inf")
    with pytest.raises(ConfigError, match=r"spot\.roiflow\.ref_ms = inf"):
        validate(cfg)
    cfg = PipelineConfig()
    cfg.face = dataclasses.replace(cfg.face, min_detection_confidence=1.5)
    with pytest.raises(ConfigError, match="min_detection_confidence"):
        validate(cfg)
    cfg = PipelineConfig()
    cfg.spot.min_ms = cfg.spot.max_ms
    with pytest.raises(ConfigError, match=r"below spot\.max_ms"):
        validate(cfg)


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="needs a path"):
        validate(_cfg(kind="video"))
    with pytest.raises(ConfigError, match="--realtime"):
        validate(_cfg(kind="camera", realtime=True))
    with pytest.raises(ConfigError, match="at most 17,280,000"):
        validate(_cfg(demo_seconds=86_400.0, fps=1000.0))
    validate(_cfg(kind="frames", path=Path("x"), fps=10_000.0))  # the highest rate is allowed


def test_ring_buffer_is_bounded_by_memory_not_by_the_rate() -> None:
    with pytest.raises(ConfigError, match="GiB of ring buffer"):
        RingBuffer.for_seconds(5.0, 1e9, 128)
    with pytest.raises(ConfigError, match="ring buffer"):
        RingBuffer.for_seconds(5.0, float("inf"), 128)
    fps = ring_budget_bytes() / slot_bytes(512) / 5.0 * 1.1  # just over the budget at 512 px crops
    with pytest.raises(ConfigError, match="--crop-size"):
        RingBuffer.for_seconds(5.0, fps, 512)
    assert RingBuffer.for_seconds(5.0, 200.0, 128).capacity == 1001
