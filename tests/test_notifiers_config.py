"""Notifier tables and apprise-style URLs, table-driven: each row a table and its outcome."""

from __future__ import annotations

import pytest

import alerts
from sentimon.logs import redactor
from sentimon.settings import SettingError

GOOD = [
    ({"type": "console"}, {"type": "console"}),
    ({"type": "slack", "webhook_url": "https://hooks.slack.com/services/T1/B2/abc"},
     {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T1/B2/abc",
      "display": "https://hooks.slack.com/***"}),
    ({"url": "slack://T1/B2/abc"}, {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T1/B2/abc"}),
    ({"url": "https://hooks.slack.com/services/T1/B2/abc"}, {"type": "slack"}),
    ({"url": "mailto://cx:pw%40x@smtp.example.com:587?to=a@b.c,d@e.f"},
     {"type": "email", "host": "smtp.example.com", "port": 587, "starttls": True, "ssl": False,
      "username": "cx", "password": "pw@x", "to": ["a@b.c", "d@e.f"]}),
    ({"url": "mailtos://cx:pw@smtp.example.com?to=a@b.c&from=alerts@acme.example"},
     {"type": "email", "port": 465, "ssl": True, "starttls": False, "from": "alerts@acme.example"}),
    ({"url": "mailto://localhost:25?to=a@b.c"}, {"type": "email", "port": 25, "starttls": False}),
    ({"url": "jsons://bridge.example/hook?secret=s3cr3t-value"},
     {"type": "webhook", "url": "https://bridge.example/hook", "secret": "s3cr3t-value"}),
    ({"url": "console://"}, {"type": "console"}),
    ({"type": "email", "host": "smtp.example.com", "from": "a@b.c", "to": "d@e.f"}, {"to": ["d@e.f"]}),
]


@pytest.mark.parametrize("table, expected", GOOD, ids=[str(g[0])[:60] for g in GOOD])
def test_good_tables_and_urls(table, expected):
    options = alerts.validate_notifier("n", table)
    for key, value in expected.items():
        assert options[key] == value, key


BAD = [
    ({"type": "carrier-pigeon"}, "notifiers.n", "available: console, email, slack, webhook"),
    ({}, "notifiers.n", "unknown notifier type None"),
    ({"type": "slack"}, "notifiers.n.webhook_url", "missing"),
    ({"type": "slack", "webhook_url": "hooks.slack.com/x"}, "notifiers.n.webhook_url", "https://"),
    ({"url": "slack://only/two"}, "notifiers.n.url", "TOKEN_A/TOKEN_B/TOKEN_C"),
    ({"url": "pigeon://coop"}, "notifiers.n.url", "known: console://"),
    ({"url": "mailto://smtp.example.com"}, "notifiers.n.url", "?to=address"),
    ({"url": "slack://a/b/c", "channel": "x"}, "notifiers.n.channel", "beside url"),
    ({"type": "email", "host": "h", "from": "a@b.c", "to": "not-an-address"}, "notifiers.n.to", "email addresses"),
    ({"type": "webhook", "url": "ftp://x"}, "notifiers.n.url", "http:// or https://"),
    ({"type": "console", "colour": "red"}, "notifiers.n.colour", "unknown key"),
]


@pytest.mark.parametrize("table, key, message", BAD, ids=[str(b[0])[:60] for b in BAD])
def test_bad_tables_and_urls_name_the_key(table, key, message):
    with pytest.raises(SettingError) as info:
        alerts.validate_notifier("n", table)
    assert info.value.key == key and message in str(info.value)


def test_secrets_from_urls_are_masked_in_logs():
    alerts.validate_notifier("n", {"url": "mailto://cx:very-secret-pw@smtp.example.com:587?to=a@b.c"})
    assert "very-secret-pw" not in redactor.redact("login with very-secret-pw failed")
