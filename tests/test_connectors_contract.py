"""One contract, every connector: the same expectations run against each implementation.

Each case stands up its source (a local server speaking the real format, a file, or a fake
optional module), holding a few items and one malformed one, and can ``publish`` a newer
item. The suite then checks what the pipeline relies on: Mentions with aware UTC times and
stable ids, a cursor on every batch, resuming from it without repeats, and surviving a bad
item. A new connector gets these checks by adding one case here.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.base import COMMON_SETTINGS, Connector, available_types, load_connector_class
from connectors.http import HttpClient
from localserver import LocalServer, Reply, Request
from sentimon.mention import Mention
from sentimon.settings import describe, validate

from connector_runs import drain
from fakes import appstoreconnect as asc
from fakes import bluesky as bsky
from fakes import googleplay as gp
from fakes import googleplay_developer as gpd
from fakes import hackernews as hn
from fakes import intercom as ic
from fakes import mastodon as mdn
from fakes import reddit as rd
from fakes import youtube as yt
from fakes import zendesk as zd
from fakes.appstore import page_path, review as app_review
from fakes.rss import RSS, item as rss_item, rss
from jwtcheck import ec_key, pem, rsa_key

NOW = int(time.time())


def build(cls: type[Connector], name: str, options: dict[str, Any], **kwargs: Any) -> Connector:
    return cls(name, validate(options, cls.settings, f"connectors.{name}"), **kwargs)


def quiet_http(name: str) -> HttpClient:
    return HttpClient(name, sleep=lambda s: None)


class FilesCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.path = tmp_path / "reviews.jsonl"
        rows = [
            {"id": "f1", "text": "Late parcel", "created_at": "2026-11-20T10:00:00Z"},
            "{broken json",
            {"id": "f2", "text": "Lovely shoes", "created_at": "2026-11-21T10:00:00+02:00"},
        ]
        self.path.write_text(
            "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
        )

    def connector(self) -> Connector:
        from connectors.files import FilesConnector

        return build(FilesConnector, "files", {"path": str(self.path)})

    def publish(self) -> str:
        with self.path.open("a") as f:
            f.write(json.dumps({"id": "f3", "text": "Refund took a month"}) + "\n")
        return "f3"


class RedditCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        monkeypatch.setattr("prawcore.sessions.time.sleep", lambda s: None)
        self.server = server
        page = rd.listing_body("TestSubredditListings.test_new.json")
        self.children = copy.deepcopy(page["data"]["children"][:4])
        bad = copy.deepcopy(self.children[0])
        bad["data"].update(id="bad1", name="t3_bad1", selftext=12345, title=None)
        self.children.insert(2, bad)
        server.add(
            "/api/v1/access_token",
            Reply.json(
                {"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"}
            ),
            method="POST",
        )
        server.add("/r/acme/new", self.listing)

    def listing(self, request: Request) -> Reply:
        ordered = sorted(self.children, key=lambda c: c["data"]["created_utc"], reverse=True)
        return Reply.json(
            {"kind": "Listing", "data": {"children": ordered, "after": None, "before": None}}
        )

    def connector(self) -> Connector:
        from connectors.reddit import RedditConnector

        return build(
            RedditConnector,
            "reddit",
            {
                "subreddits": ["acme"],
                "include": ["submissions"],
                "client_id": "id",
                "client_secret": "s",
                "user_agent": "sentimon contract tests",
                "reddit_url": self.server.url,
                "oauth_url": self.server.url,
            },
        )

    def publish(self) -> str:
        newest = copy.deepcopy(self.children[0])
        top = max(c["data"]["created_utc"] for c in self.children)
        newest["data"].update(
            id="new1", name="t3_new1", created_utc=top + 60, selftext="Acme lost my order"
        )
        self.children.append(newest)
        return "t3_new1"


class AppStoreCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server = server
        self.entries = [
            app_review("300"),
            {"id": {"label": "299"}, "im:rating": {"label": "3"}},
            app_review("298"),
        ]
        server.add(
            page_path("us", 1), lambda request: Reply.json({"feed": {"entry": self.entries}})
        )
        for n in range(2, 11):
            server.add(page_path("us", n), Reply.json({"feed": {}}))

    def connector(self) -> Connector:
        from connectors.appstore import AppStoreConnector

        return build(
            AppStoreConnector,
            "appstore",
            {"app_id": "1321994487", "base_url": self.server.url},
            http=quiet_http("appstore"),
        )

    def publish(self) -> str:
        self.entries.insert(0, app_review("301", text="Update fixed the crash", rating="5"))
        return "301"


class GooglePlayCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.reviews = [
            gp.review(1),
            {"reviewId": "gp:bad", "content": None, "at": gp.BASE},
            gp.review(2),
        ]
        monkeypatch.setitem(sys.modules, "google_play_scraper", gp.fake_scraper(self.reviews))

    def connector(self) -> Connector:
        from connectors.googleplay import GooglePlayConnector

        return build(GooglePlayConnector, "googleplay", {"app_id": "com.acme.shop"})

    def publish(self) -> str:
        self.reviews.append(gp.review(3, text="Checkout is fast now"))
        return "gp:3"


class RssCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server = server
        self.items = [
            rss_item("a1", "Acme recall", "<p>Acme recalls boots</p>"),
            rss_item("bad", "", ""),
            rss_item("a0", "Acme store opens", "Opening day", date="Sun, 29 Nov 2026 09:00:00 GMT"),
        ]
        server.add("/feed.xml", lambda request: Reply(200, rss(*self.items), {"Content-Type": RSS}))

    def connector(self) -> Connector:
        from connectors.rss import RssConnector

        return build(
            RssConnector, "rss", {"url": self.server.url + "/feed.xml"}, http=quiet_http("rss")
        )

    def publish(self) -> str:
        self.items.insert(
            0, rss_item("a2", "Acme apologises", "Statement", date="Tue, 01 Dec 2026 08:00:00 GMT")
        )
        return "a2"


class HackerNewsCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server = server
        self.hits = [hn.story(1, 5000), {"objectID": "2", "title": "no time"}, hn.comment(3, 4000)]
        server.add("/api/v1/search_by_date", hn.algolia(self.hits))

    def connector(self) -> Connector:
        from connectors.hackernews import HackerNewsConnector

        return build(
            HackerNewsConnector,
            "hackernews",
            {"query": "acme", "base_url": self.server.url},
            http=quiet_http("hn"),
        )

    def publish(self) -> str:
        self.hits.append(hn.comment(4, 10))
        return "4"


class BlueskyCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server = server
        self.posts = [bsky.post(1), {"uri": "at://did:plc:x/app.bsky.feed.post/bad", "record": {}}, bsky.post(2)]
        server.add(bsky.LOGIN, bsky.session(), method="POST")
        server.add(bsky.SEARCH, bsky.Search(self.posts))

    def connector(self) -> Connector:
        from connectors.bluesky import BlueskyConnector

        options = {"query": "acme", "handle": "h", "app_password": "p", "service": self.server.url}
        return build(BlueskyConnector, "bluesky", options, http=quiet_http("bluesky"))

    def publish(self) -> str:
        self.posts.append(bsky.post(30, "Acme support fixed it"))
        return bsky.post(30)["uri"]


class MastodonCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server = server
        self.statuses = [mdn.status(1), mdn.status(2, content=None), mdn.status(3)]
        server.add(mdn.TAG, mdn.Timeline(self.statuses))

    def connector(self) -> Connector:
        from connectors.mastodon import MastodonConnector

        options = {"server": self.server.url, "hashtags": ["acmeshoes"]}
        return build(MastodonConnector, "mastodon", options, http=quiet_http("mastodon"))

    def publish(self) -> str:
        self.statuses.append(mdn.status(9, "Acme replaced my pair"))
        return mdn.status(9)["id"]


class YouTubeCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server = server
        self.threads = [yt.thread(1), {"id": "bad", "snippet": {}}, yt.thread(2)]
        server.add(yt.PATH, yt.Threads(self.threads))

    def connector(self) -> Connector:
        from connectors.youtube import YouTubeConnector

        options = {"api_key": yt.KEY, "video_ids": ["v1"], "base_url": self.server.url + "/youtube/v3"}
        return build(YouTubeConnector, "youtube", options, http=quiet_http("youtube"))

    def publish(self) -> str:
        self.threads.append(yt.thread(50, "Acme answered my question"))
        return yt.thread(50)["id"]


class ZendeskCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server = server
        self.tickets = [zd.ticket(1), zd.ticket(2, description=""), zd.ticket(3)]
        self.ratings = [zd.rating(1)]
        server.add(zd.EXPORT, zd.Export(self.tickets, size=2))
        server.add(zd.RATINGS, zd.Ratings(self.ratings))

    def connector(self) -> Connector:
        from connectors.zendesk import ZendeskConnector

        options = {"subdomain": "acme", "email": zd.EMAIL, "api_token": zd.TOKEN, "base_url": self.server.url}
        return build(ZendeskConnector, "zendesk", options, http=quiet_http("zendesk"))

    def publish(self) -> str:
        self.tickets.append(zd.ticket(60, "Acme sent the wrong size twice"))
        return "ticket:60"


class AppStoreConnectCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server, self.key = server, ec_key()
        self.reviews = [asc.review(1), {"type": "customerReviews", "id": "bad"}, asc.review(2)]
        server.add(asc.PATH, asc.Reviews(server, self.reviews, self.key.public_key()))

    def connector(self) -> Connector:
        from connectors.appstoreconnect import AppStoreConnectConnector

        options = {"app_id": asc.APP, "issuer_id": asc.ISSUER, "key_id": asc.KEY_ID,
                   "private_key": pem(self.key), "base_url": self.server.url}
        return build(AppStoreConnectConnector, "appstoreconnect", options, http=quiet_http("asc"))

    def publish(self) -> str:
        self.reviews.append(asc.review(70, "The new checkout is quick"))
        return asc.review(70)["id"]


class GooglePlayDeveloperCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server, key = server, rsa_key()
        self.account = gpd.account_file(tmp_path, server, key)
        self.reviews = [gpd.review(1), {"reviewId": "gp:bad", "comments": [{}]}, gpd.review(2)]
        gpd.Google(server, self.reviews, key.public_key())

    def connector(self) -> Connector:
        from connectors.googleplay_developer import GooglePlayDeveloperConnector

        options = {"package_name": gpd.PACKAGE, "service_account_file": str(self.account), "base_url": self.server.url}
        return build(GooglePlayDeveloperConnector, "googleplay_developer", options, http=quiet_http("gpd"))

    def publish(self) -> str:
        self.reviews.append(gpd.review(80, "Support replied within an hour"))
        return gpd.review(80)["reviewId"]


class IntercomCase:
    def start(self, server: LocalServer, tmp_path: Path, monkeypatch: Any) -> None:
        self.server = server
        self.conversations = [ic.conversation(1), {"id": "bad", "updated_at": ic.BASE, "source": {"author": {"type": "user"}}}, ic.conversation(2)]
        server.add(ic.PATH, ic.Search(self.conversations), method="POST")

    def connector(self) -> Connector:
        from connectors.intercom import IntercomConnector

        options = {"access_token": ic.TOKEN, "base_url": self.server.url}
        return build(IntercomConnector, "intercom", options, http=quiet_http("intercom"))

    def publish(self) -> str:
        self.conversations.append(ic.conversation(90, "<p>Acme lost my parcel</p>", updated=int(time.time()) - 90))
        return "conversation:1090"


CASES = {
    "intercom": IntercomCase,
    "appstoreconnect": AppStoreConnectCase,
    "googleplay_developer": GooglePlayDeveloperCase,
    "bluesky": BlueskyCase,
    "files": FilesCase,
    "reddit": RedditCase,
    "appstore": AppStoreCase,
    "googleplay": GooglePlayCase,
    "rss": RssCase,
    "hackernews": HackerNewsCase,
    "mastodon": MastodonCase,
    "youtube": YouTubeCase,
    "zendesk": ZendeskCase,
}


@pytest.fixture(params=sorted(CASES))
def case(request, tmp_path, monkeypatch):
    with LocalServer() as server:
        instance = CASES[request.param]()
        instance.start(server, tmp_path, monkeypatch)
        yield instance


def run(connector: Connector, cursor: str | None = None):
    try:
        return drain(connector, cursor)[:3]
    finally:
        connector.close()


def test_every_registered_type_has_a_case():
    assert set(available_types()) <= set(CASES) | {"webhook", "push"}, (
        "add a contract case for new connectors"
    )


def test_yields_mentions_with_aware_utc_times(case):
    connector = case.connector()
    mentions, _, _ = run(connector)
    assert mentions
    for mention in mentions:
        assert isinstance(mention, Mention) and mention.source == connector.name
        assert mention.created_at.utcoffset() == timedelta(0)
        assert isinstance(mention.external_id, str) and mention.external_id.strip()
        assert mention.text.strip()
    assert len({m.external_id for m in mentions}) == len(mentions)


def test_ids_are_stable_across_fresh_runs(case):
    first = [m.external_id for m in run(case.connector())[0]]
    second = [m.external_id for m in run(case.connector())[0]]
    assert sorted(first) == sorted(second)


def test_resumes_from_its_cursor_without_duplicates(case):
    first, _, cursor = run(case.connector())
    again, _, cursor = run(case.connector(), cursor)
    assert not {m.external_id for m in again} & {m.external_id for m in first}
    new_id = case.publish()
    newer, _, _ = run(case.connector(), cursor)
    assert [m.external_id for m in newer] == [new_id]


def test_survives_a_malformed_item(case):
    mentions, skipped, _ = run(case.connector())
    assert mentions and skipped
    assert all(s.where and s.reason for s in skipped)


def test_an_unreadable_cursor_starts_afresh(case):
    mentions, _, _ = run(case.connector(), "{not json")
    assert mentions


def settings_table(settings) -> str:
    """The Markdown option table docs/connectors.md must contain, built from the settings
    themselves (``sentimon.settings.describe``) so the docs cannot drift from the code."""
    rows = ["| option | kind | default | meaning |", "|---|---|---|---|"]
    for setting, row in zip(settings, describe(settings)):
        default = row["default"] if row["default"] == "(required)" else f"`{row['default']}`"
        meaning = row["help"].replace("|", "\\|") + (" **Secret.**" if setting.secret else "")
        kind = row["kind"].replace("|", "\\|")
        rows.append(f"| `{row['name']}` | {kind} | {default} | {meaning} |")
    return "\n".join(rows)


DOCS = Path(__file__).resolve().parent.parent / "docs" / "connectors.md"


@pytest.mark.parametrize("type_name", sorted(CASES))
def test_settings_have_help_and_are_documented(type_name):
    cls = load_connector_class(type_name)
    assert cls.type == type_name
    assert all(setting.help for setting in cls.settings)
    section = DOCS.read_text(encoding="utf-8").split(f"## `{type_name}`", 1)[1].split("\n## ", 1)[0]
    expected = settings_table(cls.settings)
    assert expected in section, (
        f"regenerate the {type_name} table in docs/connectors.md:\n{expected}"
    )


def test_common_settings_are_documented():
    assert settings_table(COMMON_SETTINGS) in DOCS.read_text(encoding="utf-8")


if __name__ == "__main__":  # print every table, to paste into docs/connectors.md
    print(settings_table(COMMON_SETTINGS))
    for name in sorted(CASES):
        print(f"\n## `{name}`\n\n{settings_table(load_connector_class(name).settings)}")
