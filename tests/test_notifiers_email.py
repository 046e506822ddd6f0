"""Email through a real SMTP server in the test process (aiosmtpd on 127.0.0.1): the MIME
structure, headers with nothing from a mention in them, escaping, the inline PNG, login."""

from __future__ import annotations

import struct
import zlib
from email import message_from_bytes, policy

import pytest

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402

import alerts  # noqa: E402
from alerts.chart import share_chart  # noqa: E402
from alerts.smtp import header_safe  # noqa: E402
from sentimon.errors import NotifyError  # noqa: E402
from sentimon.settings import SettingError  # noqa: E402
from test_alerts_support import (  # noqa: E402
    NOW,
    SMTP_PASSWORD,
    Inbox,
    Recorder,
    alert_rule,
    checked_notifiers,
    free_port,
    local_smtp,
    rule,
)


@pytest.fixture
def store(alert_store):
    return alert_store("mail.db")


def mailer(port: int, **extra):
    return checked_notifiers(mail={"type": "email", "host": "127.0.0.1", "port": port, "starttls": False,
                                   "from": "alerts@acme.example",
                                   "to": ["cx@acme.example", "lead@acme.example"], **extra})


def test_alert_email_has_plain_html_and_inline_chart(smtp, store):
    alerts.check(store.db, [rule(name="negative spike\r\nBcc: evil@attacker.example", notify=["mail"])], now=NOW,
                 reader=store)
    report = alerts.deliver_pending(store.db, mailer(smtp.port), now=NOW)
    assert report.sent == 1, report.errors
    [(envelope, raw)] = smtp.messages
    assert sorted(envelope.rcpt_tos) == ["cx@acme.example", "lead@acme.example"]
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None and "evil@attacker.example" not in envelope.rcpt_tos
    subject = msg["Subject"]
    assert subject.startswith("[sentimon] negative spike") and "were negative" in subject
    assert "\n" not in subject and "\r" not in subject
    for name, value in msg.items():  # nothing from a mention reaches a header
        assert "tracking" not in str(value) and "parcel" not in str(value) and "<!channel>" not in str(value)

    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.get_payload()
    assert plain.get_content_type() == "text/plain" and related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html" and image.get_content_type() == "image/png"
    assert image["Content-ID"] == "<chart>"

    text = plain.get_content()
    assert "tracking never updated" in text and "https://social.example/p/" in text
    page = html_part.get_content()
    assert 'src="cid:chart"' in page
    assert "&lt;!channel&gt;" in page and "<!channel>" not in page
    assert "&lt;http://evil.example|click here&gt;" in page and '<a href="http://evil' not in page
    assert '<a href="https://social.example/p/' in page

    png = image.get_payload(decode=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (480, 160)


def test_login_when_configured(smtp, store):
    alerts.check(store.db, [rule(notify=["mail"])], now=NOW, reader=store)
    report = alerts.deliver_pending(store.db, mailer(smtp.port, username="cx", password="hunter2-secret"), now=NOW)
    assert report.sent == 1 and smtp.logins == [(b"cx", b"hunter2-secret")]


def test_wrong_password_is_permanent(smtp, monkeypatch):
    import smtplib

    def refuse(self, user, password, **kw):
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")

    monkeypatch.setattr(smtplib.SMTP, "login", refuse)
    [sender] = mailer(smtp.port, username="cx", password="wrong-password").values()
    with pytest.raises(NotifyError) as info:
        sender.send(alerts_test_payload())
    assert info.value.permanent and "535" in str(info.value) and "wrong-password" not in str(info.value)


def test_server_down_is_retried(store):
    alerts.check(store.db, [rule(notify=["mail"])], now=NOW, reader=store)
    report = alerts.deliver_pending(store.db, mailer(free_port()), now=NOW)
    assert report.retrying == 1 and report.sent == 0


class Greylisting(Inbox):
    """Answers every recipient with ``code`` the first ``times`` times, then accepts."""

    def __init__(self, code: str, times: int) -> None:
        super().__init__()
        self.code, self.times = code, times

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.times > 0:
            self.times -= 1
            return self.code
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.mark.parametrize("code, outcome", [
    ("450 4.2.0 Greylisted, try again in 30 seconds", "sent"),
    ("451 4.3.0 Mail system busy", "sent"),
    ("550 5.1.1 No such user", "expired"),
])
def test_a_temporary_smtp_refusal_is_retried_a_final_one_is_not(store, code, outcome):
    from datetime import timedelta

    inbox = Greylisting(code, times=2)  # refuse both recipients once
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        alerts.check(store.db, [rule(notify=["mail"])], now=NOW, reader=store)
        notifiers = mailer(controller.port)
        first = alerts.deliver_pending(store.db, notifiers, now=NOW)
        later = alerts.deliver_pending(store.db, notifiers, now=NOW + timedelta(minutes=1))
    finally:
        controller.stop()
    status = store.db.execute("SELECT status FROM deliveries").fetchone()[0]
    assert status == outcome and code.split()[0] in first.errors[0]
    assert (first.retrying, later.sent) == ((1, 1) if outcome == "sent" else (0, 0))
    assert len(inbox.messages) == (1 if outcome == "sent" else 0)


def test_password_never_crosses_the_network_in_plain_text():
    with pytest.raises(SettingError) as info:
        alerts.validate_notifier("m", {"type": "email", "host": "smtp.example.com", "starttls": False,
                                       "username": "u", "password": "p", "from": "a@b.c", "to": "d@e.f"})
    assert info.value.key == "notifiers.m.starttls"


def test_ports_follow_the_security_mode():
    base = {"type": "email", "host": "smtp.example.com", "from": "a@b.c", "to": "d@e.f"}
    assert alerts.validate_notifier("m", base)["port"] == 587
    assert alerts.validate_notifier("m", {**base, "ssl": True})["port"] == 465
    assert alerts.validate_notifier("m", {**base, "starttls": False})["port"] == 25


def test_header_safe_strips_line_breaks_and_controls():
    assert header_safe("a\r\nBcc: x\x00\u2028y") == "a Bcc: x y"


def test_chart_is_a_valid_png_for_empty_and_busy_series():
    for series in ([], [{"n": 0, "negative": 0}] * 48, [{"n": 10, "negative": i % 10} for i in range(48)]):
        png = share_chart(series, 0.15)
        assert png[12:16] == b"IHDR"
        idat = png.index(b"IDAT")
        length = struct.unpack(">I", png[idat - 4:idat])[0]
        raw = zlib.decompress(png[idat + 4: idat + 4 + length])
        assert len(raw) == 160 * (1 + 480 * 3)


def alerts_test_payload():
    from alerts.message import test_message

    return test_message("2026-12-01T12:00:00Z")


def test_same_alert_reaches_slack_and_email_from_the_cli(smtp, alerts_cli):
    """The issue's "done when": one config pointing at Slack and SMTP delivers the alert to both,
    once; checking again sends nothing new; `alerts test` reaches each notifier."""
    with Recorder() as slack_server:
        sentimon = alerts_cli("both.db", rules=alert_rule(notify=("slack", "mail")), notifiers={
            "slack": f'type = "slack"\nwebhook_url = "{slack_server.url}"',
            "mail": f'url = "mailto://127.0.0.1:{smtp.port}?to=cx@acme.example&from=alerts@acme.example&starttls=no"',
        })
        first = sentimon("check")
        assert first.exit_code == 0, first.output
        assert "delivered 2" in first.output
        again = sentimon("check")
        assert "delivered 0" in again.output
        assert len(slack_server.requests) == 1 and len(smtp.messages) == 1
        slack_title = slack_server.json()["blocks"][0]["text"]["text"]
        mail = message_from_bytes(smtp.messages[0][1], policy=policy.default)
        assert slack_title in mail["Subject"]
        for name in ("slack", "mail"):
            result = sentimon("test", name)
            assert result.exit_code == 0, result.output
        assert len(slack_server.requests) == 2 and len(smtp.messages) == 2
        assert "TEST" in slack_server.json()["text"]


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_modes_with_login_against_a_real_tls_server(certificate, mode):
    inbox = Inbox()  # with starttls, login is only allowed after STARTTLS (require_starttls)
    controller = local_smtp(inbox, tls_cert=certificate, implicit_tls=mode == "ssl")
    try:
        table = {"type": "email", "host": "127.0.0.1", "port": inbox.port, "starttls": mode == "starttls",
                 "ssl": mode == "ssl", "username": "cx", "password": SMTP_PASSWORD, "cafile": str(certificate[0]),
                 "from": "alerts@acme.example", "to": "cx@acme.example"}
        [sender] = checked_notifiers(m=table).values()
        sender.send(alerts_test_payload())
    finally:
        controller.stop()
    assert [login for login, _ in inbox.logins] == [b"cx"] and len(inbox.messages) == 1


def test_untrusted_certificate_is_refused(certificate):
    inbox = Inbox()
    controller = local_smtp(inbox, tls_cert=certificate)
    try:
        [sender] = mailer(inbox.port, starttls=True).values()  # no cafile: the system store
        with pytest.raises(NotifyError) as info:
            sender.send(alerts_test_payload())
    finally:
        controller.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value) or "certificate" in str(info.value).lower()
