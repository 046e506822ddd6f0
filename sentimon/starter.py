"""The text of the config plain ``sentimon init`` writes.

Everything a team may add is there as a commented example, so the first edit is removing
``# `` rather than reading docs: one ``[[connectors]]`` of every type, one
``[notifiers.NAME]`` of every type, an alert rule, the push endpoint's ``[server]`` and the
display zone. ``tests/test_starter_config.py`` uncomments each example and loads it with the
real config check, and fails when a registered connector or notifier type has none.
Options inside an example that most teams leave out are written ``# # key = ...``: taking
one ``# `` off the block leaves them commented.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

HEADER = """\
# sentimon configuration. Every setting is documented in README.md and docs/.
# Secrets never live here: write "${ENV_VAR}" and export the variable.
# To use an example below, remove one "# " from each of its lines; `sentimon doctor` checks it.

[storage]
path = "sentimon.db"          # relative to this file
# retention_days = 365        # 0 keeps every mention
# url = "${SENTIMON_DATABASE_URL}"  # PostgreSQL instead of the file above, when one machine is
#                                    # not enough (docs/postgresql.md; `sentimon migrate` moves it)

[model]
sentiment = "bundled"         # offline MiniLM-L6 model; or a Hugging Face id / local folder
# threads = 2

[daemon]
check_every = "5m"            # how often alert rules run
"""

CONNECTORS = """
# Sources. Each [[connectors]] runs every `every` (default 15m); see docs/connectors.md.

# [[connectors]]
# name = "reddit-brand"
# type = "reddit"
# every = "5m"
# query = '"Acme Shoes" OR acmeshoes'
# # subreddits = ["running", "AcmeShoes"]
# client_id = "${REDDIT_CLIENT_ID}"
# client_secret = "${REDDIT_CLIENT_SECRET}"
# user_agent = "sentimon:acme-cx:1.0 (by /u/your_account)"

# [[connectors]]
# name = "app-store"
# type = "appstore"
# every = "1h"
# app_id = "1234567890"         # the number in the App Store URL (.../id1234567890)
# countries = ["us", "gb"]

# [[connectors]]
# name = "app-store-connect"                # every review of our own app; see docs/connectors.md
# type = "appstoreconnect"                  # needs: pip install 'sentimon[stores]'
# every = "1h"
# app_id = "1234567890"                     # App Information > Apple ID
# issuer_id = "${ASC_ISSUER_ID}"
# key_id = "${ASC_KEY_ID}"
# private_key_file = "${ASC_PRIVATE_KEY_FILE}"   # the .p8 file, mode 600

# [[connectors]]
# name = "google-play"
# type = "googleplay"           # needs: pip install 'sentimon[googleplay]'
# every = "1h"
# app_id = "com.acme.shop"      # the id= in the Play Store URL
# lang = "en"
# country = "us"

# [[connectors]]
# name = "play-console"                     # every review of our own app, Play Developer API
# type = "googleplay_developer"             # needs: pip install 'sentimon[stores]'
# every = "15m"
# package_name = "com.acme.shop"
# service_account_file = "${GOOGLE_PLAY_SERVICE_ACCOUNT_FILE}"   # its JSON key, mode 600

# [[connectors]]
# name = "news"
# type = "rss"
# every = "30m"
# url = ["https://news.google.com/rss/search?q=%22Acme+Shoes%22"]

# [[connectors]]
# name = "hacker-news"
# type = "hackernews"
# every = "30m"
# query = '"Acme Shoes"'

# [[connectors]]
# name = "helpdesk-export"
# type = "files"
# path = "exports/*.csv"        # CSV or JSON Lines, relative to this file; a glob reads every match
# fields = { text = "Body", external_id = "Ticket ID", created_at = "Created" }
# # delimiter = ";"
# # date_format = "%d.%m.%Y %H:%M"   # when Created is not ISO 8601
# # timezone = "Europe/Berlin"       # zone of times written without one (default UTC)

# [[connectors]]
# name = "bluesky"
# type = "bluesky"
# query = "acme shoes"
# handle = "acme-cx.bsky.social"
# app_password = "${BLUESKY_APP_PASSWORD}"   # Settings > App passwords, not the account password

# [[connectors]]
# name = "mastodon"
# type = "mastodon"
# server = "https://mastodon.social"
# hashtags = ["AcmeShoes"]
# # query = "acme shoes"                     # full-text search needs a token on most servers
# # token = "${MASTODON_TOKEN}"

# [[connectors]]
# name = "youtube"
# type = "youtube"
# every = "1h"
# api_key = "${YOUTUBE_API_KEY}"
# channel_id = "UCxxxxxxxxxxxxxxxxxxxxxx"   # comments on every video of the channel
# # video_ids = ["dQw4w9WgXcQ"]

# [[connectors]]
# name = "zendesk"
# type = "zendesk"
# subdomain = "acme"                        # acme.zendesk.com
# email = "cx-bot@acme.example"
# api_token = "${ZENDESK_API_TOKEN}"
# include = ["tickets", "csat"]

# [[connectors]]
# name = "intercom"
# type = "intercom"
# access_token = "${INTERCOM_TOKEN}"        # Developer Hub app with "Read conversations"
# # workspace_id = "abc123de"               # app.intercom.com/a/apps/abc123de/..., for reply links
"""

ALERTS = """
# Alert rules; see docs/alerts.md. A rule names the notifiers below that it uses.

# [[alerts]]
# name = "negative spike"
# metric = "negative_share"
# window = "6h"
# baseline = "7d"
# min_mentions = 20
# cooldown = "4h"
# notify = ["slack", "email"]               # uncomment those notifiers too
"""

NOTIFIERS = """
# Notifiers: where alerts go. `sentimon doctor` connects to each without sending anything;
# `sentimon alerts test NAME` sends a test message.

# [notifiers.slack]
# type = "slack"
# webhook_url = "${SLACK_WEBHOOK_URL}"      # Slack app > Incoming Webhooks

# [notifiers.email]
# type = "email"
# host = "smtp.example.com"
# port = 587                                # STARTTLS; ssl = true and 465 for implicit TLS
# username = "alerts@acme.example"
# password = "${SMTP_PASSWORD}"
# from = "alerts@acme.example"
# to = ["cx-team@acme.example"]

# [notifiers.webhook]
# type = "webhook"
# url = "https://hooks.example.com/sentimon"   # receives the alert as signed JSON
# secret = "${WEBHOOK_SECRET}"               # HMAC-SHA256 key, see docs/alerts.md

# [notifiers.console]
# type = "console"                          # prints alerts to stdout (cron mail, trying rules)
"""

SERVER = """
# The push endpoint: other tools POST mentions to /v1/mentions; see docs/push.md.
# Set enabled = true to run it inside `sentimon run`, or start it alone with `sentimon serve`.
# Make its token with: python -c 'import secrets; print(secrets.token_urlsafe(32))'

# [server]
# enabled = true
# host = "127.0.0.1"                        # keep it local behind a TLS reverse proxy
# port = 8765
# token = "${SENTIMON_PUSH_TOKEN}"          # 16+ random characters, made as shown above
# source = "webhook"                        # stored as the mentions' source
# # channels = ["chat", "survey"]           # items may name one; stored as "webhook/chat"

# Times in the CLI and the report are shown in UTC unless a zone is set here.

# [display]
# timezone = "Europe/London"
"""


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def topics_toml(topics: Iterable[Any]) -> str:
    """``[topics.NAME]`` tables for a taxonomy, examples in the customers' words."""
    parts = []
    for topic in topics:
        examples = ", ".join(_toml_string(e) for e in topic.examples)
        parts.append(
            f"[topics.{topic.name}]\ndescription = {_toml_string(topic.description)}\n"
            f"examples = [{examples}]\n"
        )
    return "\n".join(parts)


def starter_config() -> str:
    """The commented config plain ``sentimon init`` writes: storage, model, the default CX
    taxonomy, and a commented example of everything else a team may configure."""
    import models

    return (
        HEADER
        + "\n# Topics: edit descriptions and examples in your customers' words.\n"
        + topics_toml(models.DEFAULT_TOPICS)
        + CONNECTORS + ALERTS + NOTIFIERS + SERVER
    )
