"""Issue 13, item 10: ``sentimon doctor`` checks what it can only check live, through the real CLI:
each notifier by a dry connection to a real local server (an SMTP conversation up to login and
QUIT, a TCP connection to the webhook's host) with no message delivered; the push endpoint's
token and port; whether a daemon holds the database's lock. Failures are one line each, and
no secret reaches the output.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from cli_support import run
from localserver import LocalServer, Reply

from sentimon.store import Store

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402
from test_alerts_support import SMTP_PASSWORD as PASSWORD  # what conftest's `smtp` server accepts
from test_alerts_support import Inbox, free_port, local_smtp  # noqa: E402

# The fixtures keyword_model, certificate and smtp are in conftest.py.
TOKEN = "push-token-0123456789abcdefghij"


def doctor(tmp_path, text: str, env: dict[str, str] | None = None):
    """(exit code, rows by name, plain output) of doctor on a config of ``text``."""
    config = tmp_path / "sentimon.toml"
    config.write_text(text)
    config.chmod(0o600)
    Store(tmp_path / "sentimon.db").close()  # as `sentimon init` leaves it
    plain = run("doctor", config=config, env=env)
    rows = json.loads(run("doctor", "--format", "json", config=config, env=env).output)
    return plain.exit_code, {r["name"]: r for r in rows}, plain.output


def mail(port: int, **extra: object) -> str:
    lines = [f"{k} = {json.dumps(v)}" for k, v in {
        "type": "email", "host": "127.0.0.1", "port": port, "starttls": False,
        "from": "alerts@acme.example", "to": "cx@acme.example", **extra}.items()]
    return "[notifiers.mail]\n" + "\n".join(lines) + "\n"


# --- notifiers -------------------------------------------------------------------------------


def test_email_is_checked_by_login_and_quit_and_nothing_is_sent(tmp_path, smtp, keyword_model):
    code, rows, output = doctor(tmp_path, mail(smtp.port, username="cx", password="${T13_SMTP_PW}"),
                                env={"T13_SMTP_PW": PASSWORD})
    assert code == 0, output
    assert rows["notifier mail"]["status"] == "ok"
    assert "logged in as cx" in rows["notifier mail"]["detail"] and "nothing sent" in rows["notifier mail"]["detail"]
    assert smtp.logins == [(b"cx", PASSWORD.encode())] * 2  # one real conversation per doctor run
    assert smtp.messages == [] and PASSWORD not in output


def test_a_refused_smtp_login_is_one_line_without_the_password(tmp_path, keyword_model):
    inbox = Inbox()
    refuse = lambda *args: AuthResult(success=False, handled=False)  # noqa: E731  (so it answers 535)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=refuse,
                            auth_require_tls=False)
    controller.start()
    try:
        code, rows, output = doctor(tmp_path, mail(controller.port, username="cx", password="${T13_SMTP_PW}"),
                                    env={"T13_SMTP_PW": "wrong-password-42"})
    finally:
        controller.stop()
    assert code == 1
    line = next(x for x in output.splitlines() if x.startswith("[FAIL] notifier mail"))
    assert "535" in line and "127.0.0.1" in line and "wrong-password-42" not in output
    assert inbox.messages == []


def test_email_with_starttls_is_upgraded_before_login(tmp_path, certificate, keyword_model):
    inbox = Inbox()  # login is only allowed after STARTTLS here
    controller = local_smtp(inbox, tls_cert=certificate)
    try:
        code, rows, output = doctor(tmp_path, mail(inbox.port, starttls=True, username="cx",
                                                   password=PASSWORD, cafile=str(certificate[0])))
    finally:
        controller.stop()
    assert code == 0, output
    assert "STARTTLS" in rows["notifier mail"]["detail"] and [login for login, _ in inbox.logins] == [b"cx", b"cx"]
    assert inbox.messages == []


def test_slack_and_webhook_are_reached_without_a_request(tmp_path, keyword_model):
    with LocalServer() as server:
        server.add("/services/T0/B0/hooksecret", Reply(200, "ok"), method="POST")
        server.add("/hook", Reply(200), method="POST")
        code, rows, output = doctor(tmp_path, (
            f'[notifiers.slack]\ntype = "slack"\nwebhook_url = "{server.url}/services/T0/B0/hooksecret"\n'
            f'[notifiers.bridge]\ntype = "webhook"\nurl = "{server.url}/hook?key=urlsecret"\n'))
        time.sleep(0.1)  # a request would have been recorded by now
        assert server.requests == []  # not even a GET: nothing a receiver could take for a message
    assert code == 0, output
    assert rows["notifier slack"]["status"] == "ok" and rows["notifier bridge"]["status"] == "ok"
    assert "127.0.0.1" in rows["notifier slack"]["detail"] and "nothing sent" in rows["notifier slack"]["detail"]
    assert "hooksecret" not in output and "urlsecret" not in output


def test_an_unreachable_notifier_fails_in_one_line_and_the_others_are_still_checked(tmp_path, keyword_model):
    port = free_port()  # nothing listens there
    code, rows, output = doctor(tmp_path, (
        f'[notifiers.bridge]\ntype = "webhook"\nurl = "http://127.0.0.1:{port}/hook"\n'
        '[notifiers.console]\ntype = "console"\n'))
    assert code == 1
    assert rows["notifier bridge"]["status"] == "fail"
    assert f"cannot connect to 127.0.0.1:{port}" in rows["notifier bridge"]["detail"]
    assert "\n" not in rows["notifier bridge"]["detail"] and "Traceback" not in output
    assert rows["notifier console"]["status"] == "ok"
    assert "[ok  ] model" in output  # the checks after it ran


def test_an_https_webhook_with_an_untrusted_certificate_fails_before_any_request(tmp_path, certificate,
                                                                                keyword_model):
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with LocalServer() as server:  # a real HTTPS server with a certificate no system trusts
        server._httpd.socket = context.wrap_socket(server._httpd.socket, server_side=True)
        port = server.url.rsplit(":", 1)[1]
        code, rows, output = doctor(tmp_path, f'[notifiers.bridge]\ntype = "webhook"\n'
                                              f'url = "https://127.0.0.1:{port}/hook"\n')
        assert server.requests == []
    assert code == 1
    detail = rows["notifier bridge"]["detail"]
    assert detail.startswith(f"TLS with 127.0.0.1:{port} failed") and "CERTIFICATE_VERIFY_FAILED" in detail


# --- push endpoint ---------------------------------------------------------------------------


def server_section(port: int, token: str = "${T13_PUSH_TOKEN}", enabled: bool = True) -> str:
    return f'[server]\nenabled = {str(enabled).lower()}\nport = {port}\ntoken = "{token}"\n'


def test_push_endpoint_with_its_token_and_a_free_port_is_ok(tmp_path, keyword_model):
    port = free_port()
    code, rows, output = doctor(tmp_path, server_section(port), env={"T13_PUSH_TOKEN": TOKEN})
    assert code == 0, output
    assert rows["push endpoint"]["status"] == "ok"
    assert f"127.0.0.1:{port}" in rows["push endpoint"]["detail"] and TOKEN not in output
    assert f"{len(TOKEN)} characters" in rows["push endpoint"]["detail"]


def test_push_endpoint_without_its_token_variable_says_so(tmp_path, keyword_model, monkeypatch):
    monkeypatch.delenv("T13_PUSH_TOKEN", raising=False)
    code, rows, output = doctor(tmp_path, server_section(free_port()))
    assert code == 1
    assert "T13_PUSH_TOKEN" in rows["environment"]["detail"]
    assert rows["push endpoint"]["status"] == "fail" and "token" in rows["push endpoint"]["detail"]


def test_a_short_token_fails(tmp_path, keyword_model):
    code, rows, _ = doctor(tmp_path, server_section(free_port()), env={"T13_PUSH_TOKEN": "short"})
    assert code == 1 and "5 characters" in rows["push endpoint"]["detail"]
    assert "short" not in rows["push endpoint"]["detail"]


def test_a_port_held_by_another_program_fails(tmp_path, keyword_model):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        code, rows, _ = doctor(tmp_path, server_section(port), env={"T13_PUSH_TOKEN": TOKEN})
    assert code == 1 and rows["push endpoint"]["status"] == "fail"
    assert f"port {port}" in rows["push endpoint"]["detail"] and "in use" in rows["push endpoint"]["detail"]


def test_the_push_endpoint_is_not_checked_when_it_is_not_configured(tmp_path, keyword_model):
    code, rows, _ = doctor(tmp_path, "")
    assert code == 0 and rows["push endpoint"]["status"] == "ok"
    assert "not enabled" in rows["push endpoint"]["detail"]


# --- the daemon lock -------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from sentimon.daemon import DaemonLock
lock = DaemonLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(3600)  # until the fixture kills it: the lock must outlast any test, however slow
"""


@pytest.fixture
def daemon_holding(tmp_path):
    """A real second process holding the database's daemon lock, as `sentimon run` does."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path / "sentimon.db")],
                            stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait()


def test_doctor_says_no_daemon_is_running_and_creates_no_lock_file(tmp_path, keyword_model):
    code, rows, _ = doctor(tmp_path, "")
    assert rows["daemon"] == {"name": "daemon", "status": "ok", "detail": "no daemon running"}
    assert not (tmp_path / "sentimon.db.lock").exists()


def test_doctor_names_the_daemon_holding_the_lock(tmp_path, daemon_holding, keyword_model):
    code, rows, _ = doctor(tmp_path, "")
    assert rows["daemon"]["status"] == "ok"
    assert rows["daemon"]["detail"].startswith(f"daemon running (pid {daemon_holding.pid})")


def test_a_port_held_by_our_own_daemon_is_ok(tmp_path, daemon_holding, keyword_model, monkeypatch):
    """The daemon's push endpoint answers /healthz on the port: that is ours, not a clash."""
    monkeypatch.setenv("T13_PUSH_TOKEN", TOKEN)
    config = tmp_path / "sentimon.toml"
    config.write_text(server_section(0))
    config.chmod(0o600)
    from sentimon.app import App
    from sentimon.push import start_push_server

    endpoint = start_push_server(App(config))
    try:
        port = endpoint.server_address[1]
        code, rows, output = doctor(tmp_path, server_section(port))
    finally:
        endpoint.shutdown()
    assert code == 0, output
    assert rows["push endpoint"]["status"] == "ok"
    assert f"pid {daemon_holding.pid}" in rows["push endpoint"]["detail"]
