"""The database schema as forward migrations, recorded in the database by sqlite-utils.

Each migration is a function applied once, in order, inside a transaction. Never edit a
migration that has been released: add a new one, so an old database opens under a new
release. ``SCHEMA_VERSION`` is the number of migrations, reported by ``doctor``.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("sentimon")


@migrations(name="0001_core")
def _core(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE mentions (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            external_id TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'post',
            url TEXT,
            author TEXT,
            title TEXT,
            text TEXT NOT NULL,
            rating INTEGER,
            lang TEXT,
            created_at TEXT NOT NULL,   -- ISO 8601 UTC, 'YYYY-MM-DDTHH:MM:SSZ', sorts as time
            fetched_at TEXT NOT NULL,
            extra TEXT,                 -- JSON object of source-specific fields
            sentiment TEXT,             -- negative | neutral | positive
            score_negative REAL,
            score_neutral REAL,
            score_positive REAL,
            model TEXT,
            UNIQUE (source, external_id)
        )
        """
    )
    # created_at first, with sentiment and source, covers `stats` without touching the rows.
    db.execute("CREATE INDEX idx_mentions_created ON mentions (created_at, sentiment, source)")
    db.execute("CREATE INDEX idx_mentions_sentiment_created ON mentions (sentiment, created_at)")
    db.execute("CREATE INDEX idx_mentions_source_created ON mentions (source, created_at)")
    db.execute("CREATE INDEX idx_mentions_rating_created ON mentions (rating, created_at)")
    db.execute(
        """
        CREATE TABLE mention_topics (
            mention_id INTEGER NOT NULL REFERENCES mentions(id) ON DELETE CASCADE,
            topic TEXT NOT NULL,
            score REAL NOT NULL,
            sentiment TEXT NOT NULL,
            PRIMARY KEY (mention_id, topic)
        )
        """
    )
    db.execute("CREATE INDEX idx_topics_topic ON mention_topics (topic, sentiment, mention_id)")
    db.execute(
        """
        CREATE TABLE cursors (
            source TEXT PRIMARY KEY,
            cursor TEXT,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            fetched INTEGER NOT NULL DEFAULT 0,
            new INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            error TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_runs_source_started ON runs (source, started_at)")
    db.execute(
        """
        CREATE TABLE alert_events (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            scope TEXT NOT NULL DEFAULT '',   -- '' or e.g. 'topic=delivery' for per-topic rules
            status TEXT NOT NULL,             -- open | resolved
            opened_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            resolved_at TEXT,
            metric TEXT NOT NULL,
            observed REAL,
            baseline REAL,
            p_value REAL,
            details TEXT                      -- JSON: numbers, drivers, phrases, examples
        )
        """
    )
    db.execute("CREATE INDEX idx_alert_events_rule ON alert_events (rule, scope, status)")
    db.execute("CREATE INDEX idx_alert_events_opened ON alert_events (opened_at)")
    db.execute(
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,          -- idempotency key: event id, notifier, message kind
            event_id INTEGER REFERENCES alert_events(id),
            notifier TEXT NOT NULL,
            kind TEXT NOT NULL,                -- opened | worse | resolved | test | digest
            payload TEXT NOT NULL,             -- JSON of the message to send
            status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | expired
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_deliveries_pending ON deliveries (status, next_attempt_at)")
    db["mentions"].enable_fts(["title", "text"], create_triggers=True, tokenize="porter")


@migrations(name="0002_one_open_alert")
def _one_open_alert(db: Database) -> None:
    # At most one open event per rule and scope, so two concurrent `alerts check` runs (the
    # daemon and a person at the CLI) cannot both open the same alert.
    db.execute(
        "CREATE UNIQUE INDEX idx_alert_events_one_open ON alert_events (rule, scope) "
        "WHERE status = 'open'"
    )


@migrations(name="0003_corrections")
def _corrections(db: Database) -> None:
    # Human corrections are applied to the mention (so filters, stats and alerts see them and
    # keep their indexes) and logged here with the model's output they replaced.
    db.execute("ALTER TABLE mentions ADD COLUMN corrected_by TEXT")
    db.execute("ALTER TABLE mentions ADD COLUMN corrected_at TEXT")
    db.execute(
        """
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            mention_id INTEGER NOT NULL REFERENCES mentions(id) ON DELETE CASCADE,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,
            sentiment TEXT,                -- the corrected sentiment, or NULL if unchanged
            topics TEXT NOT NULL,          -- JSON: the topics after the correction
            before_sentiment TEXT,         -- what the mention said before this correction
            before_topics TEXT NOT NULL,   -- JSON, likewise
            note TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_corrections_mention ON corrections (mention_id, id)")


SCHEMA_VERSION = len(migrations._migrations)
