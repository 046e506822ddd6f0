"""The stores' own APIs and the Intercom inbox (issue 17) from one real config file through the
real pipeline and store: the App Store Connect key's text, the service account file's path and
Intercom's token come from the environment, a second run adds nothing, and a refused key fails
the run with a line that holds no secret. Apple's, Google's and Intercom's servers are replaced
by the local ones of the connector tests."""

from __future__ import annotations

from connector_runs import run_rounds
from fakes import appstoreconnect as asc
from fakes import googleplay_developer as gpd
from fakes import intercom as icm
from jwtcheck import ec_key, pem, rsa_key
from localserver import LocalServer

from sentimon.config import load_config
from sentimon.pipeline import run_connector
from sentimon.store import MentionQuery, Store
from stubs import KeywordClassifier

CONFIG = """
[storage]
path = "s.db"

[[connectors]]
name = "app-store"
type = "appstoreconnect"
app_id = "{app}"
issuer_id = "${{ASC_ISSUER_ID}}"
key_id = "${{ASC_KEY_ID}}"
private_key = "${{ASC_PRIVATE_KEY}}"
base_url = "{url}"

[[connectors]]
name = "play"
type = "googleplay_developer"
package_name = "{package}"
service_account_file = "${{PLAY_ACCOUNT_FILE}}"
base_url = "{url}"

[[connectors]]
name = "inbox"
type = "intercom"
access_token = "${{INTERCOM_TOKEN}}"
workspace_id = "abc123de"
base_url = "{url}"
"""


def test_all_three_run_from_config_and_resume(write_config, tmp_path):
    apple_key, google_key = ec_key(), rsa_key()
    with LocalServer() as server:
        server.add(asc.PATH, asc.Reviews(server, [asc.review(1), asc.review(2, "Love it", 5)], apple_key.public_key()))
        gpd.Google(server, [gpd.review(1), gpd.review(2, "Crashes on launch")], google_key.public_key())
        server.add(icm.PATH, icm.Search([icm.conversation(1, remark="Slow answer", rating=2),
                                         icm.conversation(2, "<p>Buy our new range!</p>", author="admin")]),
                   method="POST")
        env = {"ASC_ISSUER_ID": asc.ISSUER, "ASC_KEY_ID": asc.KEY_ID, "ASC_PRIVATE_KEY": pem(apple_key),
               "PLAY_ACCOUNT_FILE": str(gpd.account_file(tmp_path, server, google_key)),
               "INTERCOM_TOKEN": icm.TOKEN}
        text = CONFIG.format(url=server.url, app=asc.APP, package=gpd.PACKAGE)
        config = load_config(write_config(text), environ=env)
        first, again = run_rounds(config, tmp_path / "s.db")
        env["ASC_PRIVATE_KEY"] = pem(ec_key())  # a key Apple does not know
        refused = load_config(write_config(text), environ=env).connector("app-store")
        store = Store(tmp_path / "s.db")
        try:
            failed = run_connector(store, KeywordClassifier, refused)
            inbox = store.mentions(MentionQuery(sources=["inbox"]))
        finally:
            store.close()
    assert {n: (r.ok, r.new) for n, r in first.items()} == {"app-store": (True, 2), "play": (True, 2), "inbox": (True, 2)}
    # the customer's opening and rating remark, each with its reply link; the admin's outbound message is ours
    assert sorted((m["external_id"], m["reply_url"]) for m in inbox) == [
        (f"{k}:1001", "https://app.intercom.com/a/apps/abc123de/conversations/1001") for k in ("conversation", "csat")]
    assert all(r.ok and r.new == 0 for r in again.values())
    assert not failed.ok and "HTTP 401 NOT_AUTHORIZED" in failed.error and "PRIVATE KEY" not in failed.error
