"""Issue 17's connectors from a real config file through the real pipeline and store: secrets
from the environment, match/exclude applied before storage, and a second run adding nothing."""

from __future__ import annotations

from connector_runs import run_rounds
from fakes import bluesky as bsky
from fakes import mastodon as mdn
from fakes import youtube as yt
from localserver import LocalServer
from sentimon.config import load_config

CONFIG = """
[storage]
path = "s.db"

[[connectors]]
name = "bluesky"
type = "bluesky"
query = "acme"
handle = "${{BSKY_HANDLE}}"
app_password = "${{BSKY_APP_PASSWORD}}"
service = "{url}"
match = ["acme shoes"]
exclude = ["acme corp"]

[[connectors]]
name = "mastodon"
type = "mastodon"
server = "{url}"
hashtags = ["acmeshoes"]
token = "${{MASTODON_TOKEN}}"
match = ["acme"]

[[connectors]]
name = "youtube"
type = "youtube"
api_key = "${{YOUTUBE_API_KEY}}"
video_ids = ["vid00000001"]
base_url = "{url}/youtube/v3"
exclude = ["re:^first!?$"]
"""

ENV = {"BSKY_HANDLE": "acme.bsky.social", "BSKY_APP_PASSWORD": bsky.PASSWORD,
       "MASTODON_TOKEN": "tok", "YOUTUBE_API_KEY": yt.KEY}


def test_all_three_run_from_config_match_and_resume(write_config, tmp_path):
    with LocalServer() as server:
        server.add(bsky.LOGIN, bsky.session(), method="POST")
        server.add(bsky.SEARCH, bsky.Search([bsky.post(1, "Acme Shoes arrived late"),
                                             bsky.post(2, "Acme Corp earnings call")]))
        server.add(mdn.TAG, mdn.Timeline([mdn.status(1), mdn.status(2, "Nice weather")]))
        server.add(yt.PATH, yt.Threads([yt.thread(1), yt.thread(2, "first")]))
        config = load_config(write_config(CONFIG.format(url=server.url)), environ=ENV)
        first, again = run_rounds(config, tmp_path / "s.db")
    assert {n: (r.ok, r.new, r.dropped) for n, r in first.items()} == {
        "bluesky": (True, 1, 1), "mastodon": (True, 1, 1), "youtube": (True, 1, 1)}
    assert all(r.ok and r.new == 0 for r in again.values())
