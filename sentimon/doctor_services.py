"""``sentimon doctor``'s live checks: what only the network and other processes can answer.

Each notifier gets a dry connection (``Notifier.probe``: as far as sending goes, with no
message), the push endpoint its token and port, and the database's lock its holder. One row
each, failures in one line that names what is wrong; a secret is shown only by its length.
"""

from __future__ import annotations

import errno
import http.client
import json
import socket
from typing import Any

from sentimon.logs import mask, redactor

Check = dict[str, Any]
QUEUE_CONNECT_TIMEOUT = 5  # seconds; libpq waits forever by default
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def row(name: str, status: str, detail: str) -> Check:
    return {"name": name, "status": status, "detail": detail}


def check_notifiers(app: Any) -> list[Check]:
    """A dry connection to every configured notifier; one that fails does not stop the next."""
    import alerts
    from sentimon.errors import NotifyError

    rows = []
    for name, notifier in alerts.build_notifiers(app.config.notifiers).items():
        try:
            rows.append(row(f"notifier {name}", "ok", notifier.probe()))
        except NotifyError as exc:  # "slack alerts: cannot ..." -> "cannot ...": the row names it
            text = " ".join(str(exc).split()).removeprefix(f"{notifier.type} {name}").lstrip(": ")
            rows.append(row(f"notifier {name}", "fail", redactor.redact(text)))
    return rows


def check_push_endpoint(app: Any) -> list[Check]:
    """The token (present, long enough) and the port (free, or served by our own daemon), when
    ``[server]`` is enabled or has a token (``sentimon serve``)."""
    from sentimon.server import MIN_TOKEN_CHARS

    settings = app.config.server
    token = settings.get("token") or ""
    if not settings.get("enabled") and not token:
        return [row("push endpoint", "ok", "not enabled ([server] enabled = false, no token)")]
    if not token:
        return [row("push endpoint", "fail", "server.token is empty; set token = "
                    '"${SENTIMON_PUSH_TOKEN}" in [server] and export a long random value')]
    if len(token) < MIN_TOKEN_CHARS:
        return [row("push endpoint", "fail", f"server.token is {len(token)} characters; "
                    f"use at least {MIN_TOKEN_CHARS}")]
    host, port = settings["host"], settings["port"]
    url = f"http://{host}:{port}/v1/mentions"
    problem = _bind_problem(host, port)
    if problem is None:
        return [row("push endpoint", "ok", f"can listen on {url}; token {mask(token)}")]
    if problem == "in use" and _answers_like_sentimon(host, port):
        pid = _lock_holder(app)
        who = f"the running daemon (pid {pid})" if pid else "a running `sentimon serve`"
        return [row("push endpoint", "ok", f"{url} is served by {who}; token {mask(token)}")]
    if problem == "in use":
        problem = (f"port {port} on {host} is in use by another program; "
                   "stop it or set another [server] port")
    return [row("push endpoint", "fail", f"cannot listen on {host}:{port}: {problem}")]


def check_daemon(app: Any) -> list[Check]:
    """Whether a daemon (or a ``run --once``) holds the database's lock, and its pid; on
    PostgreSQL, the workers and their queue instead."""
    if app.config.storage.postgresql:
        return check_workers(app)
    from sentimon.daemon import DaemonLock

    lock = DaemonLock(app.config.db_path)
    try:
        pid = lock.holder()
    except OSError as exc:
        return [row("daemon", "warn", f"cannot tell: {lock.path}: {exc.strerror or exc}")]
    return [row("daemon", "ok", f"daemon running (pid {pid})" if pid else "no daemon running")]


def check_workers(app: Any) -> list[Check]:
    """`sentimon worker`s alive, connector runs waiting, running, stalled and failed lately,
    what waits out a backoff or a Retry-After, and the mentions not classified yet.

    Doctor is what an operator runs when the server is away: a server that refuses or does not
    answer is this row's one line, within ``QUEUE_CONNECT_TIMEOUT`` s, never a traceback that
    hides the other rows (or a wait with no end on a host that drops packets)."""
    try:
        import psycopg
        from psycopg.conninfo import make_conninfo

        from sentimon.pgstore.urls import scrubbed
        from sentimon.worker import queue_health
    except ModuleNotFoundError as exc:
        return [row("workers", "warn", f"{exc.name} is not installed: pip install 'sentimon[postgres]'")]
    url = app.config.storage.url
    try:
        health = queue_health(make_conninfo(url, connect_timeout=QUEUE_CONNECT_TIMEOUT))
    except psycopg.Error as exc:
        return [row("workers", "fail", f"cannot read the job queue: {scrubbed(exc, url)}")]
    if health is None:
        return [row("workers", "warn", "no `sentimon worker` has started on this database yet")]
    pending = app.store().pending_count()  # grows for good when no worker serves `classify`
    detail = (f"{health['workers']} alive; connector runs: {health['waiting']} waiting, "
              f"{health['running']} running, {health['stalled']} stalled, "
              f"{health['failed_24h']} failed in 24 h; {health['backing_off']} connectors or "
              f"credentials backing off; {pending} mentions waiting to be classified")
    return [row("workers", "ok" if health["workers"] and not health["stalled"] else "warn", detail)]


def _bind_problem(host: str, port: int) -> str | None:
    """Why the endpoint could not listen on host:port now ("in use" when taken), or None. It
    binds the way the server does (SO_REUSEADDR) and lets go at once."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        return f"cannot resolve {host} ({exc.strerror})"
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "in use"
            if exc.errno == errno.EACCES:
                return f"port {port} needs root (below 1024); use 8765 behind a reverse proxy"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{host} is not an address of this machine"
            return exc.strerror or str(exc)
    return None


def _answers_like_sentimon(host: str, port: int) -> bool:
    """True when GET /healthz there answers as our endpoint does: {"status": ...} JSON."""
    connection = http.client.HTTPConnection(_ANY_ADDRESS.get(host, host), port, timeout=1)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        body = json.loads(response.read(4096) or b"null")
        return response.status in (200, 503) and isinstance(body, dict) and "status" in body
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        connection.close()


def _lock_holder(app: Any) -> str | None:
    from sentimon.daemon import DaemonLock

    try:
        return DaemonLock(app.config.db_path).holder()
    except OSError:
        return None
