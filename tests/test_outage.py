"""Slack and the SMTP relay both down for over an hour while alerts keep opening, replayed in a
second or two: the outbox is driven at the daemon's cadence (deliveries every 30 s, checks every
5 min) with the clock passed in, against a real HTTP server standing in for Slack and a real
aiosmtpd server for email, each first refusing connections and then answering "try later".

What must hold: the outage shows in the log once per notifier (not once per try), the retries
back off but never wait more than ``MAX_RETRY``, so everything goes out within that of the
service's return, each message exactly once, nothing expires, and no secret reaches a log line,
a stored error or the report.
"""

from __future__ import annotations

import itertools
import logging
import re
import socket
from datetime import timedelta
from email import message_from_bytes, policy

import pytest

pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

import alerts  # noqa: E402
from alerts import outbox  # noqa: E402
from localserver import LocalServer, Reply  # noqa: E402
from sentimon.config import DAEMON_SETTINGS  # noqa: E402
from sentimon.store import Store  # noqa: E402
from test_alerts_support import NOW, rule, seed_quiet, seed_spike  # noqa: E402

DEFAULTS = {s.name: s.default for s in DAEMON_SETTINGS}
DELIVER_EVERY: timedelta = DEFAULTS["deliver_every"]  # 30 s
CHECK_EVERY: timedelta = DEFAULTS["check_every"]  # 5 min

SLACK_PATH = "/services/T0OUTAGE/B0OUTAGE/xoxOutageWebhookSecret7"
SMTP_PASSWORD = "Outage-SMTP-pass-913"
SECRETS = ("T0OUTAGE", "B0OUTAGE", "xoxOutageWebhookSecret7", SMTP_PASSWORD)

# minutes after the first alert: what each service does
SLACK_REFUSES_UNTIL, SMTP_REFUSES_UNTIL = 20, 40  # nothing listening: connection refused
BACK_AT = 65  # until then Slack answers 503 and the relay 451 (after a good login)
NEW_RULE_EVERY = 10  # a new alert opens every 10 minutes of the outage
END = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Relay:
    """The aiosmtpd handler: 451 to every recipient while ``busy``, else accepts and keeps mail."""

    def __init__(self) -> None:
        self.busy = True
        self.messages: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.busy:
            return "451 4.3.0 Mail system busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


class Spy:
    """Wraps a real notifier to note the (simulated) time of every delivery attempt."""

    def __init__(self, notifier, tries: list, clock: dict) -> None:
        self.notifier, self.tries, self.clock = notifier, tries, clock

    def send(self, payload, *, key=""):
        self.tries.append(self.clock["now"])
        return self.notifier.send(payload, key=key)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "outage.db")
    seed_quiet(s)
    seed_spike(s)
    yield s
    s.close()


def test_an_hour_long_slack_and_smtp_outage(store, caplog):
    slack_port, smtp_port = free_port(), free_port()
    config = {
        "chat": alerts.validate_notifier("chat", {
            "type": "slack", "webhook_url": f"http://127.0.0.1:{slack_port}{SLACK_PATH}"}),
        "mail": alerts.validate_notifier("mail", {
            "type": "email", "host": "127.0.0.1", "port": smtp_port, "starttls": False, "username": "alerts",
            "password": SMTP_PASSWORD, "from": "alerts@acme.example", "to": ["cx@acme.example"]}),
    }
    relay, logins = Relay(), []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data.password)
        return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode())

    smtp = Controller(relay, hostname="127.0.0.1", port=smtp_port, authenticator=authenticator,
                      auth_require_tls=False)
    slack_state = {"up": False}
    slack_received: list[bytes] = []  # bodies Slack answered "ok" to

    def webhook(request):
        if not slack_state["up"]:
            return Reply(503, "service unavailable", {"Content-Type": "text/plain"})
        slack_received.append(request.body)
        return Reply(200, "ok")


    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.DEBUG, logger="alerts")  # our own records at every level
    clock = {"now": NOW}
    tries: dict[str, list] = {"chat": [], "mail": []}
    rules: list[dict] = []
    stored_errors: list[str] = []
    report_errors: list[str] = []
    sent_at: dict[str, list] = {"chat": [], "mail": []}
    slack = None  # created when it comes up: a bound socket nobody serves would hang, not refuse
    smtp_started = False
    try:
        step = 0
        while step * DELIVER_EVERY <= timedelta(minutes=END):
            now = clock["now"] = NOW + step * DELIVER_EVERY
            minutes = (now - NOW).total_seconds() / 60
            if minutes >= SLACK_REFUSES_UNTIL and slack is None:
                slack = LocalServer(slack_port)
                slack.add(SLACK_PATH, webhook, method="POST")
                slack.__enter__()
            if minutes >= SMTP_REFUSES_UNTIL and not smtp_started:
                smtp.start()
                smtp_started = True
            slack_state["up"] = minutes >= BACK_AT
            relay.busy = not slack_state["up"]
            if step % round(CHECK_EVERY / DELIVER_EVERY) == 0:  # the daemon's alert check
                if minutes < BACK_AT and minutes % NEW_RULE_EVERY == 0:
                    rules.append(rule(name=f"outage spike {len(rules) + 1}", notify=["chat", "mail"]))
                alerts.check(store.db, rules, now=now, reader=store)
            # the daemon builds its notifiers for every delivery pass
            notifiers = {name: Spy(n, tries[name], clock) for name, n in alerts.build_notifiers(config).items()}
            report = alerts.deliver_pending(store.db, notifiers, now=now)
            report_errors += report.errors
            for name, count in store.db.execute(
                    "SELECT notifier, COUNT(*) FROM deliveries WHERE sent_at = ? GROUP BY notifier", [_t(now)]):
                sent_at[name] += [now] * count
            stored_errors += [r[0] for r in store.db.execute(
                "SELECT last_error FROM deliveries WHERE last_error IS NOT NULL")]
            step += 1
    finally:
        if slack is not None:
            slack.__exit__(None, None, None)
        if smtp_started:
            smtp.stop()

    alerts_opened = len(rules)
    assert alerts_opened == 7  # minute 0, 10, ... 60: alerts kept opening all through the outage
    back = NOW + timedelta(minutes=BACK_AT)

    # every message delivered, exactly once, nothing expired; none before the services returned
    rows = list(store.db.query("SELECT key, notifier, status, attempts, created_at, sent_at FROM deliveries"))
    assert len(rows) == 2 * alerts_opened
    assert {r["status"] for r in rows} == {"sent"}, rows
    assert sorted(_rule_of(body) for body in slack_received) == sorted(r["name"] for r in rules)  # each once
    keys = [message_from_bytes(raw, policy=policy.default)["X-Sentimon-Delivery"] for raw in relay.messages]
    assert sorted(keys) == sorted(r["key"] for r in rows if r["notifier"] == "mail")  # each mail once
    assert len(set(keys)) == alerts_opened
    assert all(min(sent_at[name]) >= back for name in sent_at)
    assert len(sent_at["chat"]) == len(sent_at["mail"]) == alerts_opened
    # ... and promptly: all within the backoff cap (plus one delivery pass) of the return
    assert all(max(sent_at[name]) <= back + outbox.MAX_RETRY + DELIVER_EVERY for name in sent_at), sent_at
    assert outbox.EXPIRE_AFTER >= timedelta(hours=24)  # an alert outlives an hour-long outage by far

    # backoff: not one try per alert per pass (7 alerts x 130 passes), growing, capped
    for name, times in tries.items():
        during = [t for t in times if t < back]
        assert len(during) <= 45, (name, len(during))
        gaps = sorted({b - a for a, b in itertools.pairwise(during) if b > a})
        assert gaps[0] <= timedelta(seconds=30) and gaps[-1] >= timedelta(minutes=4), (name, gaps)
        assert gaps[-1] <= outbox.MAX_RETRY + DELIVER_EVERY, (name, gaps)
        # at most two tries per pass for a notifier that is down
        assert max(during.count(t) for t in set(during)) <= outbox.DOWN_AFTER
    assert logins and all(p == SMTP_PASSWORD.encode() for p in logins)  # it logged in while the relay said 451

    # the log: one warning per notifier for the whole outage, one line when it recovers, no traceback
    ours = [r for r in caplog.records if r.name == "alerts.outbox"]
    loud = [r for r in ours if r.levelno >= logging.WARNING]
    assert sorted(r.getMessage().split(" is failing")[0] for r in loud) == ["notifier chat", "notifier mail"], \
        [r.getMessage() for r in loud]
    assert all(r.levelno == logging.WARNING and not (r.exc_info or r.exc_text) for r in loud)
    chat_warning = next(r.getMessage() for r in loud if "notifier chat" in r.getMessage())
    assert "slack chat: cannot connect (" in chat_warning and "Connection refused" in chat_warning, chat_warning
    assert "7 notifications" not in chat_warning and "1 notification kept in the outbox" in chat_warning
    recovered = [r.getMessage() for r in ours if "delivers again" in r.getMessage()]
    assert len(recovered) == 2
    assert all(r.levelno == logging.INFO for r in ours if "delivers again" in r.getMessage())
    assert all(re.search(r"delivers again after (6[5-9]|70) min", m) for m in recovered), recovered
    assert "Traceback" not in caplog.text
    debug = [r for r in ours if r.levelno == logging.DEBUG and "failed (attempt" in r.getMessage()]
    assert len(debug) >= 10  # the detail of each try is there for -v, just not at WARNING

    # secrets: in no log record (ours at every level), stored error, or report
    everything = "\n".join([caplog.text, *(r.getMessage() for r in caplog.records),
                            *stored_errors, *report_errors])
    assert stored_errors and report_errors
    assert any("503" in e for e in stored_errors) and any("451" in e for e in stored_errors)
    for secret in SECRETS:
        assert secret not in everything, secret

    # once recovered, later passes send nothing again
    again = alerts.deliver_pending(store.db, alerts.build_notifiers(config), now=NOW + timedelta(hours=3))
    assert (again.sent, again.retrying, again.expired) == (0, 0, 0)


def test_a_notifier_that_crashes_on_every_try_logs_one_traceback(store, caplog):
    """A bug in a notifier is an outage too: its traceback once, then DEBUG, then one line
    when it works again; the alert is kept and sent."""
    state = {"broken": True}

    class Buggy:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def send(self, payload, *, key=""):
            if state["broken"]:
                raise KeyError("blocks")
            self.sent.append(key)

    caplog.set_level(logging.DEBUG, logger="alerts")
    alerts.check(store.db, [rule(notify=["buggy"])], now=NOW, reader=store)
    buggy = Buggy()
    notifiers = {"buggy": buggy}
    for step in range(int(timedelta(minutes=70) / DELIVER_EVERY)):
        state["broken"] = step * DELIVER_EVERY < timedelta(minutes=60)
        alerts.deliver_pending(store.db, notifiers, now=NOW + step * DELIVER_EVERY)
    ours = [r for r in caplog.records if r.name == "alerts.outbox"]
    tracebacks = [r for r in ours if r.exc_info or r.exc_text]  # (the log redactor moves exc_info to exc_text)
    assert len(tracebacks) == 1 and tracebacks[0].levelno == logging.ERROR
    assert "notifier buggy is failing: KeyError" in tracebacks[0].getMessage()
    assert len([r for r in ours if r.levelno >= logging.WARNING]) == 1
    assert [r.levelno for r in ours if "delivers again" in r.getMessage()] == [logging.INFO]
    assert buggy.sent == ["1:buggy:opened"]


def _t(moment) -> str:
    from sentimon.store import to_db_time

    return to_db_time(moment)


def _rule_of(body: bytes) -> str:
    import json

    footer = json.loads(body)["blocks"][-1]["elements"][0]["text"]
    return footer.split("rule ", 1)[1].split(" · ")[0]
