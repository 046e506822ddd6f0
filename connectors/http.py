"""The one HTTP session every web connector uses: timeouts, a User-Agent, retries, one-line errors.

Sources rate-limit and fail in the same few ways (429, 5xx, resets, slow servers), so the
handling lives here once instead of in each connector: exponential backoff with jitter,
``Retry-After`` honoured (seconds or an HTTP date), and every final failure turned into a
``ConnectorError`` whose message is one line naming the connector, the URL and what happened.
The pipeline records that line in ``runs`` and the daemon retries at the next slot.

Every request also has a total deadline (headers and body together, ``connectors.deadline``),
a cap on the body (counted after decompression, so a gzip bomb stops at the cap too), a
redirect limit and a same-site rule for redirects (``connectors.redirects``): a hostile or
broken feed can slow one run down, never hang or bloat it or send it elsewhere.

``sleep`` and ``rng`` are injected so tests never wait for a real backoff.
"""

from __future__ import annotations

import html
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any, Callable, Mapping

import requests

import sentimon
from connectors.base import Connector, ConnectorOptions
from connectors.deadline import DeadlineAdapter, deadline
from connectors.redirects import CrossSiteRedirect, guard
from sentimon.durations import retry_after_seconds
from sentimon.errors import ConnectorError
from sentimon.http_errors import request_error_reason
from sentimon.settings import Setting, setting, settings_of

log = logging.getLogger(__name__)

USER_AGENT = f"sentimon/{sentimon.__version__} (+https://github.com/sentimon/sentimon)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 522, 524})
MAX_WAIT = 120.0  # a Retry-After longer than this ends the run; the next slot tries again
DEADLINE = 120.0  # seconds for one whole request, body included
MAX_BODY_BYTES = 50_000_000  # big feeds are a few MB; a 50 MB answer is a mistake or hostile
MAX_REDIRECTS = 5


@dataclass(frozen=True, kw_only=True)
class HttpOptions(ConnectorOptions):
    """Settings every HTTP connector accepts; its docs table lists them after its own."""

    timeout: float = setting(
        "float", 20.0, help="Seconds to wait for the server to connect or send data.",
    )
    retries: int = setting(
        "int", 3, help="Retries on 429, 5xx and connection errors, with exponential backoff.",
    )
    deadline: float = setting(
        "float", DEADLINE,
        help="Seconds one request may take in all, body included (timeout is per read).",
    )
    max_body_bytes: int = setting(
        "int", MAX_BODY_BYTES,
        help="Largest answer read, after decompression; a larger one fails the request.",
    )
    max_redirects: int = setting("int", MAX_REDIRECTS, help="Redirects followed per request.")
    allow_cross_site_redirects: bool = setting(
        "bool", False,
        help="Follow redirects to another site or from https to http (connectors/redirects.py).",
    )


# The same as a table, for connectors declaring ``settings`` as a tuple (``own + HTTP_SETTINGS``).
HTTP_SETTINGS: tuple[Setting, ...] = settings_of(HttpOptions, upto=ConnectorOptions)


def display_url(url: str) -> str:
    """The URL without its query string or ``user:password@``: queries can be long and hold
    search terms or keys, and credentials in a URL must never reach a log line or ``runs``."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@]*@", r"\1", url.split("?", 1)[0].split("#", 1)[0])


_short = display_url


class _Expired(Exception):
    """The request's total deadline passed (its sockets were shut down)."""


def json_answer(response: requests.Response, where: str) -> Any:
    """The decoded body of an API's answer; a body that is not JSON is one ConnectorError line."""
    try:
        return response.json()
    except ValueError:
        raise ConnectorError(f"{where}: the answer is not JSON") from None


def json_object_answer(response: requests.Response, where: str) -> dict[str, Any]:
    """Like ``json_answer`` for APIs whose every answer is an object (a page, an error)."""
    data = json_answer(response, where)
    if not isinstance(data, dict):
        raise ConnectorError(f"{where}: expected a JSON object")
    return data


class HttpClient:
    """A ``requests.Session`` with sentimon's retry policy; one per connector instance."""

    def __init__(
        self,
        name: str,
        *,
        timeout: float = 20.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_wait: float = MAX_WAIT,
        deadline: float = DEADLINE,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        allow_cross_site_redirects: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        session: requests.Session | None = None,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.rng = rng
        self.deadline = deadline
        self.max_body = max_body_bytes
        if session is None:  # a session given by a test keeps its own adapters
            session = requests.Session()
            for prefix in ("http://", "https://"):
                session.mount(prefix, DeadlineAdapter())
        self.session = session
        self.session.max_redirects = max_redirects
        if not allow_cross_site_redirects:
            guard(self.session)
        self.session.headers["User-Agent"] = USER_AGENT

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number ``attempt`` (1-based): Retry-After if given, else
        backoff * 2^(attempt-1), capped, and jittered between half and all of that, so many
        clients that failed together do not all retry in the same second."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + self.rng() * ceiling / 2

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (),
        json: Any = None,
        data: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with retries; return a 2xx response (or one whose status is in ``ok``, such
        as 304 or an API's 401 whose body says why). Anything else ends as ConnectorError,
        with ``retry_after`` set on 429. ``json`` is sent as the body (a login, a query),
        ``data`` as a form body (an OAuth token exchange)."""
        where = f"{self.name}: {method} {_short(url)}"
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            status: int | None = None
            try:
                response = self._fetch(method, url, params, headers, ok, where, json, data)
            except _Expired:
                problem = f"no complete answer within {self.deadline:g}s"
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g}s"
            except requests.ConnectionError as exc:
                problem = f"cannot connect ({request_error_reason(exc)})"
            except requests.RequestException as exc:
                raise ConnectorError(f"{where} failed: {request_error_reason(exc)}") from None
            else:
                status = response.status_code
                if 200 <= status < 300 or status in ok:
                    return response
                problem = f"HTTP {status} {response.reason or ''}".strip()
                if status not in RETRY_STATUSES:
                    raise ConnectorError(f"{where} failed: {problem}{_hint(status)}")
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                if retry_after is None and status == 429:
                    retry_after = rate_limit_reset(response.headers)
            if attempt > self.retries:
                suffix = f" after {attempt} attempts" if attempt > 1 else ""
                if status == 429 and retry_after is None:  # rate limited: always say when
                    retry_after = self.delay(attempt, None)
                raise ConnectorError(f"{where} failed: {problem}{suffix}", retry_after=retry_after)
            wait = self.delay(attempt, retry_after)
            if wait > self.max_wait:
                raise ConnectorError(
                    f"{where} failed: {problem}; the server asks to wait {wait:.0f}s",
                    retry_after=wait,
                )
            log.info("%s: %s; retry %d/%d in %.1fs", where, problem, attempt, self.retries, wait)
            self.sleep(wait)

    def _fetch(
        self, method: str, url: str, params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None, ok: tuple[int, ...], where: str, json: Any = None,
        data: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One attempt, within the total deadline; a wanted answer's body is read (capped)."""
        with deadline(self.deadline) as watch:
            try:
                response = self.session.request(
                    method, url, params=params, headers=dict(headers or {}), json=json, data=data,
                    timeout=self.timeout, stream=True,
                )
                if 200 <= response.status_code < 300 or response.status_code in ok:
                    self._read_body(response, where)
                else:
                    response.close()  # only its status and headers are used
            except requests.TooManyRedirects:
                raise ConnectorError(
                    f"{where} failed: more than {self.session.max_redirects} redirects"
                ) from None
            except CrossSiteRedirect as exc:
                raise ConnectorError(f"{where} failed: {exc}") from None
            except (requests.RequestException, OSError):
                if watch.expired:
                    raise _Expired from None
                raise
            if watch.expired:  # cut off where the body may simply end (no Content-Length)
                raise _Expired
        return response

    def _read_body(self, response: requests.Response, where: str) -> None:
        too_big = f"{where} failed: the answer is more than {self.max_body} bytes (max_body_bytes)"
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            response.close()
            raise ConnectorError(too_big)
        parts, total = [], 0
        for part in response.iter_content(65536):
            total += len(part)
            if total > self.max_body:
                response.close()
                raise ConnectorError(too_big)
            parts.append(part)
        response._content = b"".join(parts)  # what .content/.text/.json() read from now on

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET and decode JSON; a body that is not JSON is a source-level error."""
        response = self.get(url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                f"{self.name}: GET {_short(url)} answered HTTP {response.status_code} "
                f"but the body is not JSON ({response.headers.get('Content-Type', 'no content type')})"
            ) from None

    def close(self) -> None:
        self.session.close()


def rate_limit_reset(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds until a rate-limit window resets, for APIs that answer 429 without Retry-After:
    ``RateLimit-Reset`` (Bluesky: epoch seconds; the IETF draft: seconds from now) or
    ``X-RateLimit-Reset`` (Mastodon: an ISO 8601 time). None when absent or unreadable."""
    value = (headers.get("RateLimit-Reset") or headers.get("X-RateLimit-Reset") or "").strip()
    if not value:
        return None
    now = time.time() if now is None else now
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        number = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
    if not 0 <= number < 1e11:  # NaN, infinite, negative or in milliseconds: unreadable
        return None
    return max(0.0, number - now) if number > 1e9 else number


def _hint(status: int) -> str:
    return {
        401: " (check the credentials)",
        403: " (access denied: check the credentials or the resource is private)",
        404: " (check the id, URL or name in the config)",
    }.get(status, "")


class HttpConnector(Connector):
    """Base for connectors that speak HTTP: builds the shared client from ``timeout``/``retries``.

    Tests pass ``http=HttpClient(..., sleep=fake)``; in production the client is built here.
    """

    Options = HttpOptions
    options: HttpOptions

    def __init__(
        self, name: str, options: Mapping[str, Any], *, http: HttpClient | None = None
    ) -> None:
        super().__init__(name, options)
        o = self.options
        self.http = http or HttpClient(
            name, timeout=o.timeout, retries=o.retries, deadline=o.deadline,
            max_body_bytes=o.max_body_bytes, max_redirects=o.max_redirects,
            allow_cross_site_redirects=o.allow_cross_site_redirects,
        )

    def close(self) -> None:
        self.http.close()


class _TextExtractor(HTMLParser):
    """Collects text, turning block elements into line breaks and dropping scripts/styles."""

    BLOCK = frozenset(
        {"p", "br", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"}
    )
    HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str:
    """Plain text from an HTML fragment (feed summaries, HN comments): tags gone, entities
    decoded, paragraphs kept as line breaks, runs of spaces collapsed. Models and reports
    want words, and markup from outside must never reach a Slack message as markup."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        text = markup
    else:
        parser = _TextExtractor()
        try:
            parser.feed(markup)
            parser.close()
            text = "".join(parser.parts)
        except Exception:  # HTMLParser is lenient; this is a last resort for odd input
            text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
