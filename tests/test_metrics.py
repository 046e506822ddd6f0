"""``/metrics``' connector families, read from the run record: the exact text, so moving the
``runs`` SQL to its owner (the store) changes nothing a Prometheus scrape sees."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sentimon.metrics import Counters, render
from sentimon.store import Store

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


def _run(store: Store, source: str, minute: int, *, seconds: int | None, error: str | None = None,
         fetched: int = 0, new: int = 0, skipped: int = 0) -> None:
    """A run started ``minute`` minutes after T0 that took ``seconds`` (None: still running)."""
    started = T0 + timedelta(minutes=minute)
    run_id = store.start_run(source, started)
    if seconds is not None:
        store.finish_run(run_id, finished=started + timedelta(seconds=seconds), fetched=fetched,
                         new=new, skipped=skipped, error=error)


def test_connector_families_from_the_run_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    _run(store, "reviews", 0, seconds=30, fetched=12, new=5, skipped=1)
    _run(store, "reviews", 10, seconds=4, error="401 bad credentials")
    _run(store, "reviews", 20, seconds=None)  # running now: not a finished run
    _run(store, "broken", 1, seconds=2, error="timeout")  # never succeeded: no success sample
    _run(store, "broken", 11, seconds=3, error="timeout")
    _run(store, "helpdesk", 2, seconds=1, fetched=3, new=3)
    _run(store, "helpdesk", 12, seconds=90, fetched=4, new=2, skipped=2)
    _run(store, "starting", 3, seconds=None)  # no finished run yet: in no family
    lines = [line for line in render(store, Counters()).splitlines() if "sentimon_connector_" in line]
    assert lines == [
        "# HELP sentimon_connector_last_run_success 1 if the connector's last finished run succeeded, else 0.",
        '# TYPE sentimon_connector_last_run_success gauge',
        'sentimon_connector_last_run_success{connector="broken"} 0',
        'sentimon_connector_last_run_success{connector="helpdesk"} 1',
        'sentimon_connector_last_run_success{connector="reviews"} 0',
        '# HELP sentimon_connector_last_run_duration_seconds Duration of the last finished run.',
        '# TYPE sentimon_connector_last_run_duration_seconds gauge',
        'sentimon_connector_last_run_duration_seconds{connector="broken"} 3',
        'sentimon_connector_last_run_duration_seconds{connector="helpdesk"} 90',
        'sentimon_connector_last_run_duration_seconds{connector="reviews"} 4',
        '# HELP sentimon_connector_last_run_timestamp_seconds When the last run finished (Unix time).',
        '# TYPE sentimon_connector_last_run_timestamp_seconds gauge',
        'sentimon_connector_last_run_timestamp_seconds{connector="broken"} 1793614263',  # 10:11:03
        'sentimon_connector_last_run_timestamp_seconds{connector="helpdesk"} 1793614410',
        'sentimon_connector_last_run_timestamp_seconds{connector="reviews"} 1793614204',
        '# HELP sentimon_connector_last_run_fetched Mentions fetched by the last finished run.',
        '# TYPE sentimon_connector_last_run_fetched gauge',
        'sentimon_connector_last_run_fetched{connector="broken"} 0',
        'sentimon_connector_last_run_fetched{connector="helpdesk"} 4',
        'sentimon_connector_last_run_fetched{connector="reviews"} 0',
        '# HELP sentimon_connector_last_run_new Mentions new by the last finished run.',
        '# TYPE sentimon_connector_last_run_new gauge',
        'sentimon_connector_last_run_new{connector="broken"} 0',
        'sentimon_connector_last_run_new{connector="helpdesk"} 2',
        'sentimon_connector_last_run_new{connector="reviews"} 0',
        '# HELP sentimon_connector_last_run_skipped Mentions skipped by the last finished run.',
        '# TYPE sentimon_connector_last_run_skipped gauge',
        'sentimon_connector_last_run_skipped{connector="broken"} 0',
        'sentimon_connector_last_run_skipped{connector="helpdesk"} 2',
        'sentimon_connector_last_run_skipped{connector="reviews"} 0',
        '# HELP sentimon_connector_last_success_timestamp_seconds When the connector last finished a run without error (Unix time).',
        '# TYPE sentimon_connector_last_success_timestamp_seconds gauge',
        'sentimon_connector_last_success_timestamp_seconds{connector="helpdesk"} 1793614410',
        'sentimon_connector_last_success_timestamp_seconds{connector="reviews"} 1793613630',  # 10:00:30
        '# HELP sentimon_connector_runs_total Finished connector runs, by result.',
        '# TYPE sentimon_connector_runs_total counter',
        'sentimon_connector_runs_total{connector="broken",result="error"} 2',
        'sentimon_connector_runs_total{connector="helpdesk",result="ok"} 2',
        'sentimon_connector_runs_total{connector="reviews",result="error"} 1',
        'sentimon_connector_runs_total{connector="reviews",result="ok"} 1',
    ]
