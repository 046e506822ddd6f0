"""``sentimon serve``: only the push endpoint (started by ``sentimon.push``, which the daemon
uses too; the HTTP handling lives in ``sentimon.server``)."""

from __future__ import annotations

import logging
import threading

import click

from sentimon.interrupt import stop_on_signals
from sentimon.push import start_push_server

log = logging.getLogger(__name__)

__all__ = ["serve", "start_push_server"]


@click.command()
@click.option("--host", help="Address to bind (default: [server] host, 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="TCP port (default: [server] port, 8765)."
)
@click.pass_obj
def serve(app, host: str | None, port: int | None) -> None:
    """Run only the push endpoint, POST /v1/mentions (and /metrics when enabled).

    Needs [server] token = "${SENTIMON_PUSH_TOKEN}". Senders authenticate with
    `Authorization: Bearer <token>`. Stops cleanly on SIGTERM, SIGHUP or Ctrl-C.
    """
    stop = threading.Event()
    stop_on_signals(stop)  # before listening: no window for a traceback
    server = start_push_server(app, host, port)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        log.info("stopping the push endpoint")
        server.shutdown()
        log.info("stopped")
