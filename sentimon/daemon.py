"""The background daemon: APScheduler 3.x runs each connector, alert checks and deliveries.

One job per connector (stable id, ``max_instances=1`` so runs never overlap, ``coalesce`` so
missed runs collapse into one), plus the alert check and the delivery outbox. A lock file
keeps two daemons off one database. SIGTERM/SIGINT set a stop flag that connector runs
check between batches; the scheduler then waits for running jobs and the process exits 0.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sentimon.alert_jobs import check_alerts, deliver_alerts
from sentimon.credentials import credential_value
from sentimon.errors import SentimonError
from sentimon.interrupt import stop_on_signals
from sentimon.pipeline import RunResult, due_connectors, run_connector, run_connectors

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


class DaemonLock:
    """An advisory lock beside the database; released by the OS if the process dies."""

    def __init__(self, db_path: Path) -> None:
        # The real path: a symlinked database path must take its target's lock.
        self.path = Path(f"{Path(db_path).resolve()}.lock")
        self._file: Any = None

    def acquire(self) -> None:
        try:  # O_NOFOLLOW: a link planted here must not make us truncate its target
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise SentimonError(
                    f"daemon lock file {self.path} is a symbolic link; remove it"
                ) from None
            raise SentimonError(
                f"cannot create the daemon lock file {self.path}: {exc.strerror or exc}"
            ) from None
        handle = os.fdopen(fd, "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise SentimonError(
                f"another sentimon daemon (pid {owner}) is already running on {self.path.with_suffix('')}; "
                "stop it first (two daemons would fetch everything twice)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def holder(self) -> str | None:
        """The pid written by the process holding the lock, or None when none holds it.

        For ``doctor``: it opens read-only and never creates the file; a shared lock tried
        without waiting and dropped at once tells whether a daemon (or ``run --once``) holds
        the exclusive one, where a pid left in the file by a dead daemon would mislead."""
        try:
            handle = open(self.path, encoding="utf-8")
        except FileNotFoundError:
            return None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "unknown"
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def backoff_delay(every: timedelta, failures: int) -> timedelta:
    """After repeated failures wait longer: every, 2x, 4x, ... capped at max(every, 1h)."""
    if failures <= 1:
        return every
    return min(every * (2 ** (failures - 1)), max(every, MAX_BACKOFF))


class Daemon:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.stop = threading.Event()
        self.failures: dict[str, int] = {}
        self.scheduler: Any = None
        self._credentials: dict[str, threading.Lock] = {}  # sha256 of a credential -> its lock
        self._credentials_guard = threading.Lock()

    def _credential_lock(self, entry: Any) -> Any:
        """One lock per rate-limited credential (``sentimon.credentials``): connectors sharing
        one Reddit app or API key take turns, so together they stay within its limit, as in
        ``sentimon worker``. Keyed by a hash, so no secret is kept in this map."""
        value = credential_value(entry)
        if value is None:
            return contextlib.nullcontext()
        key = hashlib.sha256(value.encode()).hexdigest()
        with self._credentials_guard:
            return self._credentials.setdefault(key, threading.Lock())

    # --- jobs -------------------------------------------------------------------------------

    def run_connector_job(self, name: str) -> None:
        entry = self.app.config.connector(name)
        try:
            store = self.app.store()
        except SentimonError as exc:  # the database cannot even be opened: retried later
            log.error("%s: run not started: %s", name, exc)
            result = RunResult(source=name, error=str(exc))
        else:
            with self._credential_lock(entry):
                result = run_connector(store, self.app.classifier, entry, stop=self.stop)
        if result.ok:
            self.failures.pop(name, None)
            return
        failures = self.failures[name] = self.failures.get(name, 0) + 1
        delay = backoff_delay(entry.every, failures)
        if result.retry_after:  # the source said when to come back (HTTP 429 Retry-After)
            delay = max(delay, timedelta(seconds=min(result.retry_after, MAX_BACKOFF.total_seconds())))
        if delay > entry.every and self.scheduler is not None and not self.stop.is_set():
            next_time = datetime.now(timezone.utc) + delay
            self.scheduler.modify_job(f"connector:{name}", next_run_time=next_time)
            why = f"{failures} failures in a row" if failures > 1 else "the source asked to wait"
            log.warning("%s: %s; next try at %s", name, why, next_time.isoformat(timespec="seconds"))

    def check_alerts_job(self) -> None:
        check_alerts(self.app)

    def deliver_job(self) -> None:
        deliver_alerts(self.app)

    def maintenance_job(self) -> None:
        """Daily: apply ``retention_days``, then FTS and planner upkeep."""
        try:
            store = self.app.store()
            store.check_file()
            days = self.app.config.storage.get("retention_days") or 0
            if days > 0:
                cutoff = datetime.now(timezone.utc) - timedelta(days=days)
                deleted = store.delete_older_than(cutoff)
                log.info("retention: deleted %d mentions older than %d days", deleted, days)
            store.optimize()
        except SentimonError as exc:  # full disk, read-only file: tomorrow's run tries again
            log.error("maintenance failed: %s", exc)

    # --- entry points -----------------------------------------------------------------------

    def run_once(self) -> bool:
        """Every enabled connector once, then alert checks and deliveries (cron, the demo)."""
        # On PostgreSQL there is no database file to lock: the store's transactions and unique
        # keys keep a run beside the workers from storing anything twice.
        lock = None if self.app.config.storage.postgresql else DaemonLock(self.app.config.db_path)
        if lock is not None:
            lock.acquire()
        try:
            ok = True
            entries = due_connectors(self.app.config)
            for result in run_connectors(self.app.store, self.app.classifier, entries, stop=self.stop):
                print(
                    f"{result.source}: fetched {result.fetched}, new {result.new}, "
                    f"skipped {result.skipped}, {result.seconds:.1f}s, "
                    f"{'error: ' + result.error if result.error else 'ok'}",
                    flush=True,
                )
                ok = ok and result.ok
            self.check_alerts_job()
            self.deliver_job()
            return ok
        finally:
            if lock is not None:
                lock.release()

    def serve_forever(self) -> None:
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
        from apscheduler.schedulers.background import BackgroundScheduler

        config = self.app.config
        lock = DaemonLock(config.db_path)
        lock.acquire()
        self.scheduler = scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        scheduler.add_listener(self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        now = datetime.now(timezone.utc)
        for entry in config.connectors:
            if not entry.enabled:
                continue
            scheduler.add_job(
                self.run_connector_job, "interval", args=[entry.name], id=f"connector:{entry.name}",
                name=entry.name, seconds=entry.every.total_seconds(), next_run_time=now,
                replace_existing=True,
            )
        scheduler.add_job(
            self.check_alerts_job, "interval", id="alerts:check", name="alert check",
            seconds=config.daemon.check_every.total_seconds(), next_run_time=now + timedelta(seconds=5),
            replace_existing=True,
        )
        scheduler.add_job(
            self.deliver_job, "interval", id="alerts:deliver", name="deliveries",
            seconds=config.daemon.deliver_every.total_seconds(), next_run_time=now + timedelta(seconds=6),
            replace_existing=True,
        )
        scheduler.add_job(
            self.maintenance_job, "interval", id="maintenance", name="maintenance", hours=24,
            next_run_time=now + timedelta(minutes=10), replace_existing=True,
        )
        server = self._start_server()
        stop_on_signals(self.stop)
        scheduler.start()
        log.info("sentimon %s daemon started (pid %d) on %s", _version(), os.getpid(), config.db_path)
        for job in scheduler.get_jobs():
            log.info("scheduled %-24s %s", job.name, job.trigger)
        try:
            while not self.stop.wait(0.5):
                pass
        finally:
            log.info("stopping: finishing the batch in hand")
            if server is not None:
                server.shutdown()  # stops its pending-mention worker too
            scheduler.shutdown(wait=True)
            lock.release()
            self.app.close()
            log.info("stopped")

    def _start_server(self) -> Any:
        """The push endpoint with its pending-mention worker; with the endpoint off, the worker
        alone, so mentions pushed before it was turned off still get classified."""
        if not self.app.config.server.enabled:
            from sentimon.pending import PendingWorker

            return _WorkerOnly(PendingWorker(self.app).start())
        from sentimon.push import start_push_server

        return start_push_server(self.app)

    def _on_job_event(self, event: Any) -> None:
        if getattr(event, "exception", None) is not None:
            log.error("job %s failed: %s", event.job_id, event.exception)
        else:
            log.warning("job %s missed its slot (the previous run was still going)", event.job_id)


class _WorkerOnly:
    """What ``serve_forever`` shuts down when the push endpoint is off."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker

    def shutdown(self) -> None:
        self.worker.stop(30.0)


def _version() -> str:
    from sentimon import __version__

    return __version__
