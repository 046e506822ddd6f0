"""Declared settings: one table per configurable thing drives validation, defaults and docs.

Connectors, notifiers, alert rules and the model each declare their settings once; the config
loader checks a TOML table against them and reports every problem, one line each naming the
file, the key and what was expected (the Datasette habit of one settings table).

Two ways to declare, one table either way: a tuple of ``Setting`` (``validate`` returns a dict),
or a frozen dataclass deriving from ``Settings`` whose fields are declared with ``setting(...)``
(``parse`` returns an instance, read as typed attributes that mypy checks). ``settings_of``
derives the dataclass's ``Setting`` table, so its docs and ``--help`` rows come from the same
declaration as its attributes.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Sequence, TypeVar

from sentimon.durations import parse_duration

REQUIRED: Any = object()

# Kinds a setting can have, and what the error message says was expected.
_EXPECTED = {
    "str": "a string",
    "path": "a file path (relative to the config file) or glob",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "duration": 'a duration such as "90s", "5m", "1h" or "7d"',
    "list[str]": "a list of strings",
    "str|list[str]": "a string or a list of strings",
    "dict": "a table",
    "dict[str,str]": "a table of strings",
    "timezone": 'an IANA time zone such as "UTC" or "Europe/Berlin"',
}


@dataclass(frozen=True)
class Setting:
    """One key of a config table: its name, kind, default and a help line for docs."""

    name: str
    kind: str = "str"
    default: Any = REQUIRED
    help: str = ""
    choices: tuple[Any, ...] = ()
    secret: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


class SettingError(ValueError):
    """A value does not fit its Setting; ``key`` is the dotted path for the message."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def _convert(setting: Setting, value: Any, key: str) -> Any:
    kind = setting.kind
    if value is None and setting.default is None:  # unset, as checked before (TOML has no null)
        return None
    expected = _EXPECTED.get(kind, kind)
    wrong = SettingError(key, f"expected {expected}, got {type(value).__name__} {value!r}")
    if kind == "str":
        if not isinstance(value, str):
            raise wrong
    elif kind == "path":
        if isinstance(value, Path):  # checked before: parse() takes checked values again
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise wrong
        value = Path(value).expanduser()
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
        value = float(value)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise wrong
    elif kind == "duration":
        if isinstance(value, timedelta):  # checked before; TOML itself has no durations
            return value
        if not isinstance(value, str):
            raise wrong
        try:
            value = parse_duration(value)
        except ValueError as exc:
            raise SettingError(key, str(exc)) from None
    elif kind in ("list[str]", "str|list[str]"):
        if kind == "str|list[str]" and isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong
    elif kind == "timezone":
        if not isinstance(value, str) or not _is_zone(value):
            raise wrong
    elif kind in ("dict", "dict[str,str]"):
        if not isinstance(value, dict):
            raise wrong
        if kind == "dict[str,str]" and not all(isinstance(v, str) for v in value.values()):
            raise wrong
    if setting.choices:
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item not in setting.choices:
                choices = ", ".join(repr(c) for c in setting.choices)
                raise SettingError(key, f"expected one of {choices}, got {item!r}")
    return value


def _is_zone(name: str) -> bool:
    """Checked when the config loads, not at the first row of a file hours later."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


class SettingProblems(SettingError):
    """Several problems found in one check, in the order they were found. It reads as the
    first (``key``, ``problem``: what callers of a single SettingError look at) and its text
    has one line per problem, so a file's mistakes are all reported in one run."""

    def __init__(self, problems: Sequence[SettingError]) -> None:
        first = problems[0]
        super().__init__(first.key, first.problem)
        self.problems = list(problems)
        self.args = ("\n".join(str(p) for p in self.problems),)

    def __str__(self) -> str:
        return str(self.args[0])


def problems_of(exc: SettingError) -> list[SettingError]:
    """Every problem an error stands for: itself, or each one a SettingProblems carries."""
    return list(getattr(exc, "problems", None) or [exc])


def raise_problems(problems: Sequence[SettingError]) -> None:
    """Raise nothing for none, the error itself for one, SettingProblems for several."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise SettingProblems(problems)


def default_value(setting: Setting, key: str) -> Any:
    """A setting's default in the form a configured value has: ``"15m"`` becomes a timedelta,
    a path a Path, a list or table a fresh copy (never shared between configs). Defaults are
    written as people would write them, so the docs show them that way."""
    default = setting.default
    if isinstance(default, (list, dict)):
        return copy.deepcopy(default)
    written = str if setting.kind in ("duration", "path", "str|list[str]") else int
    if setting.kind in ("duration", "path", "float", "str|list[str]") \
            and isinstance(default, written) and not isinstance(default, bool):
        return _convert(setting, default, key)
    return default


def validate(table: dict[str, Any], settings: Sequence[Setting], where: str) -> dict[str, Any]:
    """Check ``table`` against ``settings``; return it with defaults filled and values converted.

    ``where`` is the dotted prefix used in messages (``connectors[0]`` or ``notifiers.slack``).
    Raises SettingError for an unknown key, a missing required key or a wrong type; when the
    table has several, SettingProblems with all of them.
    """
    known = {s.name: s for s in settings}
    problems: list[SettingError] = []
    for key in table:
        if key not in known:
            names = ", ".join(sorted(known)) or "none"
            problems.append(SettingError(f"{where}.{key}", f"unknown key (known keys: {names})"))
    result: dict[str, Any] = {}
    for setting in settings:
        key = f"{where}.{setting.name}"
        try:
            if setting.name in table:
                result[setting.name] = _convert(setting, table[setting.name], key)
            elif setting.required:
                expected = _EXPECTED.get(setting.kind, setting.kind)
                raise SettingError(key, f"missing; expected {expected}")
            else:
                result[setting.name] = default_value(setting, key)
        except SettingError as exc:
            problems.append(exc)
    raise_problems(problems)
    return result


def describe(settings: Sequence[Setting]) -> list[dict[str, str]]:
    """Rows for documentation and ``--help``: name, kind, default, help."""
    rows = []
    for s in settings:
        if s.required:
            default = "(required)"
        elif isinstance(s.default, timedelta):
            default = str(s.default)
        else:
            default = repr(s.default)
        rows.append({"name": s.name, "kind": s.kind, "default": default, "help": s.help})
    return rows


# The typed side. A field's annotation must be what its kind converts to, checked when the
# table is derived (at import): the kind (shown in docs) and the type (read by mypy) cannot drift.
_ANNOTATION = {
    "str": "str", "path": "Path", "int": "int", "float": "float", "bool": "bool",
    "duration": "timedelta", "list[str]": "list[str]", "str|list[str]": "list[str]",
    "dict": "dict[str, Any]", "dict[str,str]": "dict[str, str]", "timezone": "str",
}
_META = "sentimon.setting"
_MAPPING = frozenset(dir(Mapping))
S = TypeVar("S", bound="Settings")


def setting(kind: str = "str", default: Any = REQUIRED, *, help: str = "",
            choices: tuple[Any, ...] = (), secret: bool = False, key: str = "") -> Any:
    """A field of a ``Settings`` dataclass, declared as a ``Setting`` is; its key is the field's
    name, or ``key`` where the key is no Python name (``from``)."""
    return declared(Setting(key, kind, default, help, tuple(choices), secret))


def declared(s: Setting) -> Any:
    """A field for a Setting declared as a value (shared with code that reads dicts). Its
    dataclass default is the converted one, so an object built directly has no "15m" in it.
    A secret is left out of the object's repr, so logging the options cannot show it."""
    meta = {_META: s}
    if s.required:
        return dataclasses.field(metadata=meta, repr=not s.secret)
    value = default_value(s, s.name or "default")
    if isinstance(value, (list, dict)):
        fresh = functools.partial(copy.deepcopy, value)
        return dataclasses.field(default_factory=fresh, metadata=meta, repr=not s.secret)
    return dataclasses.field(default=value, metadata=meta, repr=not s.secret)


class Settings(Mapping[str, Any]):
    """Base of typed settings: frozen, keyword-only dataclasses whose ``setting()`` fields are
    the keys. Code reads attributes (typed); the object is also a read-only mapping by key for
    readers that are generic over sources (which secret to mask, which brand a source watches)
    and for modules still reading keys."""

    def __getitem__(self, key: str) -> Any:
        attr = _attributes(type(self)).get(key)
        if attr is None:
            raise KeyError(key)
        return getattr(self, attr)

    def __iter__(self) -> Iterator[str]:
        return iter(_attributes(type(self)))

    def __len__(self) -> int:
        return len(_attributes(type(self)))


@functools.cache
def _attributes(cls: type) -> dict[str, str]:
    """Key -> attribute for every field (settings by their key, derived fields by name)."""
    return {_key(f): f.name for f in dataclasses.fields(cls)}


def _key(f: dataclasses.Field[Any]) -> str:
    s = f.metadata.get(_META)
    return (s.name or f.name) if s is not None else f.name


def _annotation(f: dataclasses.Field[Any]) -> str:
    if isinstance(f.type, str):
        return f.type
    return f.type.__name__ if isinstance(f.type, type) else repr(f.type).replace("typing.", "")


@functools.cache
def settings_of(cls: type[Settings], upto: type[Settings] | None = None) -> tuple[Setting, ...]:
    """The Setting table a Settings dataclass declares: its own fields first, then its bases'
    (nearest first), so a connector's own options lead and the shared HTTP ones follow, as the
    docs show them. ``upto`` leaves out the fields of that base and the classes above it."""
    if not dataclasses.is_dataclass(cls) or not getattr(cls, "__dataclass_params__").frozen:
        raise TypeError(f"{cls.__name__}: settings must be a frozen dataclass")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    stop = set(upto.__mro__) if upto is not None else set()
    table: dict[str, Setting] = {}
    for klass in cls.__mro__:
        if klass in stop:
            break
        for name in klass.__dict__.get("__annotations__", {}):
            f = fields.get(name)
            if f is None or _META not in f.metadata or name in table:
                continue
            s = f.metadata[_META]
            s = s if s.name else dataclasses.replace(s, name=name)
            expected = f"{_ANNOTATION.get(s.kind)}{' | None' if s.default is None else ''}"
            if _annotation(f) != expected:
                raise TypeError(f"{cls.__name__}.{name}: kind {s.kind!r} converts to {expected}, "
                                f"but the field says {_annotation(f)}")
            if name in _MAPPING:
                raise TypeError(f"{cls.__name__}.{name}: the name hides the mapping method; set key=")
            table[name] = s
    return tuple(table.values())


def parse(cls: type[S], table: Mapping[str, Any], where: str) -> S:
    """Check ``table`` against the settings ``cls`` declares (every problem at once, as
    ``validate``) and return the typed object. Already-checked values pass again unchanged."""
    if isinstance(table, cls):
        return table
    values = validate(dict(table), settings_of(cls), where)
    names = _attributes(cls)
    return cls(**{names[key]: value for key, value in values.items()})


def settings_class(name: str, settings: Sequence[Setting], base: type[S]) -> type[S]:
    """A Settings dataclass built from a Setting tuple, for components still declaring one
    (a third-party connector's ``settings``): their options become typed objects too."""
    fields = [(s.name, _ANNOTATION[s.kind] + (" | None" if s.default is None else ""), declared(s))
              for s in settings]
    cls = dataclasses.make_dataclass(name, fields, bases=(base,), frozen=True, kw_only=True)
    return cls  # type: ignore[return-value]
