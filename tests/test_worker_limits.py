"""`sentimon worker` within a source's limits (issue 18): connectors sharing one rate-limited
credential never run at once on different workers, and failure counts and Retry-After waits
live in PostgreSQL, so a worker started later (or another machine) honours them."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from polling import wait_until
from workers_support import clocked_config, clocked_runs, rows, start, stop

pytest.importorskip("procrastinate")

from connectors.base import BUILTIN  # noqa: E402
from sentimon.config import load_config  # noqa: E402
from sentimon.pgstore import PgStore  # noqa: E402
from sentimon.worker import queue_health  # noqa: E402
from sentimon.worker_limits import Limits  # noqa: E402

KEY_A, KEY_B = "alpha-api-key-5f3e9c1d", "bravo-api-key-0a7b2e44"
ENV = {"KEY_A": KEY_A, "KEY_A_AGAIN": KEY_A, "KEY_B": KEY_B}


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _entries(tmp_path: Path, options: dict[str, dict], monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setitem(BUILTIN, "clocked", "workers_support:ClockedConnector")
    config = load_config(clocked_config(tmp_path, options), environ={**ENV, "SENTIMON_DATABASE_URL": "postgresql://u@h/d"})
    return {entry.name: entry for entry in config.connectors}


def test_a_credential_key_names_the_value_never_shows_it_and_differs_per_install(
        tmp_path: Path, pg_url: str, pg_server, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = _entries(tmp_path, {"a1": {"api_key": "${KEY_A}"}, "a2": {"api_key": "${KEY_A_AGAIN}"},
                                  "b1": {"api_key": "${KEY_B}"}, "plain": {}}, monkeypatch)
    PgStore(pg_url).close()  # applies the migrations, the salt's among them
    limits = Limits(pg_url)
    keys = {name: limits.credential(entry) for name, entry in entries.items()}
    assert keys["a1"] == keys["a2"] != keys["b1"]  # two variables, one key: one credential
    assert keys["plain"] is None and limits.lock(entries["plain"]) == "connector:plain"
    assert keys["a1"].startswith("credential:") and len(keys["a1"]) == len("credential:") + 16
    assert KEY_A not in keys["a1"] and KEY_A[:8] not in keys["a1"]
    other = pg_server.create_schema()
    PgStore(other).close()
    assert Limits(other).credential(entries["a1"]) != keys["a1"]  # salted per install


def test_failures_back_off_in_the_database_and_a_success_clears_them(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = _entries(tmp_path, {"a1": {"api_key": "${KEY_A}", "every": "10s"},
                                  "a2": {"api_key": "${KEY_A_AGAIN}"}, "b1": {"api_key": "${KEY_B}"}},
                       monkeypatch)
    PgStore(pg_url).close()
    limits = Limits(pg_url)
    a1, a2, b1 = entries["a1"], entries["a2"], entries["b1"]
    assert limits.record(a1, False, "HTTP 500", None) is None  # the first failure: on time
    waits = []
    for _ in range(3):  # then every x 2, 4, 8, read back from the table by a fresh Limits
        waits.append(limits.record(a1, False, "HTTP 500", None))
    held = Limits(pg_url).waiting()
    assert held["connector:a1"] == waits[-1]
    assert [round((w - waits[0]).total_seconds() / a1.every.total_seconds()) for w in waits] == [0, 2, 6]
    assert limits.holds(a1, held) is not None and limits.holds(a2, held) is None
    limits.record(a1, True, None, None)
    assert "connector:a1" not in Limits(pg_url).waiting()
    # a Retry-After is the credential's: every connector on it waits, others do not
    limits.record(a2, False, "HTTP 429", 120.0)
    held = Limits(pg_url).waiting()
    assert limits.holds(a1, held) is not None and limits.holds(b1, held) is None
    assert not [r for r in rows(pg_url, "SELECT key, reason FROM worker_backoff") if KEY_A in str(r)]


def test_connectors_on_one_credential_never_overlap_across_workers(tmp_path: Path, pg_url: str) -> None:
    """Two workers, a1 and a2 on one key (read from two variables), b1 on another; each run
    takes 0.6 s and each connector is due every second, so two workers could run a1 and a2
    together all the time. They never do; b1 overlaps them."""
    path = clocked_config(tmp_path, {"a1": {"api_key": "${KEY_A}", "hold": 0.6},
                                     "a2": {"api_key": "${KEY_A_AGAIN}", "hold": 0.6},
                                     "b1": {"api_key": "${KEY_B}", "hold": 0.6}})
    workers = [start(path, pg_url, env=ENV), start(path, pg_url, env=ENV)]
    try:
        wait_until(lambda: all(len(clocked_runs(tmp_path, n)) >= 4 for n in ("a1", "a2", "b1")),
                   timeout=90, what="four runs of each connector")
    finally:
        log = stop(*workers)
    a1, a2, b1 = (clocked_runs(tmp_path, n) for n in ("a1", "a2", "b1"))
    assert not [(x, y) for x in a1 for y in a2 if _overlap(x, y)], log
    assert [(x, y) for x in b1 for y in a1 + a2 if _overlap(x, y)], (a1, a2, b1)
    locks = rows(pg_url, "SELECT DISTINCT lock FROM procrastinate_jobs WHERE task_name = 'sentimon.fetch'")
    assert len({lock for (lock,) in locks}) == 2  # one per credential
    assert KEY_A not in log and KEY_B not in log and all(KEY_A not in str(r) for r in locks)


def test_a_retry_after_holds_every_connector_on_the_credential_across_restarts(
        tmp_path: Path, pg_url: str) -> None:
    """r1 answers 429 'wait 60 s'. r2 shares its key, c does not. After the 429 a fresh worker
    process (nothing in memory) runs c again and again, but neither r1 nor r2."""
    path = clocked_config(tmp_path, {"r1": {"api_key": "${KEY_A}", "hold": 0.1, "retry_after": 60},
                                     "r2": {"api_key": "${KEY_A_AGAIN}", "hold": 0.1},
                                     "c": {"api_key": "${KEY_B}", "hold": 0.1}})
    first = start(path, pg_url, env=ENV)
    try:
        wait_until(lambda: rows(pg_url, "SELECT COUNT(*) FROM worker_backoff WHERE reason <> ''"
                                " AND not_before > now() + interval '30 seconds'")[0][0] >= 2,
                   timeout=60, what="the 429 recorded", ignoring=(psycopg.errors.UndefinedTable,))
    finally:
        log = stop(first)
    recorded = max(r[0] for r in rows(pg_url, "SELECT extract(epoch FROM updated_at) FROM worker_backoff"))
    seen = len(clocked_runs(tmp_path, "c"))
    second = start(path, pg_url, env=ENV)
    try:
        wait_until(lambda: len(clocked_runs(tmp_path, "c")) >= seen + 3, timeout=60,
                   what="three more runs of c on the new worker")
    finally:
        log += stop(second)
    assert len(clocked_runs(tmp_path, "r1")) == 1, log
    assert [start_ for start_, _ in clocked_runs(tmp_path, "r2") if start_ > float(recorded)] == [], log
    assert "the source asked to wait" in log and KEY_A not in log
    health = queue_health(pg_url)  # for `doctor`: r1 and its credential wait
    assert health is not None and health["backing_off"] == 2
