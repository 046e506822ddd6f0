"""The connector contract and the registry that finds connector classes by ``type``.

Built-in connectors register through the ``sentimon.connectors`` entry-point group, the same
way third-party ones do, so an unknown type can list everything that is installed.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, ClassVar, Iterator, Mapping

from sentimon.errors import ConfigError
from sentimon.mention import Mention
from sentimon.settings import Setting, Settings, parse, setting, settings_class, settings_of

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "sentimon.connectors"

# Used when the package metadata is not installed (running from a source tree).
BUILTIN = {
    "files": "connectors.files:FilesConnector",
    "reddit": "connectors.reddit:RedditConnector",
    "appstore": "connectors.appstore:AppStoreConnector",
    "googleplay": "connectors.googleplay:GooglePlayConnector",
    "rss": "connectors.rss:RssConnector",
    "hackernews": "connectors.hackernews:HackerNewsConnector",
    "bluesky": "connectors.bluesky:BlueskyConnector",
    "mastodon": "connectors.mastodon:MastodonConnector",
    "youtube": "connectors.youtube:YouTubeConnector",
    "zendesk": "connectors.zendesk:ZendeskConnector",
    "appstoreconnect": "connectors.appstoreconnect:AppStoreConnectConnector",
    "googleplay_developer": "connectors.googleplay_developer:GooglePlayDeveloperConnector",
    "intercom": "connectors.intercom:IntercomConnector",
}

# Settings of a [[connectors]] entry that the app reads (sentimon.config.ConnectorConfig has a
# field for each; tests/test_settings_typed.py fails if the two disagree).
ENTRY_SETTINGS: tuple[Setting, ...] = (
    Setting("name", "str", help="Unique name of this source; stored with every mention."),
    Setting("type", "str", help="Which connector: files, reddit, appstore, rss, ..."),
    Setting("every", "duration", "15m", help="How often the daemon runs it."),
    Setting("enabled", "bool", True, help="Set false to keep the section but not run it."),
)


@dataclass(frozen=True, kw_only=True)
class ConnectorOptions(Settings):
    """Options every connector has, whatever its type: what the pipeline's brand filter keeps.
    Each connector's own options derive from this (or from HttpOptions)."""

    match: list[str] = setting(
        "list[str]", [],
        help='Keep only mentions naming one of these: words or phrases (any case), or "re:REGEX".',
    )
    exclude: list[str] = setting(
        "list[str]", [],
        help='Known false matches ("Acme Corp"), ignored before `match` is checked; same forms.',
    )
    brand: str = setting(
        "str", "",
        help='Competitor this source watches ("Rival Shoes"), for share of voice; empty: our own brand.',
    )


# Settings every connector accepts, whatever its type.
COMMON_SETTINGS: tuple[Setting, ...] = ENTRY_SETTINGS + settings_of(ConnectorOptions)


@dataclass(frozen=True)
class Skipped:
    """An item the connector could not turn into a Mention, and why (logged and counted)."""

    where: str
    reason: str


@dataclass
class Batch:
    """Mentions found in one step, and the cursor to store in the same transaction as them."""

    mentions: list[Mention]
    cursor: str | None
    skipped: list[Skipped] = field(default_factory=list)


class Connector(abc.ABC):
    """One configured source. Subclasses set ``type`` and ``Options`` (a frozen dataclass of
    their settings, derived from ``ConnectorOptions``) and implement ``fetch``.

    ``settings``, the table docs and validation use, is derived from ``Options``; a connector
    that declares ``settings`` as a tuple of Setting instead (the older way, kept for
    third-party connectors) gets an ``Options`` class built from it, so both read typed options.
    """

    type: ClassVar[str]
    Options = ConnectorOptions
    settings: ClassVar[tuple[Setting, ...]] = ()
    supports_backfill: ClassVar[bool] = False
    options: ConnectorOptions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Options" in cls.__dict__:
            cls.settings = settings_of(cls.Options, upto=ConnectorOptions)
        elif "settings" in cls.__dict__:
            cls.Options = settings_class(f"{cls.__name__}Options", cls.settings, cls.Options)

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        """``options`` as the config loader checked them, or a mapping of keys to values
        (written or checked ones: tests, Python callers), checked here like a config table."""
        self.name = name
        self.options = parse(self.Options, options, name)

    @abc.abstractmethod
    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        """Yield batches of mentions newer than ``cursor``.

        The pipeline stores each batch and its ``cursor`` atomically before asking for the
        next, so a crash between batches repeats at most one batch and never skips one.
        Raise ``ConnectorError`` for a source-level failure (down, bad credentials); report
        single unparseable items as ``Skipped`` in the batch instead.
        """

    def reset_cursor(self, cursor: str | None, since: datetime | None) -> str | None:
        """The cursor ``sentimon connectors reset`` stores: None starts the source afresh
        (deduplication keeps what is stored from being added twice). A connector that can
        re-read from a point in time overrides this to honour ``since``."""
        if since is not None:
            raise ConfigError(
                f"connectors reset --since is not supported by {self.type!r} connectors; "
                "reset without --since to re-read what the source still offers"
            )
        return None

    def close(self) -> None:
        """Release sessions or files; called once the run is over."""


def _entry_points() -> dict[str, str]:
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.value
    return found


def available_types() -> list[str]:
    return sorted(_entry_points())


def load_connector_class(type_name: str) -> type[Connector]:
    """Find the Connector class for ``type_name``; ConfigError lists the available ones."""
    target = _entry_points().get(type_name)
    if target is None:
        raise ConfigError(
            f"unknown connector type {type_name!r}; available: {', '.join(available_types())}"
        )
    module_name, _, attr = target.partition(":")
    try:
        module = __import__(module_name, fromlist=[attr])
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"connector type {type_name!r} could not be loaded: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigError(f"connector type {type_name!r} ({target}) is not a Connector subclass")
    return cls
