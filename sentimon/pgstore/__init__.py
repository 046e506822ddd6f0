"""PostgreSQL as a second store (issue 18): ``PgStore`` keeps ``Store``'s contract on a server.

Optional: it needs the ``postgres`` extra (psycopg 3 and psycopg_pool), so nothing imports
this package unless a ``postgresql://`` URL is configured. What works so far and what does
not is in docs/postgresql.md.
"""

from __future__ import annotations

from sentimon.pgstore.store import PgStore, redacted

__all__ = ["PgStore", "redacted"]
