"""Apple App Store reviews, from Apple's public customer-reviews RSS feed in its JSON form.

No credentials are needed, but the feed has hard limits: per country, 10 pages of 50 reviews,
newest first, so at most the 500 latest reviews; older ones cannot be read (no backfill).
Every value is wrapped as ``{"label": ...}``, a feed with one review gives ``entry`` as an
object rather than a list, and some responses start with an app-information entry (no
rating), which is not a review. Older captures carry no per-review date; those reviews are
dated when first fetched. Each country's cursor is the newest review ids seen there: a run
stops at the first one it meets, so a deleted review cannot make every run re-read 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar, Iterator, Mapping

from connectors.base import Batch, Skipped
from connectors.http import HttpConnector, HttpOptions
from connectors.incremental import ITEM_ERRORS, dump_cursor, isolated, load_cursor
from connectors.records import MAX_TEXT_CHARS, clean_text, clip, parse_rating, parse_time, safe_url
from sentimon.errors import ConfigError, ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

MAX_PAGES = 10  # Apple serves no page beyond 10
KEEP_IDS = 50  # newest ids remembered per country


def _label(entry: Any, key: str) -> Any:
    """Apple wraps every scalar as {"label": value}; None when absent or not so wrapped."""
    value = entry.get(key) if isinstance(entry, dict) else None
    return value.get("label") if isinstance(value, dict) else None


def _is_app_info(entry: Any) -> bool:
    """The entry describing the app itself, which some responses put first: no rating."""
    return isinstance(entry, dict) and "im:rating" not in entry and "im:name" in entry


@dataclass(frozen=True, kw_only=True)
class AppStoreOptions(HttpOptions):
    """Settings of `appstore` connectors."""

    app_id: str = setting(
        "str",
        help='Numeric App Store id, quoted: "1321994487" (the digits after "id" in the app URL).',
    )
    countries: list[str] = setting(
        "str|list[str]", ["us"],
        help="Two-letter storefront codes; each country has its own reviews.",
    )
    pages: int = setting(
        "int", MAX_PAGES, help="Pages of 50 to read per country on a run (Apple's maximum is 10).",
    )
    base_url: str = setting(
        "str", "https://itunes.apple.com", help="Feed host (for proxies and tests).",
    )


class AppStoreConnector(HttpConnector):
    type: ClassVar[str] = "appstore"
    Options = AppStoreOptions
    options: AppStoreOptions

    def __init__(self, name: str, options: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(name, options, **kwargs)
        self.app_id = str(self.options.app_id).strip().lower().removeprefix("id")
        if not self.app_id.isdigit():
            raise ConfigError(
                f"{name}: app_id must be the numeric App Store id, got {self.options.app_id!r}"
            )
        self.countries = [c.strip().lower() for c in self.options.countries if c.strip()] or ["us"]
        self.pages = max(1, min(MAX_PAGES, int(self.options.pages)))

    def page_url(self, country: str, page: int) -> str:
        base = self.options.base_url.rstrip("/")
        return f"{base}/{country}/rss/customerreviews/page={page}/id={self.app_id}/sortby=mostrecent/json"

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        parts = [(f"country {c}", lambda c=c: self._country(state, c)) for c in self.countries]
        yield from isolated(self.name, parts, lambda: dump_cursor(state))

    def _country(self, state: dict[str, Any], country: str) -> Iterator[Batch]:
        """Read pages newest first until a review seen last time; yield once at the end so the
        remembered ids only change after every newer review is stored."""
        saved = state.get(country)
        known = [str(i) for i in saved] if isinstance(saved, list) else []
        seen = set(known)
        now = datetime.now(timezone.utc)
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        walked: list[str] = []
        for page in range(1, self.pages + 1):
            entries = self._entries(self.http.get_json(self.page_url(country, page)), country, page)
            reviews = [e for e in entries if not _is_app_info(e)]
            if not reviews:
                break
            reached_known = False
            for index, entry in enumerate(reviews):
                where = f"{country} page {page} entry {index + 1}"
                review_id = _label(entry, "id") if isinstance(entry, dict) else None
                if not isinstance(review_id, str) or not review_id.strip():
                    skipped.append(Skipped(where, "no review id"))
                    continue
                if review_id in seen:
                    reached_known = True
                    break
                walked.append(review_id)
                try:
                    mentions.append(self._mention(entry, review_id, country, now))
                except ITEM_ERRORS as exc:
                    skipped.append(Skipped(f"{where} (id {review_id})", str(exc)))
            if reached_known:
                break
        state[country] = (walked + [i for i in known if i not in walked])[:KEEP_IDS]
        yield Batch(mentions, dump_cursor(state), skipped)

    def _entries(self, data: Any, country: str, page: int) -> list[Any]:
        if not isinstance(data, dict) or not isinstance(data.get("feed"), dict):
            raise ConnectorError(
                f'{self.name}: {country} page {page}: not a customer-reviews feed (no "feed" object)'
            )
        entries = data["feed"].get("entry", [])
        return (
            [entries] if isinstance(entries, dict) else entries if isinstance(entries, list) else []
        )

    def _mention(
        self, entry: dict[str, Any], review_id: str, country: str, now: datetime
    ) -> Mention:
        external_id = clip(review_id, 500)
        if not external_id:
            raise ValueError("id: empty once control characters are removed")
        raw_text = _label(entry, "content")
        text = clean_text(raw_text[:MAX_TEXT_CHARS]) if isinstance(raw_text, str) else ""
        if not text:
            raise ValueError("content: missing or empty")
        author: Any = entry.get("author") or {}
        link = entry.get("link")
        href = link.get("attributes", {}).get("href") if isinstance(link, dict) else None
        version = _label(entry, "im:version")
        return Mention(
            source=self.name,
            external_id=external_id,
            kind="review",
            text=text,
            title=clip(_label(entry, "title")),
            author=clip(_label(author, "name")),
            rating=parse_rating(_label(entry, "im:rating")),
            url=safe_url(href)
            or f"https://apps.apple.com/{country}/app/id{self.app_id}?see-all=reviews",
            created_at=parse_time(_label(entry, "updated"), now=now),
            extra={
                "country": country,
                "version": clip(version, 100),
                "app_id": self.app_id,
                "votes": clip(_label(entry, "im:voteCount"), 20),
            },
        )
