"""Shared fixtures: the real bundled model (loaded once), temporary configs, ../shared paths,
and for the alert tests seeded stores, the alerts CLI on a written config and an SMTP server."""

from __future__ import annotations

import os
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from localserver import local_server  # noqa: F401  (the fixture, for every test module)
from pg_server import own_pg_server, pg_server, pg_url  # noqa: F401  (a throwaway PostgreSQL cluster, issue 18)
from test_alerts_support import AlertsCli, Inbox, alert_config, local_smtp, seeded_store

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SENTIMON_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: tests that read ../shared data or fixtures need it beside the project")
    return path


@pytest.fixture(autouse=True)
def _isolated_process_state():
    """Process-wide state a test may change is put back after it: the secrets the log filter
    masks (every loaded config adds its own), the outbox's record of failing notifiers (one
    warning per outage) and the connectors' per-process logins (Bluesky sessions, Google
    tokens: one test's fake server issued them), so no test passes or fails because of the one
    before it."""
    import sys

    from alerts import outbox
    from sentimon.logs import redactor

    secrets = set(redactor.secrets)
    with outbox._outages_lock:
        outages = dict(outbox._outages)
    yield
    redactor.secrets.clear()
    redactor.secrets.update(secrets)
    with outbox._outages_lock:
        outbox._outages.clear()
        outbox._outages.update(outages)
    if "connectors.bluesky" in sys.modules:  # not imported: nothing kept, and no import cost
        with sys.modules["connectors.bluesky"]._sessions_lock:
            sys.modules["connectors.bluesky"]._sessions.clear()
    if "connectors.googleplay_developer" in sys.modules:
        sys.modules["connectors.googleplay_developer"]._issued.clear()


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Model data cached between loads (topic phrase vectors) goes to this session's own folder,
    inherited by the CLI subprocesses: never the user's ~/.cache, and every session starts cold."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SENTIMON_CACHE_DIR", str(tmp_path_factory.mktemp("model-cache")))
        yield


@pytest.fixture(scope="session")
def classifier():
    """The real bundled model, loaded once for the whole test session."""
    import models

    return models.load_classifier({}, models.DEFAULT_TOPICS)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a sentimon.toml into tmp_path from a dedented string; return its path."""

    def write(text: str, name: str = "sentimon.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def alert_store(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``alert_store(name, quiet=..., spike=...)``: ``seeded_store`` in tmp_path, closed after
    the test."""
    opened = []

    def make(name: str = "alerts.db", **seeding: Any) -> Any:
        opened.append(seeded_store(tmp_path / name, **seeding))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def alerts_cli(write_config: Callable[[str], Path]) -> Callable[..., AlertsCli]:
    """``alerts_cli(db, rules=..., notifiers=..., quiet=..., spike=..., edit=...)``: a config
    from ``alert_config`` and its store seeded before the wall clock's now (the CLI checks at
    now), ``edit(store)`` applied before it closes; returns the ``sentimon alerts`` runner."""

    def make(db: str = "alerts.db", *, rules: str | None = None, notifiers: dict[str, str] | None = None,
             quiet: dict[str, Any] | None = None, spike: dict[str, Any] | None = None,
             edit: Callable[[Any], None] | None = None) -> AlertsCli:
        path = write_config(alert_config(db, rules=rules, notifiers=notifiers))
        store = seeded_store(path.parent / db, now=datetime.now(timezone.utc), quiet=quiet, spike=spike)
        try:
            if edit is not None:
                edit(store)
        finally:
            store.close()
        return AlertsCli(path, path.parent / db)

    return make


@pytest.fixture
def keyword_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """``models.load_classifier`` gives keyword rules with topics (``stubs``): for tests of the
    commands, where loading the model per test would cost seconds each."""
    import models
    from stubs import TopicKeywordClassifier

    monkeypatch.setattr(models, "load_classifier", lambda settings, topics: TopicKeywordClassifier())


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(certificate, key) files: self-signed for 127.0.0.1, made with the openssl command line."""
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl command not found")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd): its inbox, with ``.port`` and ``.logins``."""
    pytest.importorskip("aiosmtpd")
    inbox = Inbox()
    controller = local_smtp(inbox)
    yield inbox
    controller.stop()
