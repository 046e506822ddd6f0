"""Load and check ``sentimon.toml``: one file, secrets by ``${ENV}`` reference, checked on load.

Every problem is reported on one line naming the file, the key and what was expected, and all
of a file's problems in one ``ConfigError``, so typos are found when the config is loaded, all
in one run, not at 3 a.m. when an alert fires.
"""

from __future__ import annotations

import builtins
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable

from sentimon.brands import BrandSettings
from sentimon.brands import stored as stored_brand
from sentimon.brands import terms as brand_terms
from sentimon.errors import ConfigError
from sentimon.settings import (
    S,
    SettingError,
    Settings,
    parse,
    problems_of,
    raise_problems,
    setting,
    settings_of,
    validate,
)
from sentimon.server_settings import SERVER_SETTINGS, ServerSettings
from sentimon.storage_settings import STORAGE_SETTINGS, StorageSettings, inline_url, url_problems

if TYPE_CHECKING:
    from alerts.notifier_base import NotifierOptions
    from alerts.rules import AlertRule
    from connectors.base import ConnectorOptions
    from models import ModelSettings

DEFAULT_PATH = "sentimon.toml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Declared in storage_settings and server_settings, read from here too.
__all__ = ["SERVER_SETTINGS", "STORAGE_SETTINGS", "ServerSettings", "StorageSettings"]


@dataclass(frozen=True, kw_only=True)
class DaemonSettings(Settings):
    """The ``[daemon]`` table: how often `sentimon run` checks rules and delivers."""

    check_every: timedelta = setting(
        "duration", timedelta(minutes=5), help="How often alert rules are evaluated.",
    )
    deliver_every: timedelta = setting(
        "duration", timedelta(seconds=30), help="How often pending notifications are sent.",
    )
    log_level: str = setting(
        "str", "INFO", help="Logging level.", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )


DAEMON_SETTINGS = settings_of(DaemonSettings)



@dataclass(frozen=True, kw_only=True)
class DisplaySettings(Settings):
    """The ``[display]`` table: how the CLI and the report show times."""

    timezone: str = setting(
        "timezone", "UTC",
        help='Zone times are shown and grouped in by the CLI and the report, e.g. "Europe/London".',
    )


DISPLAY_SETTINGS = settings_of(DisplaySettings)
_SECTIONS = ("storage", "model", "topics", "connectors", "alerts", "notifiers", "daemon", "server", "display", "brand")


@dataclass(frozen=True)
class ConnectorConfig:
    """One ``[[connectors]]`` entry, checked against its connector class's settings: the entry
    fields the app reads (``connectors.base.ENTRY_SETTINGS``) and the connector's typed options."""

    name: str
    type: str
    every: timedelta
    enabled: bool
    options: ConnectorOptions
    cls: builtins.type  # the connector class (the field `type` above hides the builtin here)


@dataclass
class Config:
    """A loaded, checked configuration. ``secrets`` holds every value expanded from the
    environment so logs and ``doctor`` can mask them."""

    path: Path
    storage: StorageSettings
    model: ModelSettings
    topics: list[Any]
    connectors: list[ConnectorConfig] = field(default_factory=list)
    alerts: list[AlertRule] = field(default_factory=list)
    notifiers: dict[str, NotifierOptions] = field(default_factory=dict)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    secrets: set[str] = field(default_factory=set, repr=False)  # never printed with the config
    display: DisplaySettings = field(default_factory=DisplaySettings)
    brand: BrandSettings = field(default_factory=BrandSettings)

    @property
    def db_path(self) -> Path:
        """The SQLite file (unused when ``storage.url`` names a PostgreSQL database)."""
        return self.storage.path

    def connector(self, name: str) -> ConnectorConfig:
        for entry in self.connectors:
            if entry.name == name:
                return entry
        known = ", ".join(c.name for c in self.connectors) or "none configured"
        raise ConfigError(f"{self.path}: no connector named {name!r} (known: {known})")


def default_config_path() -> Path:
    return Path(os.environ.get("SENTIMON_CONFIG") or DEFAULT_PATH)


class MissingEnvironment(ConfigError):
    """``${NAME}`` references with no such variable set: all of them, so one try finds them all."""

    def __init__(self, message: str, names: list[str]) -> None:
        super().__init__(message)
        self.names = names


def load_config(path: str | Path, environ: dict[str, str] | None = None) -> Config:
    """Read, expand and check the TOML file at ``path``; raise ConfigError on any problem.
    ``environ`` replaces the process environment (doctor checks on with the missing as empty)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found; create one with `sentimon init` "
            "or point --config / $SENTIMON_CONFIG at it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(raw, path, environ)


def parse_config(raw: dict[str, Any], path: Path, environ: dict[str, str] | None = None) -> Config:
    """Check an already-parsed TOML document (separate from reading, for tests and `init`)."""
    secrets: set[str] = set()
    missing: dict[str, str] = {}
    try:
        expanded = _expand(raw, "", os.environ if environ is None else environ, secrets, missing)
        inline = inline_url(raw)
        if missing:
            if len(missing) == 1:
                (name, key), = missing.items()
                what = f"{key}: environment variable {name} is not set (referenced as ${{{name}}})"
            else:
                what = "environment variables not set: " + ", ".join(f"{n} ({k})" for n, k in missing.items())
            raise MissingEnvironment(
                f"{path}: {what}; export {'it' if len(missing) == 1 else 'them'}, or add "
                f"{'it' if len(missing) == 1 else 'them'} to the service's environment file", list(missing),
            )
        return _build(expanded, path, secrets, inline)
    except MissingEnvironment:
        raise
    except (SettingError, ConfigError) as exc:
        # A check may quote the value it rejected; if that came from the environment, the
        # message (printed, not logged) must not show it. One line per problem, each naming
        # the file, so every mistake in it is found in one run.
        found = problems_of(exc) if isinstance(exc, SettingError) else [exc]
        lines = [f"{path}: {_masked(str(problem), secrets)}" for problem in found]
        raise ConfigError("\n".join(lines)) from None


def _masked(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _expand(value: Any, key: str, environ: Any, secrets: set[str], missing: dict[str, str]) -> Any:
    """Replace ``${NAME}`` in every string with the environment's value; unset names are
    collected in ``missing`` (name -> first key using it) so they are reported together."""
    if isinstance(value, dict):
        return {k: _expand(v, f"{key}.{k}" if key else k, environ, secrets, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{key}[{i}]", environ, secrets, missing) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            missing.setdefault(name, key)
            return ""
        secret = environ[name]
        if secret:
            secrets.add(secret)
        return secret

    return _ENV_REF.sub(substitute, value)


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise SettingError(name, f"expected a table [{name}], got {type(value).__name__}")
    return value


def _array_of_tables(raw: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise SettingError(name, f"expected an array of tables [[{name}]]")
    return value


def _build(raw: dict[str, Any], path: Path, secrets: set[str], found: list[SettingError]) -> Config:
    """Check every section and entry, collecting the problems (``found``: those seen before
    expansion), so one run reports them all."""
    import alerts
    import models

    problems: list[SettingError] = list(found)

    def checked(check: Callable[..., Any], *args: Any, fallback: Any = None) -> Any:
        try:
            return check(*args)
        except SettingError as exc:
            problems.extend(problems_of(exc))
            return fallback

    for key in raw:
        if key not in _SECTIONS:
            problems.append(SettingError(key, f"unknown section (known sections: {', '.join(_SECTIONS)})"))

    def typed(cls: type[S], name: str) -> S:
        """``[name]`` as a ``cls``; the defaults when it has problems (reported, not raised)."""
        found = checked(lambda: parse(cls, _table(raw, name), name))
        return found if found is not None else cls()

    storage = typed(StorageSettings, "storage")
    if not storage.path.is_absolute():
        storage = replace(storage, path=path.parent / storage.path)
    problems.extend([] if found else url_problems(storage))

    model = typed(models.ModelSettings, "model")
    topics = checked(_topics, checked(_table, raw, "topics", fallback={}), models, problems, fallback=[])

    notifiers = {}
    declared = checked(_table, raw, "notifiers", fallback={})
    for name, table in declared.items():
        if not isinstance(table, dict):
            problems.append(SettingError(f"notifiers.{name}", "expected a table [notifiers.NAME]"))
            continue
        options = checked(alerts.validate_notifier, name, table)
        if options is not None:
            notifiers[name] = options

    rules: list[AlertRule] = []
    for index, table in enumerate(checked(_array_of_tables, raw, "alerts", fallback=[])):
        rule = checked(alerts.validate_rule, index, table)
        if rule is None:
            continue
        for target in rule.notify:
            if target not in declared:  # a notifier with its own problem is reported once, there
                known = ", ".join(sorted(declared)) or "none defined"
                problems.append(SettingError(
                    f"alerts[{index}].notify", f"no notifier named {target!r} (defined: {known})"
                ))
        rules.append(rule)

    entries = checked(_array_of_tables, raw, "connectors", fallback=[])
    connectors = _connectors(entries, path.parent, problems)
    daemon = typed(DaemonSettings, "daemon")
    server = typed(ServerSettings, "server")
    display = typed(DisplaySettings, "display")
    brand = typed(BrandSettings, "brand")
    rules = [_with_brand(rule, brand, connectors) for rule in rules]
    raise_problems(problems)
    return Config(
        path=path,
        storage=storage,
        model=model,
        topics=topics,
        connectors=connectors,
        alerts=rules,
        notifiers=notifiers,
        daemon=daemon,
        server=server,
        secrets=secrets,
        display=display,
        brand=brand,
    )


def _with_brand(rule: AlertRule, brand: BrandSettings, connectors: list[ConnectorConfig]) -> AlertRule:
    """The rule with its brand as stored (a rule naming our brand means its stored key, '')
    and the words that name that brand, derived once the brand and connectors are known."""
    key = stored_brand(rule.brand, SimpleNamespace(brand=brand))
    return replace(rule, brand=key, brand_terms=brand_terms(brand.name, connectors, key))


def _topics(table: dict[str, Any], models: Any, problems: list[SettingError]) -> list[Any]:
    if not table:
        return list(models.DEFAULT_TOPICS)
    topics = []
    for name, spec in table.items():
        if not isinstance(spec, dict):
            problems.append(SettingError(f"topics.{name}", "expected a table [topics.NAME]"))
            continue
        try:
            values = validate(spec, models.TOPIC_SETTINGS, f"topics.{name}")
        except SettingError as exc:
            problems.extend(problems_of(exc))
            continue
        values["examples"] = tuple(values.get("examples") or ())
        topics.append(models.TopicSpec(name=name, **values))
    return topics


def _connectors(tables: list[dict[str, Any]], base_dir: Path,
                problems: list[SettingError]) -> list[ConnectorConfig]:
    """Each ``[[connectors]]`` entry checked on its own: one bad entry does not hide the next."""
    entries: list[ConnectorConfig] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        try:
            entry = _connector(index, table, base_dir, seen)
        except SettingError as exc:
            problems.extend(problems_of(exc))
            continue
        entries.append(entry)
    return entries


def _connector(index: int, table: dict[str, Any], base_dir: Path, seen: set[str]) -> ConnectorConfig:
    from connectors.base import COMMON_SETTINGS, ENTRY_SETTINGS, load_connector_class
    from sentimon.matching import BrandFilter

    where = f"connectors[{index}]"
    type_name = table.get("type")
    if not isinstance(type_name, str):
        raise SettingError(f"{where}.type", "missing; expected a connector type such as \"files\"")
    try:
        cls = load_connector_class(type_name)
    except ConfigError as exc:
        raise SettingError(f"{where}.type", str(exc)) from None
    values = validate(table, COMMON_SETTINGS + tuple(cls.settings), where)
    BrandFilter.from_options(values, where)  # a bad match/exclude rule stops the load
    entry = {s.name: values.pop(s.name) for s in ENTRY_SETTINGS}
    name = entry["name"]
    if name in seen:
        raise SettingError(f"{where}.name", f"duplicate connector name {name!r}; names must be unique")
    seen.add(name)
    for declared in cls.settings:
        value = values.get(declared.name)
        if declared.kind == "path" and isinstance(value, Path) and not value.is_absolute():
            values[declared.name] = base_dir / value
    return ConnectorConfig(cls=cls, options=parse(cls.Options, values, where), **entry)
