"""``sentimon doctor``: is this installation able to do its job? Each check is one row.

Secrets are shown only as "set, N characters", never any of their characters. The checks that
reach out (notifiers, the push endpoint's port, the daemon's lock) are in ``doctor_services``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Callable

from sentimon.app import exposes_secrets
from sentimon.durations import format_duration
from sentimon.config import MissingEnvironment, load_config
from sentimon.doctor_services import Check, check_daemon, check_notifiers, check_push_endpoint
from sentimon.doctor_services import row as _row
from sentimon.errors import ConfigError, SentimonError
from sentimon.logs import mask
from sentimon.store import Store

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def check_packages() -> list[Check]:
    """connectors/models/alerts are generic names: make sure they are ours, not a PyPI namesake."""
    rows = []
    for name in ("connectors", "models", "alerts"):
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin).resolve() if spec and spec.origin else None
        if origin is not None and origin.parent.parent == PROJECT_ROOT:
            rows.append(_row(f"package {name}", "ok", str(origin.parent)))
        else:
            rows.append(_row(
                f"package {name}", "fail",
                f"resolves to {origin} instead of sentimon's; install sentimon in its own virtualenv",
            ))
    return rows


def check_config(app: Any) -> list[Check]:
    config = app.config
    rows = [_row("config", "ok", f"{config.path}: {len(config.connectors)} connectors, "
                 f"{len(config.alerts)} alert rules, {len(config.notifiers)} notifiers")]
    for entry in config.connectors:
        secret_settings = [s.name for s in entry.cls.settings if s.secret]
        shown = ", ".join(f"{n}={mask(str(entry.options.get(n) or ''))}" for n in secret_settings)
        missing = [n for n in secret_settings if not entry.options.get(n)]
        status = "warn" if missing else "ok"
        detail = f"type {entry.type}, every {format_duration(entry.every)}" + (f"; {shown}" if shown else "")
        if missing:
            detail += f"; missing credentials: {', '.join(missing)}"
        rows.append(_row(f"connector {entry.name}", status, detail))
    if exposes_secrets(config):
        rows.append(_row("config permissions", "warn", f"{config.path} is readable by every user; chmod 600 it"))
    return rows


def check_database(app: Any) -> list[Check]:
    store = app.store()
    counts = store.counts()
    version = store.schema_version
    where = app.database  # on PostgreSQL: server and database, never the user or password
    if isinstance(store, Store):
        size = store.path.stat().st_size if store.path.exists() else 0
        where = f"{where} ({size / 1e6:.1f} MB)"
    rows = [_row(
        "database", "ok" if version == store.latest_schema_version else "warn",
        f"{where}, schema {version}/{store.latest_schema_version}, "
        f"{counts['mentions']} mentions, {counts['pending_deliveries']} pending deliveries",
    )]
    if isinstance(store, Store) and not os.access(store.path.parent, os.W_OK):
        rows.append(_row("database writable", "fail", f"{store.path.parent} is not writable"))
    for run in store.last_runs():
        status = "warn" if run["last_error"] else "ok"
        detail = f"last run {run['last_run']}, last success {run['last_success'] or 'never'}"
        if run["last_error"]:
            detail += f", last error: {run['last_error']}"
        rows.append(_row(f"health {run['source']}", status, detail))
    return rows


def check_model(app: Any) -> list[Check]:
    classifier = app.classifier()
    result = classifier.classify(["The parcel arrived two weeks late."])[0]
    return [_row("model", "ok", f"{classifier.name} loads and classifies (test text: {result.sentiment})")]


def run_checks(app: Any) -> list[Check]:
    """Every check in order; one that raises becomes a failed row, the rest still run."""
    rows = check_packages()
    steps: list[tuple[str, Callable[[Any], list[Check]]]] = [
        ("config", check_config), ("notifiers", check_notifiers),
        ("push endpoint", check_push_endpoint), ("database", check_database),
        ("daemon", check_daemon), ("model", check_model),
    ]
    checked = app
    try:
        for name, step in steps:
            try:
                rows.extend(step(checked))
            except MissingEnvironment as exc:
                # Name every unset variable, then check the rest as if they were set but empty.
                rows.append(_row("environment", "fail", str(exc)))
                try:
                    checked = _without(app, exc.names)
                except ConfigError as still:  # an empty value is no valid URL, port, ...
                    rows.append(_row("config", "fail", f"with those variables empty: {still}"))
                    break
                rows.extend(step(checked))
            except SentimonError as exc:
                if name == "config" and isinstance(exc, ConfigError):
                    raise  # nothing else can be checked: one line and exit 2, like every command
                rows.append(_row(name, "fail", str(exc)))
                if name == "config":
                    break
    finally:
        if checked is not app:
            checked.close()
    return rows


def _without(app: Any, names: list[str]) -> Any:
    """The app with its config loaded as though ``names`` were set to empty strings."""
    from sentimon.app import App

    environ = {**os.environ, **{name: "" for name in names}}
    fallback = App(app.config_path, config=load_config(app.config_path, environ))
    fallback.creates_database = getattr(app, "creates_database", True)
    return fallback
