"""The stores' own APIs (issue 17) from a real config file through the real pipeline and store:
the App Store Connect key's text and the service account file's path come from the environment,
a second run adds nothing, and a refused key fails the run with a line that holds no secret.
Apple's and Google's servers are replaced by the local ones of the connector tests."""

from __future__ import annotations

import test_connector_appstoreconnect as asc
import test_connector_googleplay_developer as gpd
from jwtcheck import ec_key, pem, rsa_key
from connector_runs import run_rounds
from localserver import LocalServer

from sentimon.config import load_config
from sentimon.pipeline import run_connector
from sentimon.store import Store
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
"""


def test_both_run_from_config_and_resume(write_config, tmp_path):
    apple_key, google_key = ec_key(), rsa_key()
    with LocalServer() as server:
        server.add(asc.PATH, asc.Reviews(server, [asc.review(1), asc.review(2, "Love it", 5)], apple_key.public_key()))
        gpd.Google(server, [gpd.review(1), gpd.review(2, "Crashes on launch")], google_key.public_key())
        env = {"ASC_ISSUER_ID": asc.ISSUER, "ASC_KEY_ID": asc.KEY_ID, "ASC_PRIVATE_KEY": pem(apple_key),
               "PLAY_ACCOUNT_FILE": str(gpd.account_file(tmp_path, server, google_key))}
        text = CONFIG.format(url=server.url, app=asc.APP, package=gpd.PACKAGE)
        config = load_config(write_config(text), environ=env)
        first, again = run_rounds(config, tmp_path / "s.db")
        env["ASC_PRIVATE_KEY"] = pem(ec_key())  # a key Apple does not know
        refused = load_config(write_config(text), environ=env).connector("app-store")
        store = Store(tmp_path / "s.db")
        try:
            failed = run_connector(store, KeywordClassifier, refused)
        finally:
            store.close()
    assert {n: (r.ok, r.new) for n, r in first.items()} == {"app-store": (True, 2), "play": (True, 2)}
    assert all(r.ok and r.new == 0 for r in again.values())
    assert not failed.ok and "HTTP 401 NOT_AUTHORIZED" in failed.error and "PRIVATE KEY" not in failed.error
