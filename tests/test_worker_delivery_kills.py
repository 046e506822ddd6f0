"""Kills during delivery (issue 18, deliverable 5): three real `sentimon worker` processes send
a queued outbox to a slow webhook while workers are SIGKILLed and restarted.

What the outbox promises, and what this checks: every notification is delivered (a sender
that dies mid-send frees its row when its claim lease ends, and another worker sends it), the
outbox ends with every row sent, and a notification is sent twice only when its sender died
after the receiver got it but before the row was marked sent: at most one per kill, each
carrying the same ``X-Sentimon-Delivery`` key, so a receiver drops the repeat. The stub worker
shortens the 5-minute claim lease to 2 s (SENTIMON_TEST_CLAIM_LEASE) so the test waits seconds.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from polling import wait_until
from test_alerts_support import Recorder
from workers_support import rows, start, stop

NOTIFICATIONS = 30
KILLS = 3
SEND_SECONDS = 0.15  # the webhook's answer time: a pass over the outbox takes ~4.5 s


def _queue(pg_url: str) -> None:
    from alerts import storage
    from alerts.message import test_message
    from sentimon.pgstore import PgStore
    from sentimon.times import to_db_time

    store = PgStore(pg_url, max_connections=2)
    try:
        now = datetime.now(timezone.utc)
        with store.alert_tables() as db:
            for i in range(NOTIFICATIONS):
                storage.enqueue(db, event_id=None, notifier="hook", kind="opened",
                                payload=test_message(to_db_time(now)), now=now, key=f"k{i:03d}")
    finally:
        store.close()


def test_killed_senders_lose_no_notification_and_repeat_at_most_the_one_in_flight(tmp_path: Path,
                                                                                  pg_url: str) -> None:
    def slow(index: int) -> tuple[int, dict[str, str], str]:
        time.sleep(SEND_SECONDS)
        return 200, {}, "ok"

    with Recorder(slow) as hook:
        config = tmp_path / "sentimon.toml"
        config.write_text('[storage]\nurl = "${SENTIMON_DATABASE_URL}"\n\n[daemon]\ndeliver_every = "1s"\n\n'
                          f'[notifiers.hook]\ntype = "webhook"\nurl = "{hook.url}"\n')
        config.chmod(0o600)
        env = {"SENTIMON_TEST_CLAIM_LEASE": "2"}
        workers = [start(config, pg_url, env=env) for _ in range(3)]
        _queue(pg_url)
        output = ""
        try:
            for kill in range(KILLS):  # whoever holds the alerts lock is sending: kill them all in turn
                wait_until(lambda: len(hook.requests) >= 4 * (kill + 1), timeout=60, what="sends before a kill")
                victim = workers[kill % len(workers)]
                victim.send_signal(signal.SIGKILL)
                output += victim.communicate()[0]
                workers[kill % len(workers)] = start(config, pg_url, env=env)
            wait_until(lambda: rows(pg_url, "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'")[0][0]
                       == NOTIFICATIONS, timeout=90, what="every notification sent")
        finally:
            output += stop(*workers)
    sent = Counter(request["headers"].get("X-Sentimon-Delivery") for request in hook.requests)
    assert set(sent) == {f"k{i:03d}" for i in range(NOTIFICATIONS)}, output
    repeats = sum(n - 1 for n in sent.values())
    print(f"sends {len(hook.requests)}, repeats {repeats}, kills {KILLS}")
    assert repeats <= KILLS, sent
    assert rows(pg_url, "SELECT status, COUNT(*) FROM deliveries GROUP BY status") == [("sent", NOTIFICATIONS)]
