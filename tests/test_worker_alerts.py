"""Alert checks and deliveries in `sentimon worker` (issue 18): real worker processes on the
test cluster, a seeded spike, a real webhook. Two workers share the schedule; the alert must
open once and be delivered once, however many ticks pass and whichever worker runs them, and
the cadence follows ``[daemon] check_every``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from polling import wait_until
from test_alerts_support import Recorder, alert_rule, seed_quiet, seed_spike
from workers_support import rows, start, stop

from sentimon.worker_alerts import starts_a_period, tick_seconds


def test_each_period_starts_once_whatever_the_tick() -> None:
    ticks = range(1_000_000, 1_000_600)  # ten minutes of one-second ticks
    assert sum(starts_a_period(t, 5, 1) for t in ticks) == 120
    assert sum(starts_a_period(t, 0.5, 1) for t in ticks) == 600  # shorter than a tick: every tick
    minutes = range(1_000_020, 1_000_020 + 3600, 60)  # an hour of minute ticks
    assert sum(starts_a_period(t, 300, 60) for t in minutes) == 12
    assert (tick_seconds("* * * * * *"), tick_seconds("* * * * *")) == (1, 60)


def _checks(url: str) -> int:
    """Alert passes (``sentimon.alerts`` jobs) finished so far, by either worker."""
    return rows(url, "SELECT COUNT(*) FROM procrastinate_jobs "
                     "WHERE task_name = 'sentimon.alerts' AND status = 'succeeded'")[0][0]


def test_two_workers_open_and_deliver_a_spike_once(tmp_path: Path, pg_url: str) -> None:
    from sentimon.pgstore import PgStore

    store = PgStore(pg_url, max_connections=2)
    now = datetime.now(timezone.utc)
    seed_quiet(store, now=now)
    seed_spike(store, now=now)
    store.close()
    with Recorder() as hook:
        config = tmp_path / "sentimon.toml"
        config.write_text('[storage]\nurl = "${SENTIMON_DATABASE_URL}"\n\n[daemon]\ncheck_every = "2s"\n'
                          'deliver_every = "1s"\n\n' + alert_rule(notify=("hook",))
                          + f'\n[notifiers.hook]\ntype = "webhook"\nurl = "{hook.url}"\n')
        config.chmod(0o600)
        workers = [start(config, pg_url), start(config, pg_url)]
        try:
            wait_until(lambda: len(hook.requests) >= 1, timeout=60, what="the alert's webhook")
            # Several more checks and deliveries on both workers: counted, not slept for (5 s
            # gave 4 more checks here, so a faster or slower machine could end with fewer than 5).
            first = _checks(pg_url)
            checks = wait_until(lambda: (n := _checks(pg_url)) >= max(5, first + 3) and n, timeout=60,
                                what="three more alert checks after the first delivery")
        finally:
            output = stop(*workers)
    assert len(hook.requests) == 1, output
    assert "tracking never updated" in str(hook.json())
    assert rows(pg_url, "SELECT status, COUNT(*) FROM alert_events GROUP BY status") == [("open", 1)]
    assert rows(pg_url, "SELECT status FROM deliveries") == [("sent",)]
    assert checks >= 5  # the periodic task ran every tick, deferred once across the two workers
    assert "Traceback" not in output
