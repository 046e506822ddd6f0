"""A PostgreSQL URL fit to print: errors, logs, ``doctor`` and ``db status`` name the server
and database, never the user or password (``pgstore.store`` and ``pgstore.migrate`` use these;
``from sentimon.pgstore.store import redacted, scrubbed`` still works)."""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict


def redacted(url: str) -> str:
    """The server and database of ``url`` without user or password: safe for errors and logs."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql (unreadable URL)"
    return f"postgresql://{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def scrubbed(exc: Exception, url: str) -> str:
    """The first line of a psycopg error without ``url`` or its password, which a parse error
    may quote."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        info = {}
    for secret in sorted({url, str(info.get("password") or "")}, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    return text
