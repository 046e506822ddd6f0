"""Datasette metadata for a sentimon database: titles, column help, facets, canned queries.

``sentimon datasette`` writes it; then ``datasette sentimon.db -m metadata.json`` opens with
the tables explained and the questions CX leads ask most one click away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CANNED_QUERIES: dict[str, dict[str, str]] = {
    "negative_last_24h_by_topic": {
        "title": "Negative mentions in the last 24 hours, by topic",
        "sql": (
            "SELECT t.topic, COUNT(*) AS negative_mentions FROM mention_topics t "
            "JOIN mentions m ON m.id = t.mention_id "
            "WHERE t.sentiment = 'negative' "
            "AND m.created_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day') "
            "GROUP BY t.topic ORDER BY negative_mentions DESC"
        ),
    },
    "daily_negative_share": {
        "title": "Daily volume and negative share",
        "sql": (
            "SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS mentions, "
            "SUM(sentiment = 'negative') AS negative, "
            "ROUND(1.0 * SUM(sentiment = 'negative') / COUNT(*), 3) AS negative_share "
            "FROM mentions GROUP BY day ORDER BY day DESC"
        ),
    },
    "open_alerts": {
        "title": "Open alerts",
        "sql": (
            "SELECT id, rule, scope, opened_at, updated_at, metric, observed, baseline, p_value "
            "FROM alert_events WHERE status = 'open' ORDER BY opened_at DESC"
        ),
    },
}

TABLES: dict[str, dict[str, Any]] = {
    "mentions": {
        "title": "Mentions",
        "description": "One row per review, post or comment, with the model's classification.",
        "facets": ["sentiment", "source", "kind", "rating"],
        "sort_desc": "created_at",
        "columns": {
            "source": "Name of the connector that found it",
            "external_id": "The mention's id at its source",
            "created_at": "When it was written (UTC)",
            "fetched_at": "When sentimon stored it (UTC)",
            "sentiment": "negative, neutral or positive, from the model",
            "score_negative": "Model probability of negative",
            "score_neutral": "Model probability of neutral",
            "score_positive": "Model probability of positive",
            "rating": "Star rating 1-5 where the source has one",
            "extra": "Source-specific fields (subreddit, score, app version, ...)",
            "model": "Model name and version that classified it",
        },
    },
    "mention_topics": {
        "title": "Topics of each mention",
        "description": "Each topic a mention speaks of, with the sentiment toward that topic.",
        "facets": ["topic", "sentiment"],
        "columns": {"score": "How sure the model is that the topic is present (0-1)"},
    },
    "runs": {"title": "Connector runs", "description": "One row per connector run: the health record.",
             "facets": ["source"], "sort_desc": "started_at"},
    "cursors": {"title": "Connector cursors", "description": "Where each connector resumes."},
    "alert_events": {"title": "Alert events", "description": "Alerts fired, with their numbers and drivers.",
                     "facets": ["rule", "status"], "sort_desc": "opened_at"},
    "alert_mutes": {"title": "Alert mutes", "description": "Rules (or one topic of a rule) silenced until a time.",
                    "facets": ["rule"], "sort_desc": "until"},
    "deliveries": {"title": "Notification outbox", "description": "Each notification, stored before it is sent.",
                   "facets": ["notifier", "status"]},
    "daily_sentiment": {"title": "Mentions per day", "sort_desc": "day", "facets": ["source", "sentiment"],
                        "description": "Mentions per UTC day, source and sentiment; kept by triggers, read by stats."},
    "daily_topics": {"title": "Topic mentions per day", "sort_desc": "day", "facets": ["topic", "topic_sentiment"],
                     "description": "Mentions per UTC day, topic, source, the topic's and the mention's sentiment."},
}


def metadata(db_path: Path) -> dict[str, Any]:
    """The metadata document for the database at ``db_path`` (keyed by its file stem)."""
    return {
        "title": "sentimon",
        "description": "Reviews and social mentions with sentiment and topics.",
        "databases": {db_path.stem: {"tables": TABLES, "queries": CANNED_QUERIES}},
    }
