"""Keep a `sentimon worker` running through a PostgreSQL outage (a restart, an upgrade, a failover).

Why: Procrastinate's worker stops when one of its side tasks fails, and its LISTEN connection
fails whenever the server goes away; it then returns as if asked to stop. Every worker exited
with status 0 on a server restart, so neither systemd's nor compose's ``on-failure`` restarted
them, and nothing was fetched again until someone noticed. Here the worker is started again once
the server answers; only SIGINT, SIGTERM or SIGHUP (the job in hand ends first) stop it for good, or a
schema that a later sentimon migrated meanwhile (exit 1: upgrade this machine first).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
from procrastinate import App as JobApp
from procrastinate import exceptions

from sentimon.interrupt import STOP_SIGNALS, log_stop_signal
from sentimon.pgstore import migrate
from sentimon.pgstore.store import redacted

log = logging.getLogger(__name__)

RETRY_EVERY = 2.0  # seconds between tries to reach the server while it is away


async def wait_for_server(url: str, stopping: asyncio.Event) -> bool:
    """Every ``RETRY_EVERY`` s, try to connect until the server answers (True) or a signal asks
    to stop (False). The first try also waits: a worker that stops at once for another reason
    is started again every 2 s, not in a busy loop."""
    while True:
        try:
            await asyncio.wait_for(stopping.wait(), RETRY_EVERY)
            return False
        except asyncio.TimeoutError:
            pass
        try:
            await asyncio.to_thread(check_schema, url)
        except psycopg.Error:
            continue
        return True


def check_schema(url: str) -> None:
    """Raise ``NewerSchema`` when a later sentimon migrated the database meanwhile (another
    machine upgraded first, during the outage): this worker must not run jobs on a schema it
    does not know; it exits 1 with the line saying so."""
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        migrate.refuse_newer(conn, migrate.applied(conn))


async def serve(jobs_app: JobApp, url: str, **options: Any) -> None:
    """Run ``jobs_app``'s worker with ``options`` until SIGINT or SIGTERM, starting it again
    whenever it stopped on its own because the server went away."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    running: asyncio.Task[None] | None = None

    def on_signal(signum: int) -> None:
        log_stop_signal(signum)
        stopping.set()
        if running is not None:
            running.cancel()  # Procrastinate's graceful stop: the job in hand ends first

    for sig in STOP_SIGNALS:  # SIGHUP too: its default action killed the worker without a word
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        async with jobs_app.open_async():
            while not stopping.is_set():
                running = asyncio.create_task(jobs_app.run_worker_async(
                    install_signal_handlers=False, **options))
                try:
                    await running
                    reason = "its connection to the server was lost"
                except asyncio.CancelledError:
                    break
                except (exceptions.ConnectorException, psycopg.Error) as exc:
                    reason = " ".join(f"{type(exc).__name__}: {exc}".split())
                running = None
                if stopping.is_set():
                    break
                log.warning("the worker stopped (%s); starting it again when %s answers",
                            reason, redacted(url))
                if await wait_for_server(url, stopping):
                    log.warning("%s answers again; starting the worker", redacted(url))
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
