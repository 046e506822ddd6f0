"""Reviews of your own Android app from the Google Play Developer API (``reviews.list``).

Unlike the scraper (``googleplay``) this is Google's supported API: a service account the team
invites into Play Console reads every review with text created or edited in the **last week**
(older ones are not served; there is no backfill), newest first, with token paging and no
"since" filter, so the cursor is a watermark on ``lastModified`` walked by the shared walk
(connectors/paging.py). An edited review keeps its ``reviewId``; the store keeps its first text.

Auth is OAuth 2.0's JWT bearer grant (RFC 7523): an RS256 JWT signed with the service
account's key is exchanged at the account file's own ``token_uri`` for an access token that
lives an hour and is reused, by every run of the process, until a minute before it ends. The file's path comes from the
environment; neither the key nor a token is ever logged.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping
from urllib.parse import quote, urlsplit


from connectors.base import Batch
from connectors.http import HttpConnector, HttpOptions, display_url, json_object_answer
from connectors.incremental import SourceDown, load_cursor
from connectors.paging import Page, Stream, walk
from connectors.records import (
    MAX_TEXT_CHARS, clean_text, clip, count, epoch_time, json_object, parse_rating, safe_url,
)
from connectors.signing import CachedToken, Signer, read_key_file
from sentimon.errors import ConfigError, ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

SCOPE = "https://www.googleapis.com/auth/androidpublisher"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PAGE_SIZE = 100
MAX_REVIEWS = 10_000  # a week of reviews of a very busy app; the next run goes on
# Access tokens by (token_uri, account, key digest), kept in memory for the process: the
# pipeline builds a connector per run, and a token lives an hour, so runs every 15 minutes
# share one exchange instead of making four.
_issued: dict[tuple[str, str, str], tuple[str, float]] = {}
_REFUSALS = {  # status -> what the team should check; each stops the run
    401: "Google refused the access token: check service_account_file",
    403: "the service account may not read this app's reviews: invite its email in Play "
         "Console (Users and permissions) with 'View app information'",
    404: "no app with this package_name in the service account's Play Console",
}


@dataclass(frozen=True, kw_only=True)
class GooglePlayDeveloperOptions(HttpOptions):
    """Settings of `googleplay_developer` connectors."""

    package_name: str = setting("str", help="The app's package name, e.g. com.acme.shop.")
    service_account_file: Path = setting(
        "path", help='JSON key file of the service account: "${GOOGLE_PLAY_SERVICE_ACCOUNT_FILE}".',
    )
    reviews_url: str = setting(
        "str", "",
        help="Play Console address of the app's Reviews page, copied from the browser; "
            "stored as each review's reply_url.",
    )
    overlap: timedelta = setting(
        "duration", "1h", help="How far behind the newest seen review each run looks again.",
    )
    base_url: str = setting(
        "str", "https://androidpublisher.googleapis.com", help="API host (for proxies and tests).",
    )


class GooglePlayDeveloperConnector(HttpConnector):
    type: ClassVar[str] = "googleplay_developer"
    supports_backfill: ClassVar[bool] = False
    Options = GooglePlayDeveloperOptions
    options: GooglePlayDeveloperOptions

    def __init__(self, name: str, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, options, **kwargs)
        self.package = self.options.package_name.strip()
        if not self.package or any(c in self.package for c in "/?#% "):
            raise ConfigError(f"{name}: package_name must look like com.acme.shop")
        self.base = self.options.base_url.rstrip("/")
        self.account = _service_account(Path(self.options.service_account_file), name)
        self.signer = Signer(
            self.account["private_key"], type_name=self.type, what=f"{name}: the service account key"
        )
        digest = hashlib.sha256(self.account["private_key"].encode()).hexdigest()
        self.issued_key = (self.account["token_uri"], self.account["client_email"], digest)
        self.token = CachedToken(self._exchange)
        self.overlap = self.options.overlap.total_seconds()
        self.reply_url = safe_url(self.options.reviews_url.strip() or None)

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        stream = Stream("reviews", self.package, self._page, _identify, self._mention)
        yield from walk(state, stream, overlap=self.overlap, limit=MAX_REVIEWS, backfill=False)

    # -- the token ----------------------------------------------------------------------

    def _exchange(self) -> tuple[str, float]:
        """A signed assertion for an access token at the account's ``token_uri``, sent through
        the shared client (its retries, deadline and body cap); a refusal's body says why."""
        now = int(time.time())
        cached = _issued.get(self.issued_key)
        if cached and now < cached[1] - self.token.margin:
            return cached
        claims = {"iss": self.account["client_email"], "scope": SCOPE,
                  "aud": self.account["token_uri"], "iat": now, "exp": now + 3600}
        assertion = self.signer.jwt(claims, kid=self.account.get("private_key_id"))
        where = f"{self.name}: POST {display_url(self.account['token_uri'])}"
        response = self.http.request("POST", self.account["token_uri"], ok=(400, 401, 403),
                                     data={"grant_type": GRANT, "assertion": assertion})
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            code = clip(data.get("error"), 60) if isinstance(data, dict) else None
            raise SourceDown(
                f"{where} failed: HTTP {response.status_code}{f' {code}' if code else ''}: "
                "Google refused the service account (check service_account_file; a deleted key fails too)"
            )
        token, lifetime = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token:
            raise SourceDown(f"{where} failed: the answer has no access_token")
        lifetime = lifetime if isinstance(lifetime, int) and lifetime > 0 else 3600
        _issued[self.issued_key] = (token, now + lifetime)
        return token, now + lifetime

    # -- reviews ------------------------------------------------------------------------

    def _page(self, token: str | None) -> Page:
        url = f"{self.base}/androidpublisher/v3/applications/{quote(self.package)}/reviews"
        params: dict[str, Any] = {"maxResults": PAGE_SIZE}
        if token:
            params["token"] = token
        headers = {"Authorization": f"Bearer {self.token.get()}"}
        response = self.http.get(url, params=params, headers=headers, ok=tuple(_REFUSALS))
        if response.status_code in _REFUSALS:
            self.token.forget()
            _issued.pop(self.issued_key, None)
            raise SourceDown(
                f"{self.name}: {_REFUSALS[response.status_code]} "
                f"(HTTP {response.status_code}{_error_status(response)})"
            )
        data = json_object_answer(response, f"{self.name}: reviews")
        reviews = data.get("reviews", [])  # a quiet week: Google leaves the list out
        if not isinstance(reviews, list):
            raise ConnectorError(f"{self.name}: reviews: the answer's reviews is not a list")
        paging = json_object(data.get("tokenPagination"))
        after = paging.get("nextPageToken")
        return Page(reviews, after if isinstance(after, str) and after else None)

    def _mention(self, review: dict[str, Any]) -> Mention:
        comments = review["comments"]
        user = _user_comment(review)
        raw = user.get("text")
        if not isinstance(raw, str):
            raise ValueError("userComment.text: missing or not a string")
        # "where a review has a separate title and body, they are joined by a tab"
        title, _, body = raw.partition("\t") if "\t" in raw else ("", "", raw)
        text = clean_text(body[:MAX_TEXT_CHARS])
        if not text:
            raise ValueError("userComment.text: empty")
        replied = any(isinstance(c, dict) and "developerComment" in c for c in comments)
        return Mention(
            source=self.name,
            external_id=clip(review["reviewId"], 300) or "",
            kind="review",
            text=text,
            title=clip(title, 500),
            author=clip(review.get("authorName"), 300),
            rating=parse_rating(user.get("starRating")),
            lang=clip(user.get("reviewerLanguage"), 20),
            created_at=_modified(user),
            extra={
                "package": self.package,
                "version": clip(user.get("appVersionName"), 100),
                "thumbs_up": count(user.get("thumbsUpCount")),
                "device": clip(user.get("device"), 100),
                "replied": replied,
                "reply_url": self.reply_url,
            },
        )


def _service_account(path: Path, name: str) -> dict[str, str]:
    """The fields of a service account key file this connector needs, checked; messages name
    the file and the field, never a value from it."""
    what = f"{name}: service_account_file {path}"
    try:
        data = json.loads(read_key_file(path, f"{name}: service_account_file"))
    except ValueError:
        raise ConfigError(f"{what} is not JSON (download the key as JSON)") from None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise ConfigError(f"{what} is not a service account key (type must be service_account)")
    for field in ("client_email", "private_key", "token_uri"):
        if not isinstance(data.get(field), str) or not data[field]:
            raise ConfigError(f"{what} has no {field}")
    token_uri = urlsplit(data["token_uri"])
    if token_uri.scheme != "https" and not (token_uri.scheme == "http" and _loopback(token_uri.hostname)):
        raise ConfigError(f"{what}: token_uri must be https (the signed assertion goes there)")
    kid = data.get("private_key_id")
    return {**{k: data[k] for k in ("client_email", "private_key", "token_uri")},
            "private_key_id": kid if isinstance(kid, str) else ""}


def _loopback(host: str | None) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _user_comment(review: Any) -> dict[str, Any]:
    comments = review.get("comments") if isinstance(review, dict) else None
    first = comments[0] if isinstance(comments, list) and comments else None
    user = first.get("userComment") if isinstance(first, dict) else None
    if not isinstance(user, dict):
        raise ValueError("no comments[0].userComment")
    return user


def _modified(user: dict[str, Any]) -> datetime:
    """``lastModified`` is a protobuf Timestamp: ``seconds`` as a string, ``nanos`` apart."""
    stamp = user.get("lastModified")
    seconds_text = stamp.get("seconds") if isinstance(stamp, dict) else None
    if not isinstance(seconds_text, (str, int)) or isinstance(seconds_text, bool):
        raise ValueError("userComment.lastModified.seconds: missing")
    try:
        value = int(seconds_text)
    except ValueError:
        raise ValueError(f"lastModified.seconds: {str(seconds_text)[:40]!r} is not a number") from None
    return epoch_time(value, now=datetime.now(UTC))


def _identify(review: Any) -> tuple[str, float]:
    if not isinstance(review, dict) or not isinstance(review.get("reviewId"), str) or not review["reviewId"]:
        raise ValueError("no reviewId")
    return review["reviewId"], _modified(_user_comment(review)).timestamp()


def _error_status(response: Any) -> str:
    """`` STATUS`` from Google's ``{"error": {"code", "message", "status"}}``; the message is
    free text from outside and is left out."""
    try:
        status = clip(response.json()["error"]["status"], 60)
    except (ValueError, KeyError, TypeError):
        return ""
    return f" {status}" if status else ""
