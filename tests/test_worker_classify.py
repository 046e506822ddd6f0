"""Fetching and classifying split across `sentimon worker` processes (issue 18): a worker that
serves only ``fetch`` stores mentions pending without loading the model, one serving only
``classify`` (the GPU box) classifies them, and SIGKILLing it mid-batch loses nothing and
classifies nothing twice."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from polling import wait_until
from workers_support import CLASSIFY_ONLY, FETCH_ONLY, by_sentiment, config, rows, start, stop, write_inputs

pytest.importorskip("procrastinate")

from sentimon.worker_classify import SHARDS  # noqa: E402  (needs procrastinate)


def pending(url: str) -> int:
    return int(rows(url, "SELECT COUNT(*) FROM mentions WHERE sentiment IS NULL")[0][0])


def classified(url: str) -> int:
    return int(rows(url, "SELECT COUNT(*) FROM mentions WHERE sentiment IS NOT NULL")[0][0])


def assert_all_classified_once(url: str, total: int) -> None:
    """Every line stored once and classified, and the roll-ups (kept by triggers on every
    insert and classification) equal the rows per sentiment: a batch written twice, or a
    classification lost, would show here."""
    assert rows(url, "SELECT COUNT(*), COUNT(DISTINCT (source, external_id)) FROM mentions") == [(total, total)]
    assert pending(url) == 0
    by_rows, by_rollup = by_sentiment(url)
    assert by_rollup == by_rows, (by_rollup, by_rows)
    assert by_rows == {"negative": total // 3, "positive": total - total // 3}  # one line in three is "parcel late again"


def test_a_fetch_only_worker_never_loads_the_model(tmp_path: Path, pg_url: str) -> None:
    total = sum(write_inputs(tmp_path / "in" / s, s, files=2, lines=150) for s in ("a", "b"))
    path = config(tmp_path, ["a", "b"])
    fetcher = start(path, pg_url, env=FETCH_ONLY)
    try:
        wait_until(lambda: rows(pg_url, "SELECT COUNT(*) FROM mentions") == [(total,)], timeout=60,
                   what="every line stored pending", ignoring=(psycopg.errors.UndefinedTable,))
        assert pending(pg_url) == total  # nobody serves classify yet: all wait, none lost
        assert rows(pg_url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE task_name = "
                            "'sentimon.classify' AND status = 'todo'") == [(SHARDS,)]  # one a shard, merged
        classifier = start(path, pg_url, env={**CLASSIFY_ONLY, "SENTIMON_TEST_PER_JOB": "64"})
        wait_until(lambda: pending(pg_url) == 0, timeout=60, what="every mention classified")
    finally:
        log = stop(fetcher, *([classifier] if "classifier" in locals() else []))
    assert "must not load the model" not in log, log
    assert rows(pg_url, "SELECT COUNT(*) FROM runs WHERE error IS NOT NULL") == [(0,)], log
    # 64 mentions a job, each deferring the next: a SIGTERM never waits for a whole backlog
    assert rows(pg_url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE task_name = 'sentimon.classify' "
                        "AND status = 'succeeded'")[0][0] >= total // 64
    assert_all_classified_once(pg_url, total)


def test_a_classify_worker_killed_mid_batch_loses_nothing(tmp_path: Path, pg_url: str) -> None:
    """The classify worker takes 0.3 s a batch of 32; it is SIGKILLed with batches done and
    pending left, its job stays 'doing' holding the classify lock until the fetch box's
    schedule marks it failed (no heartbeat for 2 s); the restarted worker classifies the rest."""
    total = sum(write_inputs(tmp_path / "in" / s, s, files=2, lines=300) for s in ("a", "b"))
    path = config(tmp_path, ["a", "b"])
    fetcher = start(path, pg_url, env=FETCH_ONLY)
    classifier = start(path, pg_url, delay=0.3, env=CLASSIFY_ONLY)
    try:
        wait_until(lambda: classified(pg_url) >= 96, timeout=60, what="three batches classified",
                   ignoring=(psycopg.errors.UndefinedTable,))
        assert pending(pg_url) > 0
        assert rows(pg_url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE task_name = "
                            "'sentimon.classify' AND status = 'doing'") == [(1,)]
        classifier.kill()  # SIGKILL mid-batch: its job stays 'doing', holding the lock
        classifier.wait(10)
        killed_at = classified(pg_url)
        classifier = start(path, pg_url, delay=0.3, env=CLASSIFY_ONLY)
        # ~1,100 left at 0.3 s a batch of 32 is 10 s of sleeping alone, plus a restart and the
        # 2 s stall check (the whole test took 27 s beside a CPU hog): 60 s was thin on a slower box
        wait_until(lambda: rows(pg_url, "SELECT COUNT(*) FROM mentions") == [(total,)] and pending(pg_url) == 0,
                   timeout=120, what="every mention stored and classified after the kill")
    finally:
        log = stop(fetcher, classifier)
    assert killed_at < total
    assert_all_classified_once(pg_url, total)
    assert "a classify job was on a worker that stopped" in log, log
    assert rows(pg_url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE task_name = 'sentimon.classify' "
                        "AND status = 'failed'") == [(1,)]
    assert rows(pg_url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE status = 'doing'") == [(0,)]
    assert "must not load the model" not in log, log


def test_two_classify_workers_share_a_backlog_without_reading_a_mention_twice(
        tmp_path: Path, pg_url: str) -> None:
    """The pending mentions are split into shards by id, one job a shard: two classify boxes
    work on one backlog at once (before, one job ran at a time per database and the second
    box stood by), and no mention is classified twice (the roll-ups would count it twice)."""
    total = sum(write_inputs(tmp_path / "in" / s, s, files=2, lines=300) for s in ("a", "b"))
    path = config(tmp_path, ["a", "b"])
    fetcher = start(path, pg_url, env=FETCH_ONLY)
    workers = [fetcher]
    try:
        wait_until(lambda: rows(pg_url, "SELECT COUNT(*) FROM mentions") == [(total,)], timeout=60,
                   what="every line stored pending", ignoring=(psycopg.errors.UndefinedTable,))
        workers += [start(path, pg_url, delay=0.5, env=CLASSIFY_ONLY) for _ in range(2)]
        wait_until(lambda: rows(pg_url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE task_name = "
                                        "'sentimon.classify' AND status = 'doing'") == [(2,)],
                   timeout=60, what="two classify jobs running at once")
        wait_until(lambda: pending(pg_url) == 0, timeout=120, what="every mention classified")
    finally:
        log = stop(*workers)
    assert_all_classified_once(pg_url, total)
    assert "must not load the model" not in log, log


def test_an_unknown_queue_is_refused_before_anything_starts(tmp_path: Path, pg_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from sentimon.cli import cli

    monkeypatch.setenv("SENTIMON_DATABASE_URL", pg_url)
    result = CliRunner().invoke(cli, ["--config", str(config(tmp_path, [])), "worker", "--queues", "fetch,gpu"])
    assert result.exit_code != 0
    assert "unknown queue gpu; the queues are fetch, classify, schedule, alerts" in result.output
    assert rows(pg_url, "SELECT to_regclass('procrastinate_jobs')") == [(None,)]
