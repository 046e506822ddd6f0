"""What `sentimon model train --from-corrections` reads, on both stores (issue 18).

``training_rows`` (the corrected mentions, as training rows) and ``anchor_texts`` (recent
mentions nobody corrected, which retraining must keep answering the same way) read through
store methods that run the same portable statements (``sentimon.mention_sql``) on SQLite and
PostgreSQL; the same mentions and corrections must give the same rows, in the same order. No
model is trained here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sentimon.corrections import Correction, anchor_texts, apply_correction, training_rows
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import Store

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)


def _verdict(sentiment: str, *topics: str) -> Classification:
    scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1} | {sentiment: 0.8}
    return Classification(sentiment, scores, tuple(TopicScore(t, 0.7, sentiment) for t in topics), "stub@1")


def _fill(store: Any) -> dict[str, list[Any]]:
    """Five classified mentions (one with a title), one pending, and corrections on three of
    them: two topics set at once (equal scores: the order must not depend on the backend),
    one corrected twice, and one pending mention labelled with a topic but no sentiment."""
    mentions = [
        Mention("shop", "a", "Parcel came two weeks late", T0, title="Slow"),
        Mention("shop", "b", "sick boots, proper fire", T0 + timedelta(hours=1)),
        Mention("shop", "c", "price is fine I guess", T0 + timedelta(hours=2)),
        Mention("shop", "d", "Lovely shoes", T0 + timedelta(hours=3)),
        Mention("shop", "e", "Refund took a month", T0 + timedelta(hours=4), title="Refund took a month"),
    ]
    verdicts = [_verdict("neutral", "delivery"), _verdict("negative"), _verdict("neutral", "price"),
                _verdict("positive"), _verdict("negative", "refunds")]
    ids = dict(zip("abcde", store.save_batch("shop", mentions, verdicts).ids))
    [pending] = store.save_pending({"webhook": [Mention("webhook", "p", "where is it", T0)]})[1].values()
    apply_correction(store, ids["a"], Correction(sentiment="negative", set_topics=[("quality", None),
                                                                                   ("delivery", None)]),
                     author="ana")
    apply_correction(store, ids["b"], Correction(sentiment="negative"), author="ana")
    apply_correction(store, ids["b"], Correction(sentiment="positive", set_topics=[("quality", "positive")]),
                     author="bo")
    apply_correction(store, ids["c"], Correction(remove_topics=["price"]), author="bo")
    apply_correction(store, pending, Correction(set_topics=[("delivery", "negative")]), author="bo")
    return {"training": list(training_rows(store)), "anchors": anchor_texts(store),
            "newest": anchor_texts(store, limit=1)}


def test_training_reads_the_same_rows_on_both_stores(tmp_path: Path, pg_url: str) -> None:
    from sentimon.pgstore import PgStore

    sqlite, pg = Store(tmp_path / "s.db"), PgStore(pg_url, max_connections=2)
    try:
        on_sqlite, on_pg = _fill(sqlite), _fill(pg)
    finally:
        sqlite.close()
        pg.close()
    assert on_pg == on_sqlite
    assert on_pg["training"] == [
        {"text": "Slow. Parcel came two weeks late", "label": "negative",
         "aspects": [{"category": "delivery", "polarity": "negative"},
                     {"category": "quality", "polarity": "negative"}]},
        {"text": "sick boots, proper fire", "label": "positive",
         "aspects": [{"category": "quality", "polarity": "positive"}]},
        {"text": "price is fine I guess", "label": "neutral", "aspects": []},
    ]  # the pending mention a person gave only a topic has no label to learn yet
    assert on_pg["anchors"] == ["Refund took a month", "Lovely shoes"]  # newest first, a title in the text once
    assert on_pg["newest"] == ["Refund took a month"]


def test_the_training_command_reads_postgresql(tmp_path: Path, write_config, pg_url, monkeypatch) -> None:
    """`model train --from-corrections` on a PostgreSQL config reaches the store (it used to
    refuse PostgreSQL by name): with no corrections yet it says so, naming the server and
    never the password, and writes no SQLite file. No model is loaded or trained."""
    from click.testing import CliRunner

    from sentimon.cli import cli

    password = "Hunter2-not-in-any-output"
    monkeypatch.setenv("SENTIMON_DATABASE_URL",
                       pg_url.replace("postgresql://sentimon@", f"postgresql://sentimon:{password}@", 1))
    config = write_config('[storage]\nurl = "${SENTIMON_DATABASE_URL}"\n')
    config.chmod(0o600)
    result = CliRunner().invoke(cli, ["--config", str(config), "model", "train", "--from-corrections",
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 1, result.output
    assert "no corrections yet" in result.output and "postgresql://127.0.0.1:" in result.output
    assert password not in result.output
    assert not (tmp_path / "sentimon.db").exists()
