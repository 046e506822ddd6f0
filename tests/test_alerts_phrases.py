"""Unusual phrases name the problem, not the brand: a real store, a real config, the real check."""

from __future__ import annotations

import json
from datetime import timedelta

import alerts
from sentimon.config import load_config
from sentimon.mention import Mention
from sentimon.store import Store
from test_alerts_support import NOW, seed_quiet, verdict

CONFIG = """
[brand]
name = "Acme Shoes"

[[connectors]]
name = "social"
type = "hackernews"
query = '"acme shoes" OR acmeshoes -"acme corp"'

[[alerts]]
name = "negative spike"
window = "12h"
baseline = "7d"
"""
COMPLAINTS = (
    "Acme Shoes tracking never updated",
    "@AcmeShoes tracking never updated, still no parcel",
    "acme shoes: tracking never updated since monday",
    "Acme Shoes' tracking never updated. #acmeshoes",
)


def seed_brand_spike(store: Store, n: int = 30) -> None:
    """``n`` complaints that name the brand, as social search results do, in the last 6 hours."""
    mentions = [Mention("social", f"b{i}", COMPLAINTS[i % len(COMPLAINTS)], NOW - timedelta(hours=6 * i / n),
                        kind="post", url=f"https://social.example/b{i}") for i in range(n)]
    store.save_batch("social", mentions, [verdict("negative", "delivery")] * n)


def test_phrases_leave_out_the_brand_and_keep_the_complaint_whole(tmp_path, write_config):
    config = load_config(write_config(CONFIG))
    store = Store(tmp_path / "phrases.db")
    seed_quiet(store)
    seed_brand_spike(store)
    [outcome] = alerts.check(store.db, config.alerts, now=NOW, reader=store)
    details = json.loads(store.db.execute("SELECT details FROM alert_events").fetchone()[0])
    store.close()
    phrases = [p["phrase"] for p in details["phrases"]]
    assert outcome.action == "opened"
    assert "tracking never updated" in phrases
    words = {word for phrase in phrases for word in phrase.split()}
    assert not words & {"acme", "shoes", "acmeshoes", "acme's", "shoes'"}, phrases


def test_brand_terms_are_those_of_the_rules_brand(write_config):
    config = load_config(write_config(CONFIG + """
[[connectors]]
name = "rival"
type = "mastodon"
server = "https://social.example"
hashtags = ["rivalshoes"]
brand = "Rival Shoes"

[[alerts]]
name = "rival spike"
brand = "Rival Shoes"

[[alerts]]
name = "all brands"
brand = "*"
"""))
    ours, rival, every = (set(r["brand_terms"]) for r in config.alerts)
    assert {"Acme Shoes", "AcmeShoes"} <= ours and not any("rival" in t.lower() for t in ours)
    assert not any("corp" in t for t in ours)  # a negated query term is not the brand's word
    assert rival == {"Rival Shoes", "RivalShoes", "rivalshoes"}
    assert ours | rival <= every


def quiet_baseline() -> list[str]:
    from test_alerts_support import QUIET_TEXTS

    return list(QUIET_TEXTS) * 20


def test_a_word_shared_by_several_complaints_is_not_a_complaint_of_its_own():
    from alerts.explain import unusual_phrases

    window = (["tracking never updated"] * 20 + ["never ordering from them again"] * 6
              + ["parcel never arrived"] * 6)
    listed = [(p["phrase"], p["window"]) for p in unusual_phrases(window, quiet_baseline())]
    assert listed == [("tracking never updated", 20), ("parcel never arrived", 6), ("never ordering", 6)]


def test_a_word_is_merged_into_the_phrase_it_nearly_always_sits_in():
    from alerts.explain import unusual_phrases

    window = ["tracking never updated"] * 17 + ["never again"] * 3
    assert [p["phrase"] for p in unusual_phrases(window, quiet_baseline())] == ["tracking never updated"]
