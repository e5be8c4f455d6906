"""Run settings as TOML: ``--config run.toml`` loads onto ``PipelineConfig``, ``--print-config`` writes it.

One generic mapper, not per-field code: a dataclass becomes a table of its fields (nested dataclasses
become sub-tables, ``[spot.roiflow]``), and a table is read back field by field with the field's
annotated type (``int``, ``float``, ``bool``, ``str``, ``Path``, ``X | None``, a nested dataclass).
A missing key keeps its default; an unknown key, a wrong type or an unparsable file is one
``ConfigError`` line naming the file and the dotted key, e.g.
``run.toml: spot.roiflow.ref_ms: expected a number, got 'x'``. TOML has no null: a setting whose
value is ``None`` (unset) is printed as a comment and left out when loading.

Reading uses the standard library's ``tomllib`` (``tomli``, the same parser, on Python 3.10); the
writer only needs scalars and tables, so it is the few lines below. Range rules (a positive fps, a
threshold above its release level) are the config objects' own; ``load_config`` calls their
checks (``validate``) where they exist.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
import typing
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from realtime_mer.config import PipelineConfig
from realtime_mer.errors import ConfigError, MerError, fail

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FIX = "run realtime-mer --print-config for every setting, its type and default"


# ConfigError (realtime_mer.errors): a config file that cannot be read, or a key / value in it that does not fit the
# settings; the same type config.validate raises for a value out of range, so both end the same way (one line, exit 2)


# ---- dataclass <-> dict ------------------------------------------------------------------------


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """(the type inside ``X | None``, whether None is allowed)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def to_dict(obj: Any) -> dict[str, Any]:
    """A config dataclass as nested dicts of TOML-able values (``Path`` -> str; ``None`` kept)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = to_dict(v)
        elif isinstance(v, Path):
            out[f.name] = str(v)
        else:
            out[f.name] = v
    return out


def _describe(v: Any) -> str:
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "an array"
    return repr(v)


def _value(tp: Any, v: Any, key: str, where: str) -> Any:
    """``v`` converted to the field type ``tp``, or a ``ConfigError`` naming ``key``."""
    inner, _ = _unwrap_optional(tp)

    def bad(expected: str) -> MerError:
        return fail(ConfigError, f"{where}: {key}: expected {expected}, got {_describe(v)}", FIX)

    if dataclasses.is_dataclass(inner):
        if not isinstance(v, dict):
            raise bad(f"a table [{key}]")
        return from_dict(typing.cast(type, inner), v, where, prefix=key + ".")
    if inner is bool:
        if not isinstance(v, bool):
            raise bad("true or false")
        return v
    if inner is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad("a whole number")
        return v
    if inner is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad("a number")
        return float(v)
    if inner is str:
        if not isinstance(v, str):
            raise bad("a string")
        return v
    if inner is Path:
        if not isinstance(v, str) or not v:
            raise bad("a path string")
        return Path(v)
    raise TypeError(f"config field {key} has a type the mapper does not know: {tp!r}")  # a bug in config.py


def from_dict(cls: type, data: Mapping[str, Any], where: str = "config", prefix: str = "", base: Any = None) -> Any:
    """An instance of dataclass ``cls`` from ``data``: given keys replace the fields of ``base`` (default:
    ``cls()``), nested tables recurse into their own dataclass (keeping ``base``'s other values)."""
    base = cls() if base is None else base
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    changes: dict[str, Any] = {}
    for k, v in data.items():
        key = prefix + k
        if k not in names:
            raise fail(ConfigError, f"{where}: {key}: unknown setting", f"known in this table: {', '.join(names)}")
        inner, _ = _unwrap_optional(hints[k])
        if dataclasses.is_dataclass(inner) and isinstance(v, dict):
            changes[k] = from_dict(typing.cast(type, inner), v, where, prefix=key + ".", base=getattr(base, k))
        else:
            changes[k] = _value(hints[k], v, key, where)
    return dataclasses.replace(base, **changes)


# ---- TOML ---------------------------------------------------------------------------------------


def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_str(v)
    raise TypeError(f"cannot write {v!r} as TOML")


def dumps(data: Mapping[str, Any], comments: Mapping[str, str] | None = None) -> str:
    """Nested dicts of scalars as TOML: scalars first, then one ``[table]`` per nested dict; ``None`` values
    become ``# key = (unset)`` comments. ``comments`` (dotted key -> text) are written after values."""
    comments = comments or {}
    lines: list[str] = []

    def table(d: Mapping[str, Any], path: str) -> None:
        scalars = [(k, v) for k, v in d.items() if not isinstance(v, Mapping)]
        if path and (scalars or not d):
            if lines:
                lines.append("")
            lines.append(f"[{path}]")
        for k, v in scalars:
            note = comments.get(f"{path}.{k}" if path else k)
            tail = f"  # {note}" if note else ""
            lines.append(f"# {k} = (unset){tail}" if v is None else f"{k} = {_toml_value(v)}{tail}")
        for k, v in d.items():
            if isinstance(v, Mapping):
                table(v, f"{path}.{k}" if path else k)

    table(data, "")
    return "\n".join(lines) + "\n"


def loads(text: str, where: str = "config", base: PipelineConfig | None = None) -> PipelineConfig:
    """A ``PipelineConfig`` from TOML text (keys left out keep ``base``'s values, default ``PipelineConfig()``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise fail(ConfigError, f"{where}: not valid TOML ({e})", FIX) from None
    return from_dict(PipelineConfig, data, where, base=base)


def validate(cfg: Any) -> None:
    """Run the settings' own range checks where they exist: ``realtime_mer.config.validate(cfg)`` or a
    ``cfg.validate()`` method. The rules live there, once, for the command line and files alike."""
    from realtime_mer import config

    check = getattr(config, "validate", None)
    if callable(check):
        check(cfg)
        return
    method = getattr(cfg, "validate", None)
    if callable(method):
        method()


def load_config(path: Path, base: PipelineConfig | None = None) -> PipelineConfig:
    """``--config PATH``: the file's settings over ``base`` (default ``PipelineConfig()``), checked."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail(ConfigError, f"{path}: no such config file", "check the path given to --config") from None
    except (OSError, UnicodeDecodeError) as e:
        raise fail(ConfigError, f"{path}: cannot read the config file ({e})", "check the path and its permissions") from None
    return loads(text, where=str(path), base=base)


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", Path: "a path string"}


def unset_notes(obj: Any, prefix: str = "") -> dict[str, str]:
    """For every field of ``obj`` (recursively) that is ``None``: dotted key -> what it takes when set."""
    notes: dict[str, str] = {}
    hints = _hints(typing.cast(type, type(obj)))
    for f in dataclasses.fields(obj):
        v, key = getattr(obj, f.name), prefix + f.name
        if dataclasses.is_dataclass(v):
            notes.update(unset_notes(v, key + "."))
        elif v is None:
            inner, _ = _unwrap_optional(hints[f.name])
            notes[key] = f"{_KINDS.get(inner, 'a value')}; unset by default"
    return notes


def config_toml(cfg: PipelineConfig) -> str:
    """The effective settings as TOML (``--print-config``); ``loads`` of it gives ``cfg`` back."""
    head = "# realtime-mer settings: load with --config FILE; options on the command line override the file\n"
    return head + dumps(to_dict(cfg), unset_notes(cfg))


__all__ = ["ConfigError", "config_toml", "dumps", "from_dict", "load_config", "loads", "to_dict", "unset_notes", "validate"]
