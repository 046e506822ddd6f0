"""``GET /metrics`` in the Prometheus text format (0.0.4), for whoever runs the daemon.

Most figures are read from the database at scrape time (mentions stored, each connector's
last run from ``runs``, the delivery outbox, alert events), so they are right whichever
process wrote them: the daemon, ``sentimon fetch`` or the push endpoint. Only the push
endpoint's own request counters live in this process. Standard library only: the format
is a few lines of text and ``prometheus_client`` would be one more dependency.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sentimon.times import from_db_time

if TYPE_CHECKING:
    from sentimon.mention_store import MentionStore


class Counters:
    """The push endpoint's in-process counters (reset when the process restarts)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.responses: Counter[int] = Counter()
        self.mentions_accepted = 0
        self.mentions_new = 0
        self.ingest_seconds = 0.0

    def request(self, status: int) -> None:
        with self.lock:
            self.responses[status] += 1

    def classified(self, accepted: int, new: int, seconds: float) -> None:
        with self.lock:
            self.mentions_accepted += accepted
            self.mentions_new += new
            self.ingest_seconds += seconds


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    return str(int(value))


Samples = Iterable[tuple[dict[str, Any], float]]


class _Writer:
    """Metric families in order: ``# HELP``, ``# TYPE``, then ``name{label="v"} value``."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: Samples) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
            labelled = f"{name}{{{label_text}}}" if label_text else name
            self.lines.append(f"{labelled} {_number(value)}")

    def gauge(self, name: str, help_text: str, samples: Samples) -> None:
        self.family(name, "gauge", help_text, samples)

    def counter(self, name: str, help_text: str, samples: Samples) -> None:
        self.family(name, "counter", help_text, samples)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _seconds(text: str) -> float:
    return from_db_time(text).timestamp()


def render(store: MentionStore, counters: Counters) -> str:
    """The whole scrape as text; StorageError (the store's one line) when the database cannot
    be read. Every figure comes from a store method, so SQLite and PostgreSQL serve the same
    families."""
    out = _Writer()
    out.gauge(
        "sentimon_mentions_stored", "Classified mentions in the database, by source and sentiment.",
        [({"source": source, "sentiment": sentiment}, n)
         for source, sentiment, n in store.sentiment_totals()],
    )
    out.gauge("sentimon_mentions_pending", "Pushed mentions stored but not classified yet.",
              [({}, store.pending_count())])

    runs = store.finished_runs()  # the store owns the run record
    out.gauge("sentimon_connector_last_run_success",
              "1 if the connector's last finished run succeeded, else 0.",
              [({"connector": r["source"]}, 0 if r["error"] else 1) for r in runs])
    out.gauge("sentimon_connector_last_run_duration_seconds", "Duration of the last finished run.",
              [({"connector": r["source"]},
                max(0.0, _seconds(r["finished_at"]) - _seconds(r["started_at"]))) for r in runs])
    out.gauge("sentimon_connector_last_run_timestamp_seconds",
              "When the last run finished (Unix time).",
              [({"connector": r["source"]}, _seconds(r["finished_at"])) for r in runs])
    for column in ("fetched", "new", "skipped"):
        out.gauge(f"sentimon_connector_last_run_{column}",
                  f"Mentions {column} by the last finished run.",
                  [({"connector": r["source"]}, r[column]) for r in runs])
    out.gauge(
        "sentimon_connector_last_success_timestamp_seconds",
        "When the connector last finished a run without error (Unix time).",
        [({"connector": r["source"]}, _seconds(r["last_success"]))
         for r in runs if r["last_success"] is not None],
    )
    out.counter(
        "sentimon_connector_runs_total", "Finished connector runs, by result.",
        [({"connector": r["source"], "result": result}, r[f"{result}_runs"])
         for r in runs for result in ("error", "ok") if r[f"{result}_runs"]],
    )

    deliveries, failing, events = store.alert_totals()  # alerts.storage's counts, via the store
    out.gauge("sentimon_deliveries", "Notifications in the outbox, by status (expired: gave up).",
              [({"status": s}, deliveries.get(s, 0))
               for s in sorted({"pending", "sent", "expired", *deliveries})])
    out.gauge("sentimon_deliveries_failing", "Pending notifications that failed at least once.",
              [({}, failing)])
    out.gauge("sentimon_alert_events", "Alert events, by status.",
              [({"status": s}, events.get(s, 0)) for s in sorted({"open", "resolved", *events})])

    with counters.lock:
        responses = sorted(counters.responses.items())
        accepted, new = counters.mentions_accepted, counters.mentions_new
        seconds = counters.ingest_seconds
    out.counter("sentimon_push_requests_total",
                "Push endpoint responses since start, by result and code.",
                [({"result": "accepted" if code < 400 else "rejected", "code": code}, n)
                 for code, n in responses])
    out.counter("sentimon_push_mentions_total",
                "Mentions received by the push endpoint since start.",
                [({"result": "accepted"}, accepted), ({"result": "new"}, new)])
    out.counter("sentimon_push_ingest_seconds_total",
                "Seconds spent classifying and storing pushed mentions (throughput: mentions/s).",
                [({}, round(seconds, 6))])
    return out.text()
