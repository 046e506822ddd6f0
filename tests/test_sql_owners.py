"""One owner for the SQL on ``mentions`` (issue 15 item 3): a second store (issue 18) must
replace these modules and nothing else, so a query on the table anywhere else fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWNERS = {
    "sentimon/store/",  # the store package: writes, filtered reads, topics, runs, cursors, roll-ups
    "sentimon/mention_sql.py",  # corrections, export pages, counts
    "sentimon/mention_windows.py",  # the report's window aggregates
    "sentimon/schema.py",  # creates the table
    "sentimon/pgstore/store.py",  # the PostgreSQL store's writes (issue 18)
    "sentimon/pgstore/reads.py",  # and its reads
    "sentimon/pgstore/copy.py",  # `migrate --to`: reads SQLite's tables whole, writes them in PostgreSQL
    "sentimon/datasette_meta.py",  # canned queries Datasette runs, text we never execute
    # The alert engine reads mentions through the db handle the app passes in; moving these
    # behind an app-supplied reader is the open part of issue 15 item 3 (docs/ARCHITECTURE.md).
    "alerts/query.py",
    "alerts/digest.py",
}
SQL_ON_MENTIONS = re.compile(r"\b(FROM|INTO|UPDATE|JOIN)\s+mentions\b")  # our SQL is upper case


def test_only_the_owners_write_sql_on_mentions() -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)}:{n}"
        for part in ("sentimon", "connectors", "models", "alerts")
        for path in (ROOT / part).rglob("*.py")
        if not any(str(path.relative_to(ROOT)).startswith(owner) for owner in OWNERS)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SQL_ON_MENTIONS.search(line)
    )
    assert not offenders, f"SQL on mentions outside its owners (ask the store, sentimon/store/): {offenders}"
