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
    db.table("mentions").enable_fts(["title", "text"], create_triggers=True, tokenize="porter")


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


def _keys(row: str) -> tuple[str, str, str]:
    """SQL for a mention row's (day, source, sentiment) roll-up keys: the UTC day as
    `stats --by day` buckets it, and '' for an unclassified (NULL) sentiment."""
    return f"substr({row}.created_at, 1, 10)", f"{row}.source", f"coalesce({row}.sentiment, '')"


_UPSERT_TOPIC = (
    "ON CONFLICT (day, topic, source, topic_sentiment, mention_sentiment) DO UPDATE SET n = n + 1;"
)


def _mention_sql(row: str) -> dict[str, str]:
    """Statements adding or removing mention ``row`` (``new`` or ``old``) and its topics."""
    day, source, sentiment = _keys(row)
    return {
        "add": (
            f"INSERT INTO daily_sentiment (day, source, sentiment, n) VALUES ({day}, {source}, {sentiment}, 1) "
            "ON CONFLICT (day, source, sentiment) DO UPDATE SET n = n + 1;"
        ),
        "remove": (
            f"UPDATE daily_sentiment SET n = n - 1 "
            f"WHERE day = {day} AND source = {source} AND sentiment = {sentiment};"
        ),
        "add_topics": (
            "INSERT INTO daily_topics (day, source, topic, topic_sentiment, mention_sentiment, n) "
            f"SELECT {day}, {source}, t.topic, t.sentiment, {sentiment}, 1 "
            f"FROM mention_topics t WHERE t.mention_id = {row}.id {_UPSERT_TOPIC}"
        ),
        "remove_topics": (
            f"UPDATE daily_topics SET n = n - 1 WHERE day = {day} AND source = {source} "
            f"AND mention_sentiment = {sentiment} AND (topic, topic_sentiment) IN "
            f"(SELECT topic, sentiment FROM mention_topics WHERE mention_id = {row}.id);"
        ),
    }


def _topic_sql(row: str) -> dict[str, str]:
    """Statements adding or removing one mention_topics ``row``; its mention supplies day,
    source and sentiment. In a cascading delete the mention is already gone, so "remove"
    matches nothing: the mention's own BEFORE DELETE trigger has subtracted its topics."""
    day, source, sentiment = _keys("m")
    return {
        "add": (
            "INSERT INTO daily_topics (day, source, topic, topic_sentiment, mention_sentiment, n) "
            f"SELECT {day}, {source}, {row}.topic, {row}.sentiment, {sentiment}, 1 "
            f"FROM mentions m WHERE m.id = {row}.mention_id {_UPSERT_TOPIC}"
        ),
        "remove": (
            "UPDATE daily_topics SET n = n - 1 WHERE (day, source, mention_sentiment) = "
            f"(SELECT {day}, {source}, {sentiment} FROM mentions m WHERE m.id = {row}.mention_id) "
            f"AND topic = {row}.topic AND topic_sentiment = {row}.sentiment;"
        ),
    }


@migrations(name="0004_daily_rollups")
def _daily_rollups(db: Database) -> None:
    # `stats` over weeks and months at a million rows walked every mention of the period
    # (200-350 ms); per-day counts kept by triggers answer whole days from a few hundred rows,
    # and only the partial first and last day are counted from the mentions themselves.
    # Triggers, not application code, so every writer (ingest, corrections, retention, a
    # person's SQL) keeps them right. Sentiment '' stands for NULL (unclassified) in the keys.
    db.execute(
        """
        CREATE TABLE daily_sentiment (
            day TEXT NOT NULL, source TEXT NOT NULL, sentiment TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (day, source, sentiment)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE daily_topics (
            day TEXT NOT NULL, source TEXT NOT NULL, topic TEXT NOT NULL,
            topic_sentiment TEXT NOT NULL,    -- the topic's own sentiment in the mention
            mention_sentiment TEXT NOT NULL,  -- the whole mention's sentiment
            n INTEGER NOT NULL,
            PRIMARY KEY (day, topic, source, topic_sentiment, mention_sentiment)
        ) WITHOUT ROWID
        """
    )
    new, old = _mention_sql("new"), _mention_sql("old")
    db.execute(f"CREATE TRIGGER rollup_mention_insert AFTER INSERT ON mentions BEGIN {new['add']} END")
    # BEFORE: the mention's topics are still there to be subtracted (a cascade removes them).
    db.execute(
        "CREATE TRIGGER rollup_mention_delete BEFORE DELETE ON mentions BEGIN "
        f"{old['remove']} {old['remove_topics']} END"
    )
    db.execute(
        "CREATE TRIGGER rollup_mention_update AFTER UPDATE OF sentiment, created_at, source ON mentions "
        "WHEN old.sentiment IS NOT new.sentiment OR old.created_at IS NOT new.created_at "
        "OR old.source IS NOT new.source BEGIN "
        f"{old['remove_topics']} {old['remove']} {new['add']} {new['add_topics']} END"
    )
    new_topic, old_topic = _topic_sql("new"), _topic_sql("old")
    db.execute(f"CREATE TRIGGER rollup_topic_insert AFTER INSERT ON mention_topics BEGIN {new_topic['add']} END")
    db.execute(f"CREATE TRIGGER rollup_topic_delete AFTER DELETE ON mention_topics BEGIN {old_topic['remove']} END")
    db.execute(
        "CREATE TRIGGER rollup_topic_update AFTER UPDATE ON mention_topics BEGIN "
        f"{old_topic['remove']} {new_topic['add']} END"
    )
    db.execute(
        "INSERT INTO daily_sentiment (day, source, sentiment, n) "
        f"SELECT {', '.join(_keys('m'))}, COUNT(*) FROM mentions m GROUP BY 1, 2, 3"
    )
    db.execute(
        "INSERT INTO daily_topics (day, source, topic, topic_sentiment, mention_sentiment, n) "
        "SELECT {0}, {1}, t.topic, t.sentiment, {2}, COUNT(*) ".format(*_keys("m"))
        + "FROM mention_topics t JOIN mentions m ON m.id = t.mention_id GROUP BY 1, 2, 3, 4, 5"
    )


@migrations(name="0005_runs_dropped")
def _runs_dropped(db: Database) -> None:
    # Mentions a connector's match/exclude rules found off-brand: counted, never stored, so a
    # rule that drops everything shows in `runs` instead of looking like a quiet source.
    db.execute("ALTER TABLE runs ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0")


@migrations(name="0006_brand")
def _brand(db: Database) -> None:
    # Share of voice: which brand a mention is about. A column, not a key inside `extra`:
    # `mentions --brand`, `stats --by brand` and alert rules filter and group on it, and JSON
    # inside `extra` can use no index. '' is our own brand, so every stored mention (all ours
    # before competitors could be watched) is right without a backfill, alert rules scope to
    # it without reading the config, and renaming the brand in [brand] splits no history.
    db.execute("ALTER TABLE mentions ADD COLUMN brand TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX idx_mentions_brand_created ON mentions (brand, created_at, sentiment)")


@migrations(name="0007_alert_lifecycle")
def _alert_lifecycle(db: Database) -> None:
    # People act on alerts: an acknowledged alert stays open (it still resolves by itself)
    # but sends no follow-ups; a mute silences a rule, or one topic of it, until a time.
    db.execute("ALTER TABLE alert_events ADD COLUMN acked_at TEXT")
    db.execute("ALTER TABLE alert_events ADD COLUMN acked_by TEXT")
    db.execute(
        """
        CREATE TABLE alert_mutes (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            topic TEXT NOT NULL DEFAULT '',  -- '' mutes every scope of the rule
            created_at TEXT NOT NULL,
            until TEXT NOT NULL,
            created_by TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_alert_mutes_rule ON alert_mutes (rule, until)")


SCHEMA_VERSION = len(migrations._migrations)


def newer_migrations(db: Database) -> list[str]:
    """Migrations recorded in ``db`` that this code does not ship: a later sentimon opened it
    (and then an older one was installed again). Running on a schema it does not know, this
    one could misread or damage what the later one wrote, so the store refuses to open it."""
    known = {m.name for m in migrations._migrations}
    return [m.name for m in migrations.applied(db) if m.name not in known]


def migrate(db: Database) -> None:
    """Apply pending migrations under one write lock (``BEGIN IMMEDIATE``).

    Two processes starting on a fresh file (a daemon and a cron job) would both find the
    schema missing; in SQLite's default deferred transactions both read, then both try to
    write, and one fails at once ("database is locked": no busy wait for a lock upgrade) or
    creates a table the other just made. Taking the write lock first makes the second wait
    (``busy_timeout``) and then find nothing left to do. A database that is up to date is
    only read."""
    if migrations.pending(db) == [] and db[migrations.migrations_table].exists():
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(db)
    except BaseException:
        if db.conn.in_transaction:
            db.conn.rollback()
        raise
    db.conn.commit()
