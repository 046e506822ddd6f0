"""Security: secrets stay secret, user input never becomes SQL, and a config that exposes
where secrets are used is flagged.

The secret test runs the real commands (`fetch`, `fetch -v --format json`, `run --once`,
`doctor`) as processes against connectors whose credentials and URLs hold the secrets, some
pointed at a dead local port so they fail, and greps everything they leave behind: stdout,
stderr, the database files and the health table.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner
from localserver import LocalServer, Reply

from sentimon.cli import cli
from sentimon.config import ConnectorConfig, parse_config
from sentimon.errors import ConfigError
from sentimon.logs import RedactSecrets
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.pipeline import run_connector
from sentimon.store import MentionQuery, Store

SECRETS = {
    "REDDIT_CLIENT_ID": "cid-7Hq2xPzLw9",
    "REDDIT_CLIENT_SECRET": "S3cr3t/reddit+Kp4@w=Zz",  # characters that get percent-encoded
    "FEED_TOKEN": "feedtok-Qm8rVn2sXy",
    "FEED_PASSWORD": "pw-Hunter2-Lk9d",
}


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def forms(secret: str) -> set[str]:
    """The secret as it may appear: raw, percent-encoded, form-encoded."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}


def assert_clean(where: str, text: str | bytes) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    for name, secret in SECRETS.items():
        for form in forms(secret):
            assert form not in text, f"{name} leaked into {where}: ...{text[max(0, text.find(form) - 80):text.find(form) + 80]}..."


FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    "<item><guid>g1</guid><title>Late parcel</title><description>The parcel came two weeks late.</description></item>"
    "</channel></rss>"
)


@pytest.mark.slow
def test_secrets_never_reach_output_logs_database_or_doctor(tmp_path):
    port = dead_port()
    with LocalServer() as server:
        server.add("/feed.xml", Reply(200, FEED, {"Content-Type": "application/rss+xml"}))
        config = tmp_path / "sentimon.toml"
        config.write_text(
            '[storage]\npath = "s.db"\n'
            '[[connectors]]\nname = "reddit"\ntype = "reddit"\nquery = "acme"\n'
            'client_id = "${REDDIT_CLIENT_ID}"\nclient_secret = "${REDDIT_CLIENT_SECRET}"\n'
            'user_agent = "sentimon-test"\n'
            f'reddit_url = "http://127.0.0.1:{port}"\noauth_url = "http://127.0.0.1:{port}"\n'
            # a feed whose URL carries a key in its query and credentials in its userinfo
            '[[connectors]]\nname = "keyed-feed"\ntype = "rss"\nretries = 0\n'
            f'url = "http://reader:${{FEED_PASSWORD}}@127.0.0.1:{server.url.rsplit(":", 1)[1]}/feed.xml?key=${{FEED_TOKEN}}"\n'
            # the same, at a dead port: the error texts are built from the URL
            '[[connectors]]\nname = "dead-feed"\ntype = "rss"\nretries = 0\n'
            f'url = "http://reader:${{FEED_PASSWORD}}@127.0.0.1:{port}/feed.xml?key=${{FEED_TOKEN}}&x=${{REDDIT_CLIENT_SECRET}}"\n'
        )
        config.chmod(0o600)
        env = {**os.environ, **SECRETS}
        exe = [sys.executable, "-m", "sentimon.cli", "--config", str(config)]
        outputs = {}
        for label, args in {
            "fetch": ["fetch"],
            "fetch -v json": ["-v", "fetch", "--format", "json"],
            "run --once": ["run", "--once"],
            "doctor": ["doctor"],
            "doctor json": ["doctor", "--format", "json"],
        }.items():
            proc = subprocess.run([*exe, *args], capture_output=True, text=True, env=env, timeout=300)
            outputs[label] = proc
            assert "Traceback" not in proc.stderr, proc.stderr
            assert_clean(f"`sentimon {label}` stdout", proc.stdout)
            assert_clean(f"`sentimon {label}` stderr", proc.stderr)
        # the failures really happened and were reported (so the grep above saw their texts)
        fetch = outputs["fetch"]
        assert fetch.returncode == 1
        assert "reddit: " in fetch.stdout and "cannot reach Reddit" in fetch.stdout
        assert "dead-feed: " in fetch.stdout and "cannot connect" in fetch.stdout
        assert "keyed-feed: fetched 1, new 1" in fetch.stdout
        assert "last error" in outputs["doctor"].stdout
        # the keyed feed was really fetched with its credentials
        assert any(r.query.get("key") == SECRETS["FEED_TOKEN"] for r in server.requests)

    db_files = [p for p in tmp_path.iterdir() if p.name.startswith("s.db")]
    assert db_files
    for path in db_files:
        assert_clean(path.name, path.read_bytes())
    with sqlite3.connect(tmp_path / "s.db") as conn:
        errors = [row[0] for row in conn.execute("SELECT error FROM runs WHERE error IS NOT NULL")]
        cursors = [row[0] for row in conn.execute("SELECT cursor FROM cursors")]
    assert errors and cursors
    assert_clean("runs.error", "\n".join(errors))
    assert_clean("cursors", "\n".join(cursors))


def test_redacting_filter_masks_messages_arguments_and_tracebacks():
    redactor = RedactSecrets()
    redactor.add(SECRETS.values())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redactor)
    logger = logging.getLogger("sentimon.test_security")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        secret = SECRETS["REDDIT_CLIENT_SECRET"]
        logger.warning("token %s in an argument", secret)
        logger.warning(f"token {quote(secret, safe='')} percent-encoded in a message")
        try:
            raise RuntimeError(f"boom with {secret} inside")
        except RuntimeError:
            logger.exception("unexpected error")
        logger.warning("stack", stack_info=True)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text and "boom with *** inside" in text
    assert_clean("log output", text)


class LeakyConnector:
    """A connector with a bug whose exception text carries a credential."""

    settings = ()

    def __init__(self, name, options):
        self.options = options

    def fetch(self, cursor, *, backfill=False):
        raise RuntimeError(f"bug: could not use token {self.options['token']}")
        yield  # pragma: no cover

    def close(self):
        pass


def test_unexpected_connector_errors_are_masked_in_runs_and_results(tmp_path, caplog):
    from sentimon.logs import redactor

    secret = SECRETS["FEED_TOKEN"]
    redactor.add([secret])
    store = Store(tmp_path / "s.db")
    entry = ConnectorConfig(name="leaky", type="leaky", every=timedelta(minutes=5), enabled=True,
                            options={"token": secret}, cls=LeakyConnector)
    with caplog.at_level(logging.ERROR):
        result = run_connector(store, lambda: None, entry)
    assert not result.ok and "RuntimeError" in result.error
    assert_clean("RunResult.error", result.error)
    assert_clean("runs table", "\n".join(str(r) for r in store.last_runs()))
    store.close()


def test_config_errors_do_not_echo_secret_values(tmp_path):
    with pytest.raises(ConfigError) as caught:
        parse_config({"daemon": {"log_level": "${FEED_TOKEN}"}}, tmp_path / "sentimon.toml", environ=SECRETS)
    assert "daemon.log_level" in str(caught.value)
    assert_clean("ConfigError", str(caught.value))


# --- every SQL statement parameterized ---------------------------------------------------

INJECTIONS = [
    "'; DROP TABLE mentions; --",
    '" OR 1=1 --',
    "' OR '1'='1",
    "NEAR(late parcel",
    "*",
    "^late",
    "late*",
    '"',
    "text:late",
    "- late",
    "late AND NOT parcel OR",
    "\x00",
    "%",
    "_",
    "\\",
    "1); DELETE FROM mention_topics; --",
]
MARKER = "zq9x"  # rides in every payload, so a statement that inlined one is easy to spot


class RecordingConnection(sqlite3.Connection):
    """Records the SQL text of every statement as the application wrote it (before binding)."""

    statements: list[str] = []

    def execute(self, sql, *args):  # type: ignore[override]
        RecordingConnection.statements.append(sql)
        return super().execute(sql, *args)

    def executemany(self, sql, *args):  # type: ignore[override]
        RecordingConnection.statements.append(sql)
        return super().executemany(sql, *args)


@pytest.fixture
def queried_db(tmp_path, monkeypatch):
    config = tmp_path / "sentimon.toml"
    config.write_text('[storage]\npath = "s.db"\n')
    store = Store(tmp_path / "s.db")
    now = datetime.now(timezone.utc)
    cls = Classification("negative", {"negative": 0.8, "neutral": 0.1, "positive": 0.1},
                         (TopicScore("delivery", 0.9, "negative"),), "test")
    texts = ["the parcel came late", "lovely boots", "refund never arrived", "NEAR the shop, rude staff"]
    mentions = [Mention("shop", f"id{i}", text, now - timedelta(hours=i)) for i, text in enumerate(texts)]
    store.save_batch("shop", mentions, [cls] * len(mentions), cursor="c")
    store.close()

    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        kwargs["factory"] = RecordingConnection
        return real_connect(*args, **kwargs)

    monkeypatch.setattr("sentimon.store.sqlite3.connect", connect)
    RecordingConnection.statements = []
    return config, tmp_path / "s.db", len(texts)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_cli_filters_treat_injection_strings_as_data(payload, queried_db):
    config, db, total = queried_db
    value = f"{payload} {MARKER}"
    runner = CliRunner()
    for args in (
        ["mentions", "--search", value],
        ["mentions", "--search", payload],
    ):
        result = runner.invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, (args, result.output, result.exception)
        assert result.exception is None
    # an unknown source or topic is looked up as a bound value, then refused by name
    for args in (
        ["mentions", "--topic", value, "--format", "json"],
        ["mentions", "--source", value, "--format", "csv"],
        ["stats", "--source", value, "--topic", value, "--by", "topic"],
        ["stats", "--source", value, "--by", "source", "--format", "json"],
    ):
        result = runner.invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 2 and "known:" in result.output, (args, result.output, result.exception)
        assert "Traceback" not in result.output
    # --since is parsed, never passed on: a bad value is a usage error, not SQL
    result = runner.invoke(cli, ["--config", str(config), "mentions", "--since", value])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not any(MARKER in sql for sql in RecordingConnection.statements), \
        [sql for sql in RecordingConnection.statements if MARKER in sql]
    assert RecordingConnection.statements  # the recording saw the queries
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == total
        assert conn.execute("SELECT COUNT(*) FROM mention_topics").fetchone()[0] == total


def test_search_with_fts_syntax_matches_words_only(tmp_path):
    store = Store(tmp_path / "s.db")
    now = datetime.now(timezone.utc)
    cls = Classification("neutral", {"neutral": 1.0}, (), "test")
    texts = ["the parcel came late", "lovely boots", "NEAR the shop", "one or two"]
    store.save_batch("shop", [Mention("shop", str(i), t, now) for i, t in enumerate(texts)], [cls] * 4)

    def found(search: str) -> set[str]:
        return {r["text"] for r in store.mentions(MentionQuery(search=search, limit=100))}

    assert found("NEAR(") == {"NEAR the shop"}
    assert found("late*") == {"the parcel came late"}
    assert found("parcel OR boots") == set()  # OR is a word here, not an operator
    assert found("^late") == {"the parcel came late"}
    assert found('" OR 1=1 --') == set()
    assert found("*") == set() and found('"') == set()
    assert found("'; DROP TABLE mentions; --") == set()
    assert store.counts()["mentions"] == 4
    store.close()


# --- config permissions -------------------------------------------------------------------

def test_world_readable_config_with_secrets_warns(tmp_path, caplog, monkeypatch):
    from sentimon.app import App

    monkeypatch.setenv("FEED_TOKEN", SECRETS["FEED_TOKEN"])
    config = tmp_path / "sentimon.toml"
    config.write_text('[storage]\npath = "s.db"\n[[connectors]]\nname = "f"\ntype = "rss"\n'
                      'url = "https://example.com/feed?key=${FEED_TOKEN}"\n')
    config.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        _ = App(config).config
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("readable by every user" in w and "chmod 600" in w for w in warnings), warnings
    assert_clean("the warning", "\n".join(warnings))
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor", "--format", "json"])
    assert '"config permissions"' in result.output

    config.chmod(0o600)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _ = App(config).config
    assert not [r for r in caplog.records if "readable by every user" in r.getMessage()]

    plain = tmp_path / "plain.toml"
    plain.write_text('[storage]\npath = "s.db"\n')
    plain.chmod(0o644)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _ = App(plain).config
    assert not [r for r in caplog.records if "readable by every user" in r.getMessage()]


def test_a_failed_slack_delivery_stores_no_part_of_the_webhook_url(tmp_path):
    """urllib3 quotes the request path in its errors, and a Slack webhook's path is its secret."""
    import socket

    import alerts
    from alerts.message import test_message
    from alerts.outbox import enqueue
    from sentimon.logs import redactor
    from sentimon.store import Store

    with socket.socket() as probe:  # a port nobody listens on: the delivery fails
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/T0SECRET/B0SECRET/xoxSecretWebhookToken42"
    redactor.add([url])  # what App.config does for every ${ENV} value
    store = Store(tmp_path / "s.db")
    notifiers = alerts.build_notifiers({"slack": alerts.validate_notifier("slack", {"type": "slack", "webhook_url": url})})
    enqueue(store.db, event_id=None, notifier="slack", kind="test", payload=test_message("2026-11-20T10:00:00Z"),
            key="test:slack", now=datetime.now(timezone.utc))
    report = alerts.deliver_pending(store.db, notifiers)
    assert report.retrying == 1
    (error,) = [row[0] for row in store.db.execute("SELECT last_error FROM deliveries").fetchall()]
    assert error and "T0SECRET" not in error and "xoxSecretWebhookToken42" not in error
    assert all("T0SECRET" not in e for e in report.errors)


def test_a_printed_config_shows_no_secret(tmp_path, monkeypatch):
    """A Config in a log line, a traceback's locals or a debugger printed every expanded secret
    through its ``secrets`` set (the push token, a Reddit app's id and secret, a Slack URL)."""
    from sentimon.config import load_config

    values = {"TOK": "tok-" + "s" * 40, "CID": "cid-secret-1", "CSEC": "csec-secret-2",
              "HOOK": "https://hooks.slack.com/services/T0/B0/secret3secret3"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "sentimon.toml"
    path.write_text('[server]\ntoken = "${TOK}"\n\n[[connectors]]\nname = "r"\ntype = "reddit"\n'
                    'client_id = "${CID}"\nclient_secret = "${CSEC}"\nuser_agent = "x by u/y"\n'
                    'query = "brand"\n\n[notifiers.s]\ntype = "slack"\nwebhook_url = "${HOOK}"\n')
    config = load_config(path)
    assert config.secrets >= set(values.values())  # still known, for masking
    printed = repr(config) + str(config)
    assert [v for v in values.values() if v in printed] == []
