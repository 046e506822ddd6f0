"""Google Play reviews through the optional ``google-play-scraper`` package.

Google offers no public reviews API for apps you do not own, so this uses the scraper that
reads the Play Store's web endpoints; it can break when Google changes them, which is why it
is an optional extra (``pip install 'sentimon[googleplay]'``) and imported only when a run
starts. Reviews come newest first in pages with a continuation token; a run stops at the
first review id it saw last time (the cursor keeps the newest few, in case one is deleted).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar, Iterator

from connectors.base import Batch, Connector, ConnectorOptions, Skipped
from connectors.incremental import ITEM_ERRORS, dump_cursor, load_cursor
from connectors.records import clean_text, parse_rating, safe_url
from sentimon.errors import ConfigError, ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

INSTALL_HINT = "pip install 'sentimon[googleplay]'"
KEEP_IDS = 50
PAGE_SIZE = 200  # the scraper's own maximum per request


def load_scraper() -> Any:
    """The ``google_play_scraper`` module, or ConfigError naming the install command."""
    try:
        return importlib.import_module("google_play_scraper")
    except ImportError:
        raise ConfigError(
            f"the googleplay connector needs the optional google-play-scraper package: {INSTALL_HINT}"
        ) from None


@dataclass(frozen=True, kw_only=True)
class GooglePlayOptions(ConnectorOptions):
    """Settings of `googleplay` connectors."""

    app_id: str = setting("str", help="Package name from the Play Store URL, e.g. com.acme.shop.")
    lang: str = setting("str", "en", help="Language of the reviews to read (two-letter code).")
    country: str = setting("str", "us", help="Storefront country (two-letter code).")
    first_run_limit: int = setting(
        "int", 200, help="Reviews read on a first run without --backfill.",
    )
    backfill_limit: int = setting(
        "int", 5000, help="Most reviews read by `sentimon fetch --backfill`.",
    )


class GooglePlayConnector(Connector):
    type: ClassVar[str] = "googleplay"
    supports_backfill: ClassVar[bool] = True
    Options = GooglePlayOptions
    options: GooglePlayOptions

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self.scraper = load_scraper()

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        state = load_cursor(cursor, self.name)
        saved = state.get("ids")
        known = [str(i) for i in saved] if isinstance(saved, list) else []
        seen = set(known)
        # With a cursor the walk stops at the first known id long before the limit.
        limit = (
            self.options.backfill_limit if backfill or known else self.options.first_run_limit
        )
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        walked: list[str] = []
        token = None
        reached_known = False
        while len(walked) + len(skipped) < limit and not reached_known:
            page, token = self._page(min(PAGE_SIZE, limit - len(walked) - len(skipped)), token)
            for review in page:
                review_id = review.get("reviewId") if isinstance(review, dict) else None
                if not isinstance(review_id, str) or not review_id:
                    skipped.append(Skipped("review ?", "no reviewId"))
                    continue
                if review_id in seen and not backfill:
                    reached_known = True
                    break
                walked.append(review_id)
                try:
                    mentions.append(self._mention(review, review_id))
                except ITEM_ERRORS as exc:
                    skipped.append(Skipped(f"review {review_id}", str(exc)))
            if not page or token is None or getattr(token, "token", "") is None:
                break
        state["ids"] = (walked + [i for i in known if i not in walked])[:KEEP_IDS]  # newest first
        yield Batch(mentions, dump_cursor(state), skipped)

    def _page(self, count: int, token: Any) -> tuple[list[Any], Any]:
        """One call to the scraper; its many failure modes become one ConnectorError line."""
        try:
            result, token = self.scraper.reviews(
                self.options.app_id,
                lang=self.options.lang,
                country=self.options.country,
                sort=self.scraper.Sort.NEWEST,
                count=count,
                continuation_token=token,
            )
        except Exception as exc:  # the scraper raises bare urllib/JSON/index errors
            name = type(exc).__name__
            if "NotFound" in name:
                raise ConnectorError(
                    f"{self.name}: Google Play has no app {self.options.app_id!r}"
                ) from None
            raise ConnectorError(
                f"{self.name}: google-play-scraper failed: {name}: {str(exc)[:200]}"
            ) from None
        return (result if isinstance(result, list) else []), token

    def _mention(self, review: dict[str, Any], review_id: str) -> Mention:
        text = review.get("content")
        if not isinstance(text, str) or not clean_text(text):
            raise ValueError("content: missing or empty")
        at = review.get("at")
        if not isinstance(at, datetime):
            raise ValueError(f"at: expected a datetime, got {type(at).__name__}")
        # The scraper builds naive datetimes with datetime.fromtimestamp: local time.
        created = at.astimezone(timezone.utc)
        app_id = self.options.app_id
        return Mention(
            source=self.name,
            external_id=review_id,
            kind="review",
            text=clean_text(text),
            author=clean_text(review.get("userName") or "") or None,
            rating=parse_rating(review.get("score")),
            lang=self.options.lang,
            url=safe_url(
                f"https://play.google.com/store/apps/details?id={app_id}&reviewId={review_id}"
            ),
            created_at=created,
            extra={
                "version": review.get("reviewCreatedVersion") or review.get("appVersion"),
                "thumbs_up": review.get("thumbsUpCount"),
                "country": self.options.country,
                "replied": bool(review.get("replyContent")),
            },
        )
