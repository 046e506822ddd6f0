"""What ``sentimon init`` writes: a commented starter config, or the offline demo.

The demo turns the bundled sample (``sentimon/demo/mentions.jsonl``, written for this
project, with hours-before-now offsets) into two source files timestamped relative to the
moment of ``init``, so its most recent day is always "today" and the delivery spike is fresh.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from sentimon.errors import ConfigError
from sentimon.starter import starter_config

DEMO_CONFIG = """\
# The offline demo: two weeks of mentions of a fictional shop, "Acme Shoes", with a burst
# of delivery complaints in the last day. Run `sentimon run --once`, then explore with
# `sentimon mentions`, `sentimon stats --by day` and `sentimon alerts list`.

[storage]
path = "sentimon.db"

[brand]
name = "Acme Shoes"  # shown in tables, and left out of alerts' unusual phrases

[model]
sentiment = "bundled"

[[connectors]]
name = "shop-reviews"
type = "files"
path = "demo/reviews.jsonl"
every = "1m"
fields = { external_id = "id" }

[[connectors]]
name = "social"
type = "files"
path = "demo/social.jsonl"
every = "1m"
fields = { external_id = "id" }

[[alerts]]
name = "negative spike"
metric = "negative_share"
window = "12h"
baseline = "7d"
min_mentions = 20
cooldown = "4h"
notify = ["console"]

[notifiers.console]
type = "console"
"""


def demo_records(now: datetime) -> list[dict[str, Any]]:
    """The bundled sample with absolute ``created_at`` times counted back from ``now``."""
    text = resources.files("sentimon").joinpath("demo/mentions.jsonl").read_text(encoding="utf-8")
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        created = now - timedelta(hours=float(item.pop("hours_ago")))
        item["created_at"] = created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        records.append(item)
    records.sort(key=lambda r: r["created_at"])
    return records


def write_config(path: Path, *, demo: bool, force: bool, now: datetime | None = None) -> list[Path]:
    """Write the starter or demo config (and the demo's data); return the files written."""
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; use --force to overwrite it")  # usage: exit 2
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path]
    if demo:
        data_dir = path.parent / "demo"
        data_dir.mkdir(exist_ok=True)
        records = demo_records(now or datetime.now(timezone.utc))
        by_file = {
            data_dir / "reviews.jsonl": [r for r in records if r.get("channel") == "shop-reviews"],
            data_dir / "social.jsonl": [r for r in records if r.get("channel") != "shop-reviews"],
        }
        for target, rows in by_file.items():
            target.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
            )
            written.append(target)
        write_private(path, DEMO_CONFIG)
    else:
        write_private(path, starter_config())
    return written


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only (0600): the config names where secrets are
    used, and ``doctor`` warns about one every user can read. An overwritten file is narrowed
    too; the mode is set before any text is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
