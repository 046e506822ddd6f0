"""The push endpoint's front door: ``start_push_server`` starts it in a background thread, for
``sentimon serve`` and for the daemon (``[server] enabled``). The HTTP handling lives in
``sentimon.server`` and the Prometheus text in ``sentimon.metrics``.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from sentimon.errors import SentimonError

if TYPE_CHECKING:
    from sentimon.server_settings import ServerSettings

log = logging.getLogger(__name__)


def start_push_server(app: Any, host: str | None = None, port: int | None = None, **limits: Any):
    """Listen on ``[server] host:port`` (or the given ones) in a background thread.

    Returns the running ``PushServer``; its ``shutdown()`` stops it after the batches being
    stored are done. ``limits`` (``rate``, ``burst``, ``max_connections``) override the defaults.
    Pushes are answered once stored and classified by the server's ``PendingWorker``
    (``sentimon.pending``); the model is loaded in the background straight away, so the first
    pushes are not left pending for the length of a model load.
    """
    from sentimon.server import MENTIONS_PATH, PushServer

    settings: ServerSettings = app.config.server
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    server = PushServer(app, host, port, **limits).start()
    log.info("push endpoint listening on %s%s", server.url, MENTIONS_PATH)
    if server.metrics_enabled:
        log.info("metrics at %s/metrics", server.url)
    if server.server_address[0] not in ("127.0.0.1", "::1", "localhost"):
        log.warning(
            "push endpoint bound to %s: reachable from other machines; "
            "put it behind a TLS reverse proxy",
            server.server_address[0],
        )
    threading.Thread(target=_warm_model, args=(app,), name="model-warmup", daemon=True).start()
    return server


def _warm_model(app: Any) -> None:
    try:
        app.classifier()
    except SentimonError as exc:
        log.error("push endpoint: model not loaded: %s", exc)
    except Exception as exc:  # noqa: BLE001 - pushes report it; no traceback from a warm-up
        log.error("push endpoint: model not loaded: %s: %s", type(exc).__name__, exc)
