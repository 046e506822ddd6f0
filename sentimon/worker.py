"""`sentimon worker`: the connectors as jobs on Procrastinate, on the PostgreSQL store (issue 18).

Why Procrastinate: a team that outgrows one machine runs workers on several, and they must
agree on who runs what without a broker of their own. Procrastinate keeps its queue in the same
PostgreSQL: a job is stored in the transaction that defers it, a ``lock`` lets one job per
connector, or per rate-limited credential that connectors share, run at a time on any machine,
a ``queueing_lock`` keeps at most one waiting per connector, and heartbeats show which worker
died. Failure counts and Retry-After waits are rows, not memory (``sentimon.worker_limits``
says why). Every worker runs the same code; none is special:

- ``sentimon.schedule`` is a periodic task (each minute, deferred once across all workers) that
  marks the runs of dead workers failed and defers a ``sentimon.fetch`` for every connector
  whose ``every`` has passed since its last run started and that no backoff holds.
- ``sentimon.fetch`` runs one connector through ``pipeline.run_connector`` (fetch, classify,
  store batch by batch with its cursor; on a worker that does not serve the ``classify``
  queue, store pending and defer ``sentimon.classify``: ``sentimon.worker_classify``). It
  checks again that the connector is due, so two deferrals that met within one period run it
  once, and that nothing holds it: a Retry-After another connector on its credential
  received while it waited is honoured. It then records the outcome in ``worker_backoff``.
- ``sentimon.classify`` classifies pending mentions, one job per shard of them at a time; the
  schedule also defers them while any are pending (``sentimon.worker_classify`` says why).

A killed worker's run is marked failed, not retried: retrying it would collide with the next
run's ``queueing_lock`` (issue 18 measured 78 such errors and sources stuck for 240 s), and the
next run resumes from the stored cursor anyway, so nothing is lost and nothing is stored twice
(``UNIQUE(source, external_id)``). Connectors run at most once a minute here.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from procrastinate import App as JobApp
from procrastinate import PsycopgConnector, exceptions, jobs

from sentimon.errors import ConfigError, StorageError
from sentimon.pgstore.migrate import LOCK_KEY
from sentimon.pgstore.store import redacted
from sentimon.pipeline import run_connector
from sentimon.times import from_db_time
from sentimon.worker_alerts import ALERTS_QUEUE
from sentimon.worker_alerts import register as register_alerts
from sentimon.worker_classify import CLASSIFY_QUEUE, request, sweep
from sentimon.worker_classify import register as register_classify
from sentimon.worker_limits import Limits, connector_key
from sentimon.worker_runner import serve

log = logging.getLogger(__name__)

FETCH_QUEUE = "fetch"
SCHEDULE_QUEUE = "schedule"
QUEUES = (FETCH_QUEUE, CLASSIFY_QUEUE, SCHEDULE_QUEUE, ALERTS_QUEUE)  # a worker's default: all
STALLED_AFTER = 30.0  # seconds without a worker heartbeat (workers beat every 10 s)


def due_connectors(app: Any, now: datetime) -> list[Any]:
    """The enabled connectors whose ``every`` has passed since their last run started."""
    started = {row["source"]: row["last_run"] for row in app.store().last_runs()}
    return [entry for entry in app.config.connectors if entry.enabled
            and (started.get(entry.name) is None
                 or from_db_time(started[entry.name]) + entry.every <= now + timedelta(seconds=1))]


def runnable(app: Any, limits: Limits, now: datetime) -> list[Any]:
    """The due connectors that neither a backoff nor their credential's Retry-After holds."""
    due = due_connectors(app, now)
    waiting = limits.waiting() if due else {}
    return [entry for entry in due if limits.holds(entry, waiting) is None]


def build(app: Any, *, tick: str = "* * * * *", stalled_after: float = STALLED_AFTER,
          queues: tuple[str, ...] = QUEUES) -> JobApp:
    """A Procrastinate app on the store's database with sentimon's tasks bound to ``app``
    (the sentimon App: its config, its PgStore and its classifier). ``tick`` is the schedule's
    cron (a sixth field is seconds: the tests tick every second). ``queues`` are those this
    worker serves: without ``classify``, its fetch jobs never load the model."""
    url = app.config.storage.url
    # timeout, reconnect_timeout: as PgStore's pool, so a worker that lost the server notices
    # within 10 s and uses it again within seconds of its return (worker_runner)
    jobs_app = JobApp(connector=PsycopgConnector(conninfo=url, min_size=1, max_size=4, timeout=10,
                                                 reconnect_timeout=10))

    limits = Limits(url)
    classify = register_classify(jobs_app, app)
    inline = CLASSIFY_QUEUE in queues

    @jobs_app.task(name="sentimon.fetch", queue=FETCH_QUEUE)
    async def fetch(name: str) -> str:
        outcome, stored = await asyncio.to_thread(run_fetch, name)
        if stored and not inline:
            await request(classify)
        return outcome

    def run_fetch(name: str) -> tuple[str, int]:
        entry = next((e for e in runnable(app, limits, datetime.now(timezone.utc)) if e.name == name), None)
        if entry is None:
            return "not due", 0  # ran this period, disabled, or waiting (a backoff, a Retry-After)
        result = run_connector(app.store(), app.classifier if inline else None, entry)
        until = limits.record(entry, result.ok, result.error, result.retry_after)
        if until is not None:
            why = "the source asked to wait" if result.retry_after else "failed again"
            log.warning("%s: %s; next try at %s (every worker waits: the time is in the "
                        "database)", name, why, until.isoformat(timespec="seconds"))
        return ("ok" if result.ok else f"error: {result.error}"), result.new

    @jobs_app.periodic(cron=tick)
    @jobs_app.task(name="sentimon.schedule", queue=SCHEDULE_QUEUE, queueing_lock="sentimon.schedule")
    async def schedule(timestamp: int) -> None:
        await fail_stalled(jobs_app, stalled_after)
        now = datetime.now(timezone.utc)
        for entry in await asyncio.to_thread(runnable, app, limits, now):
            lock = await asyncio.to_thread(limits.lock, entry)
            try:
                await fetch.configure(lock=lock, queueing_lock=connector_key(entry.name)).defer_async(
                    name=entry.name)
            except exceptions.AlreadyEnqueued:
                pass  # one run already waits for this connector
        await sweep(classify, app)

    register_alerts(jobs_app, app, tick=tick)
    return jobs_app


async def fail_stalled(jobs_app: JobApp, stalled_after: float) -> int:
    """Mark the jobs of workers that stopped beating failed (see the module's why): connector
    runs, classify jobs and alert passes, whose ``lock`` would otherwise stay held by the dead
    worker's job and stop every later classification, alert check and delivery everywhere."""
    count = 0
    for queue in (FETCH_QUEUE, CLASSIFY_QUEUE, ALERTS_QUEUE):
        for job in await jobs_app.job_manager.get_stalled_jobs(queue=queue, seconds_since_heartbeat=stalled_after):
            if queue == FETCH_QUEUE:
                log.warning("connector run %s was on a worker that stopped; the next run resumes "
                            "from its cursor", job.task_kwargs.get("name"))
            elif queue == CLASSIFY_QUEUE:
                log.warning("a classify job was on a worker that stopped; the batch it held "
                            "stays pending and the next job classifies it")
            else:
                log.warning("an alert pass was on a worker that stopped; the next tick runs it "
                            "again (a notification it was sending goes again when its claim ends)")
            await jobs_app.job_manager.finish_job(job, status=jobs.Status.FAILED, delete_job=False)
            count += 1
    return count


def queue_health(url: str, stalled_after: float = STALLED_AFTER) -> dict[str, int] | None:
    """For `doctor`: workers alive (a heartbeat within ``stalled_after``), connector runs waiting,
    running and stalled (on a dead worker, until the next schedule marks them failed), and runs
    failed in the last 24 hours, and the connectors and credentials waiting out a backoff or a
    Retry-After; None before any worker has started (no queue tables yet)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,):
            return None
        row = conn.execute(
            "SELECT (SELECT COUNT(*) FROM procrastinate_workers WHERE last_heartbeat >= "
            "        now() - make_interval(secs => %(s)s)),"
            " COUNT(*) FILTER (WHERE j.status = 'todo'),"
            " COUNT(*) FILTER (WHERE j.status = 'doing' AND (w.id IS NULL OR w.last_heartbeat "
            "        < now() - make_interval(secs => %(s)s))),"
            " COUNT(*) FILTER (WHERE j.status = 'doing'),"
            " COUNT(*) FILTER (WHERE j.status = 'failed' AND EXISTS (SELECT 1 FROM "
            "        procrastinate_events e WHERE e.job_id = j.id AND e.type = 'failed' "
            "        AND e.at >= now() - interval '1 day'))"
            " FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id"
            " WHERE j.queue_name = %(q)s", {"s": stalled_after, "q": FETCH_QUEUE}).fetchone()
    alive, waiting, stalled, doing, failed = (int(v) for v in row) if row else (0, 0, 0, 0, 0)
    return {"workers": alive, "waiting": waiting, "running": doing - stalled, "stalled": stalled,
            "failed_24h": failed, "backing_off": len(Limits(url).waiting())}


def apply_schema(url: str) -> bool:
    """Create Procrastinate's tables once, under sentimon's migration lock (several workers may
    start together on a fresh database); True when they were created now."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
            try:
                if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() != (None,):
                    return False
                from procrastinate.schema import SchemaManager

                conn.execute(SchemaManager.get_schema().encode())
                return True
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    except psycopg.Error as exc:
        raise StorageError(f"{redacted(url)}: cannot create the job queue's tables: "
                           f"{str(exc).strip().splitlines()[0]}") from None


def run_worker(app: Any, *, name: str | None = None, tick: str = "* * * * *",
               heartbeat: float = 10.0, stalled_after: float = STALLED_AFTER,
               queues: tuple[str, ...] = QUEUES) -> None:
    """Run jobs of ``queues`` until stopped (SIGINT/SIGTERM ends the job in hand first)."""
    if not app.config.storage.postgresql:
        raise StorageError("sentimon worker needs PostgreSQL ([storage] url); on SQLite, "
                           "`sentimon run` is the daemon")
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown or not queues:
        raise ConfigError(f"unknown queue {', '.join(unknown) or '(none)'}; the queues are "
                          f"{', '.join(QUEUES)}")
    app.store()  # sentimon's own migrations first, so a job never meets an old schema
    if apply_schema(app.config.storage.url):
        log.info("created the job queue's tables")
    asyncio.run(serve(build(app, tick=tick, stalled_after=stalled_after, queues=queues),
                      app.config.storage.url, queues=list(queues), name=name,
                      update_heartbeat_interval=heartbeat, stalled_worker_timeout=stalled_after))
