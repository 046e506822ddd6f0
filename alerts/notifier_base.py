"""What every notifier is: declared settings and one ``send`` method (the APScheduler habit of a
tiny abstract base), plus the shared HTTP POST that maps status codes to retry decisions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from alerts.digest import DIGEST_SETTINGS
from sentimon.durations import retry_after_seconds
from sentimon.errors import NotifyError
from sentimon.settings import Setting, Settings, declared, parse, settings_of

HTTP_TIMEOUT = 15.0
PROBE_TIMEOUT = 10.0  # doctor waits at most this long for each service


@dataclass(frozen=True, kw_only=True)
class NotifierOptions(Settings):
    """What every notifier's options hold after its own settings: the summary it also sends
    (declared with the digest, alerts/digest.py) and ``display``, a masked one-line address
    safe to print (not a setting: ``check`` derives it; the type name where there is none)."""

    digest: str = declared(DIGEST_SETTINGS[0])
    display: str = ""


class Notifier(ABC):
    """Sends one message payload (see ``alerts.message.build``) somewhere.

    ``send`` raises ``NotifyError``; ``retry_after`` when the service said when to come back,
    ``permanent`` when retrying cannot help. It never retries itself: the outbox does.
    Its settings are the fields of its ``Options`` class; ``settings`` (docs) is derived.
    """

    type: ClassVar[str]
    Options = NotifierOptions
    settings: ClassVar[tuple[Setting, ...]] = ()
    schemes: ClassVar[tuple[str, ...]] = ()
    options: NotifierOptions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.settings = settings_of(cls.Options, upto=NotifierOptions)

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.options = parse(self.Options, options, f"notifiers.{name}")

    @classmethod
    def check(cls, options: Any, where: str) -> Any:
        """Extra checks after the settings table (raise SettingError); return the options,
        with ``display`` set (``dataclasses.replace``: they are frozen)."""
        return options

    @classmethod
    def from_url(cls, url: str, where: str) -> dict[str, Any]:
        """Options from an apprise-style URL (``slack://...``); override where schemes are set."""
        raise NotImplementedError

    @abstractmethod
    def send(self, payload: dict[str, Any], *, key: str = "") -> None: ...

    @abstractmethod
    def probe(self) -> str:
        """Reach the service the way ``send`` would and stop before anything is delivered
        (``sentimon doctor``): return one line saying what was checked, or raise NotifyError.
        Abstract, so a new notifier type cannot be passed by doctor unchecked."""


def post(url: str, body: bytes, headers: Mapping[str, str], what: str) -> str:
    """POST and classify the answer: 2xx ok; 429 and 5xx retry (Retry-After honoured);
    other 4xx permanent (a revoked webhook will not start working by itself)."""
    import requests

    try:
        response = requests.post(url, data=body, headers=dict(headers), timeout=HTTP_TIMEOUT,
                                 allow_redirects=False)
    except requests.RequestException as exc:  # one short line: what the user must see in an outage
        from sentimon.http_errors import request_error_reason

        if isinstance(exc, requests.Timeout):
            problem = f"no answer within {HTTP_TIMEOUT:g}s"
        elif isinstance(exc, requests.ConnectionError):
            problem = f"cannot connect ({request_error_reason(exc)})"
        else:
            problem = f"{type(exc).__name__}: {request_error_reason(exc)}"
        raise NotifyError(f"{what}: {_strip_url(problem, url)}") from None
    if 200 <= response.status_code < 300:
        return response.text
    detail = response.text.strip()[:200]
    retry = retry_after_seconds(response.headers.get("Retry-After"))
    if response.status_code == 429 or response.status_code >= 500:
        raise NotifyError(f"{what}: HTTP {response.status_code} {detail}", retry_after=retry)
    raise NotifyError(f"{what}: HTTP {response.status_code} {detail}", permanent=True)


def _strip_url(text: str, url: str) -> str:
    """Webhook URLs are secrets (anyone holding a Slack one can post): keep them out of errors."""
    return text.replace(url, "<url>")


def mask_url(url: str) -> str:
    """``https://hooks.slack.com/***`` : enough to recognise the target, nothing to reuse."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}/***" if host else "***"


def probe_url(url: str, what: str, timeout: float = PROBE_TIMEOUT) -> str:
    """Resolve the URL's host and open a TCP connection, TLS-verified for https, then close it
    without a request: any request, even a GET, is something a receiver could act on, so this
    is as far as a check may go. Only the host and port are named; paths hold webhook secrets."""
    import socket
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    secure = parts.scheme.lower() == "https"
    host, port = parts.hostname or "", parts.port or (443 if secure else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if secure:
                with ssl.create_default_context().wrap_socket(sock, server_hostname=host):
                    pass
    except socket.gaierror as exc:
        raise NotifyError(f"{what}: cannot resolve {host} ({exc.strerror})") from None
    except ssl.SSLError as exc:
        raise NotifyError(f"{what}: TLS with {host}:{port} failed ({exc.reason or exc})") from None
    except TimeoutError:
        raise NotifyError(f"{what}: no answer from {host}:{port} within {timeout:g}s") from None
    except OSError as exc:
        problem = exc.strerror or exc
        raise NotifyError(f"{what}: cannot connect to {host}:{port} ({problem})") from None
    how = "TLS certificate verified" if secure else "plain HTTP"
    return f"{host}:{port} reachable ({how}); nothing sent"
