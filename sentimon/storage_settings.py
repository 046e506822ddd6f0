"""The ``[storage]`` table: SQLite at ``path`` (the default), or PostgreSQL at ``url``.

The URL holds the database password, so it is taken from the environment only: a URL written
in the file is refused before it is expanded or quoted anywhere, and every check of it names
the key, never the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentimon.settings import SettingError, Settings, settings_of, setting

_POSTGRESQL = ("postgresql://", "postgres://")
_ONE_REFERENCE = re.compile(r"\s*\$\{[A-Za-z_][A-Za-z0-9_]*\}\s*")


@dataclass(frozen=True, kw_only=True)
class StorageSettings(Settings):
    """``[storage]``, typed; ``postgresql`` says which store the app opens."""

    path: Path = setting(
        "path", "sentimon.db", help="SQLite file; relative paths are relative to the config file.",
    )
    url: str = setting(
        "str", "", secret=True,
        help='PostgreSQL instead of SQLite, from the environment only (the URL holds the '
             'password): "${SENTIMON_DATABASE_URL}". Empty: SQLite at path.',
    )
    retention_days: int = setting(
        "int", 0, help="Delete mentions older than this many days; 0 keeps them all.",
    )

    @property
    def postgresql(self) -> bool:
        return bool(self.url)


STORAGE_SETTINGS = settings_of(StorageSettings)


def inline_url(raw: dict[str, Any]) -> list[SettingError]:
    """The problem with a ``[storage] url`` written in the file (``raw``: the TOML document
    before ``${NAME}`` expansion) instead of referenced from the environment."""
    storage = raw.get("storage")
    url = storage.get("url") if isinstance(storage, dict) else None
    if isinstance(url, str) and url and not _ONE_REFERENCE.fullmatch(url):
        return [SettingError("storage.url", 'write "${SENTIMON_DATABASE_URL}" and set that variable in '
                             "the environment: the URL holds the database password, which never lives "
                             "in the config file")]
    return []


def url_problems(storage: StorageSettings) -> list[SettingError]:
    """A URL of another database, or PostgreSQL's client missing: found when the config loads,
    not as a traceback at the first query."""
    if not storage.url:
        return []
    if not storage.url.startswith(_POSTGRESQL):
        return [SettingError("storage.url", "expected a postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
                             "URL (the value is a secret: not shown)")]
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        return [SettingError("storage.url", f"PostgreSQL needs the postgres extra ({exc.name} is not "
                             "installed): pip install 'sentimon[postgres]'")]
    return []
