"""Email over SMTP: multipart plain text + HTML with an inline PNG chart (by Content-ID).

Header safety: the Subject is built from the rule name and numbers only (no mention text
ever reaches a header), and every header value has CR, LF and other control characters
removed, so nothing can inject a Bcc. In the HTML every mention string is ``html.escape``d
and links are http(s) only. STARTTLS (587), implicit TLS (465) or plain for a local relay;
a password is refused over an unencrypted connection to anything but localhost.
"""

from __future__ import annotations

import html
import re
import smtplib
from contextlib import contextmanager
import ssl as ssl_module
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from alerts.message import ack_hint, driver_lines, phrase_lines
from alerts.notifier_base import PROBE_TIMEOUT, Notifier, NotifierOptions
from alerts.chart import share_chart
from sentimon.errors import NotifyError
from sentimon.settings import SettingError, setting

TIMEOUT = 30.0
CHART_CID = "chart"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_LOCAL = ("localhost", "127.0.0.1", "::1")


def header_safe(value: str, limit: int = 200) -> str:
    """One line, no control characters, bounded: what may go into a header."""
    value = " ".join(_CONTROL.sub(" ", str(value)).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _href(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("https://", "http://")) else None


def plain_body(payload: dict[str, Any]) -> str:
    from alerts.console import render

    return render(payload) + "\n\n-- \nsent by sentimon\n"


def html_body(payload: dict[str, Any], chart: bool) -> str:
    parts = [f"<h2 style=\"margin:0 0 8px\">{_esc(payload['title'])}</h2>",
             "<p>" + "<br>".join(_esc(line) for line in payload.get("summary", [])) + "</p>"]
    if chart:
        base = float(payload.get("numbers", {}).get("baseline_share") or 0.0)
        parts.append(f'<p><img src="cid:{CHART_CID}" alt="hourly negative share against the '
                     'baseline (dashed)" width="480" height="160"><br><small style="color:#777">'
                     f"Negative share per hour, oldest left; dashed line: baseline {base:.0%}; "
                     "red: at least twice the baseline.</small></p>")
    sections = [("Topics driving it", driver_lines(payload)), ("Unusually frequent phrases", phrase_lines(payload))]
    sections += [(s["heading"], s["lines"]) for s in payload.get("sections", [])]
    for heading, lines in sections:
        if lines:
            parts.append(f"<h3>{_esc(heading)}</h3><ul>" + "".join(f"<li>{_esc(x)}</li>" for x in lines) + "</ul>")
    examples = payload.get("examples", [])
    if examples:
        parts.append("<h3>Examples (most negative first)</h3>")
    for ex in examples:
        label = _esc(f"{ex.get('source')} · {str(ex.get('created_at', ''))[:16].replace('T', ' ')}")
        url = _href(ex.get("url"))
        head = f'<a href="{_esc(url)}">{label}</a>' if url else label
        reply = _href(ex.get("reply_url"))
        head += f' · <a href="{_esc(reply)}">reply</a>' if reply else ""
        title = f"<b>{_esc(ex['title'])}</b><br>" if ex.get("title") else ""
        parts.append(f'<blockquote style="border-left:3px solid #c33;margin:8px 0;padding-left:8px">'
                     f"{head}<br>{title}{_esc(ex.get('text'))}</blockquote>")
    if payload.get("event_id") is not None:
        parts.append(f"<p style=\"color:#777\">{_esc(ack_hint(int(payload['event_id'])))} · sentimon</p>")
    return "<!doctype html><html><body style=\"font-family:sans-serif\">" + "".join(parts) + "</body></html>"


def build_message(payload: dict[str, Any], sender: str, recipients: list[str], key: str = "") -> EmailMessage:
    """The MIME message: alternative(plain, related(html, png))."""
    msg = EmailMessage()
    msg["Subject"] = header_safe(f"[sentimon] {payload['title']}")
    msg["From"] = header_safe(sender)
    msg["To"] = ", ".join(header_safe(r) for r in recipients)
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain=header_safe(sender.rpartition("@")[2] or "sentimon", 100) or None)
    if payload.get("event_id") is not None:
        msg["X-Sentimon-Event"] = header_safe(str(payload["event_id"]))
    if key:
        msg["X-Sentimon-Delivery"] = header_safe(key)
    series = payload.get("series") or []
    msg.set_content(plain_body(payload))
    msg.add_alternative(html_body(payload, chart=bool(series)), subtype="html")
    if series:
        baseline = float(payload.get("numbers", {}).get("baseline_share") or 0.0)
        html_part = list(msg.iter_parts())[1]  # alternative(plain, html): the html part
        html_part.add_related(share_chart(series, baseline), maintype="image", subtype="png",
                              cid=f"<{CHART_CID}>", filename="chart.png", disposition="inline")
    return msg


@dataclass(frozen=True, kw_only=True)
class EmailOptions(NotifierOptions):
    """Settings of `email` notifiers."""

    type: str = setting("str", help='"email".')
    host: str = setting("str", help="SMTP server.")
    port: int = setting("int", 0, help="0 picks 465 with ssl, 587 with starttls, else 25.")
    starttls: bool = setting("bool", True, help="Upgrade with STARTTLS (port 587).")
    ssl: bool = setting("bool", False, help="Implicit TLS from the first byte (port 465).")
    username: str = setting("str", "", help="Login name; empty skips login (local relays).")
    password: str = setting("str", "", help='"${SMTP_PASSWORD}".', secret=True)
    sender: str = setting("str", help="Sender address.", key="from")
    to: list[str] = setting("str|list[str]", help="Recipient address or list of addresses.")
    timeout: float = setting("float", TIMEOUT, help="Seconds before giving up on the server.")
    cafile: str = setting(
        "str", "",
        help="PEM file of CA certificates to trust (an internal relay's "
            "CA); empty uses the system's.",
    )


class EmailNotifier(Notifier):
    type = "email"
    schemes = ("mailto", "mailtos")
    Options = EmailOptions
    options: EmailOptions

    @classmethod
    def check(cls, options: EmailOptions, where: str) -> EmailOptions:
        o = options
        starttls = o.starttls and not o.ssl  # within implicit TLS, STARTTLS is meaningless
        port = o.port or (465 if o.ssl else 587 if starttls else 25)
        for key, text in (("from", o.sender), ("host", o.host)):
            if _CONTROL.search(text) or not text.strip():
                raise SettingError(f"{where}.{key}", "expected one line of text")
        for address in [o.sender, *o.to]:
            if "@" not in address or _CONTROL.search(address):
                raise SettingError(f"{where}.to", f"expected email addresses, got {address!r}")
        if o.password and not (o.ssl or starttls) and o.host not in _LOCAL:
            raise SettingError(f"{where}.starttls", "a password would cross the network unencrypted; "
                               "set starttls = true or ssl = true")
        cafile = o.cafile
        if cafile:
            from pathlib import Path

            if not Path(cafile).expanduser().is_file():
                raise SettingError(f"{where}.cafile", f"no such file: {cafile}")
            cafile = str(Path(cafile).expanduser())
        return replace(o, starttls=starttls, port=port, cafile=cafile,
                       display=f"smtp://{o.host}:{port} -> {', '.join(o.to)}")

    @classmethod
    def from_url(cls, url: str, where: str) -> dict[str, Any]:
        """``mailto://user:pass@host:587?to=a@b,c@d&from=x@y``; ``mailtos://`` means TLS."""
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not parts.hostname:
            raise SettingError(f"{where}.url", "expected mailto://user:pass@host:port?to=address")
        port = parts.port or 0
        secure = parts.scheme == "mailtos"
        user = unquote(parts.username or "")
        options: dict[str, Any] = {
            "type": "email", "host": parts.hostname, "port": port,
            "ssl": secure and port != 587, "starttls": port == 587 or (not secure and port == 0),
            "username": user, "password": unquote(parts.password or ""),
            "from": query.get("from") or (user if "@" in user else f"{user or 'sentimon'}@{parts.hostname}"),
            "to": [a.strip() for a in query.get("to", "").split(",") if a.strip()],
        }
        if query.get("starttls") in ("no", "false", "0"):
            options["starttls"] = False
        if not options["to"]:
            raise SettingError(f"{where}.url", "expected ?to=address in the mailto:// URL")
        return options

    def send(self, payload: dict[str, Any], *, key: str = "") -> None:
        o = self.options
        msg = build_message(payload, o.sender, o.to, key)
        with self._session(o.timeout) as client:
            client.send_message(msg, from_addr=o.sender, to_addrs=o.to)

    def probe(self) -> str:
        """Connect, EHLO, STARTTLS and log in as configured, then QUIT: no MAIL FROM, no DATA."""
        o = self.options
        with self._session(min(o.timeout, PROBE_TIMEOUT)):
            pass
        steps = ["implicit TLS" if o.ssl else "STARTTLS" if o.starttls else "no encryption"]
        steps += [f"logged in as {o.username}"] if o.username else []
        return f"{o.host}:{o.port} answered ({', '.join(steps)}); nothing sent"

    @contextmanager
    def _session(self, timeout: float) -> Iterator[smtplib.SMTP]:
        """A connection greeted, upgraded and logged in as configured; QUIT on leaving. Every
        failure, in the session or in what the caller does with it, becomes one NotifyError:
        4xx answers are retried, 5xx and a missing extension are final."""
        o = self.options
        # Loading the CA store costs ~0.1 s a message (a lot for every retry of an outage):
        # only when the connection is encrypted.
        context = ssl_module.create_default_context(cafile=o.cafile or None) \
            if o.ssl or o.starttls else None
        what = f"email {self.name} via {o.host}:{o.port}"
        try:
            if o.ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(o.host, o.port, timeout=timeout,
                                                        context=context)
            else:
                client = smtplib.SMTP(o.host, o.port, timeout=timeout)
            with client:
                client.ehlo()
                if o.starttls:
                    client.starttls(context=context)
                    client.ehlo()
                if o.username:
                    client.login(o.username, o.password)
                yield client
        except smtplib.SMTPNotSupportedError as exc:
            raise NotifyError(f"{what}: {_short(exc)}", permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            # 4xx is "try again later" (greylisting, a full queue, a relay restarting): only a
            # 5xx for every recipient is final.
            codes = [code for code, _ in exc.recipients.values()] or [550]
            raise NotifyError(f"{what}: {_short(exc)}", permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:  # auth, sender, DATA, connect: 4xx retry, 5xx final
            raise NotifyError(f"{what}: {_short(exc)}", permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(f"{what}: {type(exc).__name__}: {_short(exc)}") from None


def _short(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, answer = next(iter(exc.recipients.values()))
        reply = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
        text = f"recipients refused: {code} {reply}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        text = f"{exc.smtp_code} {error}"
    return " ".join(text.split())[:300]
