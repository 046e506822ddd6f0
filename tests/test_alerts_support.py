"""Helpers shared by the alert and notifier tests: seeded stores, alert configs and the
`sentimon alerts` CLI on them, notifiers built as the loader builds them, a fake Slack/webhook
HTTP server and a real SMTP server on 127.0.0.1, and a rule builder. (No tests here; the name
keeps it in our files.) The pytest fixtures over these are in conftest.py."""

from __future__ import annotations

import json
import random
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from click.testing import CliRunner, Result

from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import Store

if TYPE_CHECKING:
    from alerts.rules import AlertRule

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
TOPICS = ("delivery", "quality", "price", "support")
QUIET_TEXTS = (
    "shoes fit well and look great", "decent price for the quality", "support answered quickly",
    "the colour is a bit different from the photo", "comfortable for long walks", "ordered a second pair",
    "sizing runs small but exchange was easy", "nice box and packaging", "the laces broke after a month",
    "customer service was friendly", "price went up again", "happy with my purchase",
)
SPIKE_TEXTS = (
    "parcel arrived two weeks late and tracking never updated",
    "still waiting for my parcel, tracking never updated since monday",
    "courier lost my parcel, tracking never updated, nobody answers",
    "third week waiting for delivery, tracking never updated",
    "delivery late again <!channel> <@U123> tracking never updated",
    "where is my parcel?? tracking never updated <http://evil.example|click here>",
)


def verdict(sentiment: str, topic: str, score: float | None = None) -> Classification:
    neg = score if score is not None else (0.9 if sentiment == "negative" else 0.05)
    scores = {"negative": neg, "neutral": 0.05, "positive": max(0.0, 0.95 - neg)}
    return Classification(sentiment, scores, (TopicScore(topic, 0.9, sentiment),), "test@1")


def seed_quiet(store: Store, *, now: datetime = NOW, days: float = 14, per_day: int = 20,
               share: float = 0.15, source: str = "reviews", seed: int = 7, start_hours: float = 0) -> int:
    """A quiet stream: ``per_day`` mentions a day for ``days`` days before ``now`` (skipping the
    last ``start_hours``), ``share`` of them negative, topics spread evenly."""
    rng = random.Random(seed)
    count = int(days * per_day)
    mentions, verdicts = [], []
    for i in range(count):
        hours = rng.uniform(start_hours, days * 24)
        negative = rng.random() < share
        topic = TOPICS[i % len(TOPICS)]
        mentions.append(Mention(source, f"q{seed}-{i}", rng.choice(QUIET_TEXTS), now - timedelta(hours=hours),
                                kind="review", url=f"https://shop.example/r/{i}", rating=2 if negative else 5))
        verdicts.append(verdict("negative" if negative else "positive", topic))
    store.save_batch(source, mentions, verdicts)
    return count


def seed_spike(store: Store, *, now: datetime = NOW, n: int = 30, negative: int = 24, hours: float = 6,
               topic: str = "delivery", source: str = "social", prefix: str = "s") -> None:
    """A burst of ``negative`` delivery complaints among ``n`` mentions in the last ``hours``."""
    rng = random.Random(n * 31 + negative)
    mentions, verdicts = [], []
    for i in range(n):
        bad = i < negative
        text = SPIKE_TEXTS[i % len(SPIKE_TEXTS)] + ("" if i < len(SPIKE_TEXTS) else f" (order {1000 + i})") \
            if bad else rng.choice(QUIET_TEXTS)
        mentions.append(Mention(source, f"{prefix}{i}", text, now - timedelta(hours=rng.uniform(0.05, hours)),
                                kind="post", url=f"https://social.example/p/{prefix}{i}"))
        verdicts.append(verdict("negative" if bad else "positive", topic if bad else "quality",
                                score=0.6 + 0.39 * (i / max(n, 1)) if bad else None))
    store.save_batch(source, mentions, verdicts)


def seeded_store(path: Path, *, now: datetime = NOW, quiet: dict[str, Any] | None = None,
                 spike: dict[str, Any] | None = None) -> Store:
    """A store at ``path`` holding a quiet stream and a delivery spike before ``now``
    (``quiet`` and ``spike``: arguments of ``seed_quiet`` and ``seed_spike``); the caller closes it."""
    store = Store(path)
    seed_quiet(store, **{"now": now, **(quiet or {})})
    seed_spike(store, **{"now": now, **(spike or {})})
    return store


def alert_rule(notify: tuple[str, ...] = ("x",), **extra: Any) -> str:
    """The TOML of the "negative spike" rule the alert tests use (``rule()``'s settings), with
    ``extra`` keys added: one text, so every CLI test checks the same rule."""
    keys = {"name": "negative spike", "metric": "negative_share", "window": "12h", "baseline": "7d",
            "min_mentions": 20, "cooldown": "4h", "notify": list(notify), **extra}
    return "[[alerts]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in keys.items())


def alert_config(db: str, *, rules: str | None = None, notifiers: dict[str, str] | None = None) -> str:
    """A sentimon.toml: the store at ``db``, ``rules`` (default ``alert_rule()``) and
    ``notifiers`` (name -> the TOML lines of its table; default one console notifier "x")."""
    tables = notifiers if notifiers is not None else {"x": 'type = "console"'}
    return (f'[storage]\npath = "{db}"\n\n{rules if rules is not None else alert_rule()}\n'
            + "".join(f"[notifiers.{name}]\n{body}\n\n" for name, body in tables.items()))


@dataclass(frozen=True)
class AlertsCli:
    """`sentimon --config CONFIG alerts ...` through the real CLI, on a written config whose
    store (``db``) is seeded; ``run("check")`` returns click's result."""

    config: Path
    db: Path

    def __call__(self, *args: str) -> Result:
        from sentimon.cli import cli

        return CliRunner().invoke(cli, ["--config", str(self.config), "alerts", *args])


def checked_notifiers(**tables: dict[str, Any]) -> dict[str, Any]:
    """Notifiers from config tables, checked as the config loader checks them."""
    import alerts

    return alerts.build_notifiers({name: alerts.validate_notifier(name, table) for name, table in tables.items()})


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a server to start on, or to fail)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Inbox:
    """An aiosmtpd handler that keeps every message: (envelope, raw bytes)."""

    def __init__(self) -> None:
        self.messages: list[tuple[object, bytes]] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's naming)
        self.messages.append((envelope, envelope.original_content or envelope.content))
        return "250 OK"


SMTP_PASSWORD = "hunter2-secret"  # what ``local_smtp`` accepts


def local_smtp(inbox: Inbox | None = None, *, tls_cert: tuple[Any, Any] | None = None,
               implicit_tls: bool = False) -> Any:
    """A started aiosmtpd server on 127.0.0.1 delivering into ``inbox`` (``.port`` set), which
    records each login and accepts ``SMTP_PASSWORD`` only; stop it with ``.stop()``.

    With ``tls_cert`` (certificate and key files) it speaks TLS: STARTTLS, required before a
    login, or TLS from the first byte with ``implicit_tls``."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    inbox = inbox or Inbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: Any, auth_data: Any) -> Any:
        inbox.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode())

    tls: dict[str, Any] = {"auth_require_tls": False}
    if tls_cert is not None:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls_cert)
        # aiosmtpd does not count implicit TLS as TLS for auth_require_tls, so AUTH is allowed there
        tls = ({"ssl_context": context, "auth_require_tls": False} if implicit_tls
               else {"tls_context": context, "require_starttls": True})
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator, **tls)
    controller.start()
    inbox.port = controller.port
    return controller


def rule(**overrides: Any) -> AlertRule:
    import alerts

    table = {"name": "negative spike", "metric": "negative_share", "window": "12h", "baseline": "7d",
             "min_mentions": 20, "cooldown": "4h", "notify": ["chat"]}
    table.update(overrides)
    return alerts.validate_rule(0, table)


class Recorder:
    """A stand-in HTTP endpoint: records each request; ``script`` decides each answer."""

    def __init__(self, script: Callable[[int], tuple[int, dict[str, str], str]] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script = script or (lambda i: (200, {}, "ok"))
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                index = len(recorder.requests)
                recorder.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, headers, text = recorder.script(index)
                data = text.encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T1/B2/XYZ"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> "Recorder":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def json(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index]["body"])
