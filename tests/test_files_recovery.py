"""The files connector where a CX lead meets it, through the real CLI and real SQLite: hostile
lines are skipped by file:line while the rest is stored (issue 14.1), an unclosed CSV quote
does not swallow the rows after it (14.2), id-less rows are not merged (14.4), rows skipped for
a config reason are not passed and can be re-read (13.2), and an empty glob is an error (13.3).
The model is replaced by a keyword rule: these tests are about reading files, not sentiment.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentimon.cli import cli
from sentimon.mention import Classification


class Positive:
    name = "test-positive"

    def classify(self, texts):
        scores = {"negative": 0.05, "neutral": 0.05, "positive": 0.9}
        return [Classification("positive", scores, model=self.name) for _ in texts]


@pytest.fixture(autouse=True)
def keyword_model(monkeypatch):
    import models

    monkeypatch.setattr(models, "load_classifier", lambda settings, topics: Positive())


def configure(folder: Path, path: str, extra: str = "") -> Path:
    config = folder / "sentimon.toml"
    config.write_text(
        f'[[connectors]]\nname = "shop"\ntype = "files"\npath = "{path}"\n{extra}', encoding="utf-8"
    )
    return config


def sentimon(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def stored(config: Path, column: str = "external_id") -> list:
    with sqlite3.connect(config.parent / "sentimon.db") as db:
        return [r[0] for r in db.execute(f"SELECT {column} FROM mentions ORDER BY id")]


def jsonl(rows: list) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


# --- issue 14.1: one bad line must not stall the connector ----------------------------------

HOSTILE_JSONL = [
    '{"id": "digits", "text": "too many digits", "rating": ' + "9" * 5000 + "}",
    "[" * 100_000,
    '{"id": "epoch", "text": "epoch overflow", "created_at": 1' + "0" * 400 + "}",
]


def test_hostile_lines_are_skipped_by_line_and_the_rest_of_the_glob_is_stored(tmp_path, caplog):
    data = tmp_path / "exports"
    data.mkdir()
    (data / "a.jsonl").write_text(jsonl([{"id": "a1", "text": "good before"}, *HOSTILE_JSONL,
                                         {"id": "a2", "text": "good after"}]), encoding="utf-8")
    (data / "b.csv").write_text(f'id,text\nb1,fine\nbig,"{"x" * 140_000}"\nb2,also fine\n', encoding="utf-8")
    (data / "c.jsonl").write_text(jsonl([{"id": "c1", "text": "a later file"}]), encoding="utf-8")
    config = configure(tmp_path, "exports/*")

    first = sentimon(config, "fetch")
    assert first.exit_code == 0, first.output
    assert "shop: fetched 5, new 5, skipped 4" in first.output
    for where in ("a.jsonl:2", "a.jsonl:3", "a.jsonl:4", "b.csv:3"):
        assert f"shop: skipped {where}: " in caplog.text
    assert stored(config) == ["a1", "a2", "b1", "b2", "c1"]
    again = sentimon(config, "fetch")
    assert "shop: fetched 0, new 0, skipped 0" in again.output and again.exit_code == 0


# --- issue 14.2: an unclosed quote swallows the rows after it --------------------------------


def test_an_unclosed_quote_is_reported_and_the_rows_after_it_are_stored(tmp_path, caplog):
    rows = [f"q{i},Row number {i} is fine,2026-11-0{1 + i % 9},4" for i in range(205)]
    body = "id,text,created_at,rating\n" + "\n".join(rows[:5]) + '\nqbad,"Great product but\n'
    body += "\n".join(rows[5:]) + "\n"
    (tmp_path / "reviews.csv").write_text(body, encoding="utf-8")
    config = configure(tmp_path, "reviews.csv")

    result = sentimon(config, "fetch")
    assert result.exit_code == 0, result.output
    assert "shop: fetched 205, new 205, skipped 1" in result.output
    assert "shop: skipped reviews.csv:7: unclosed quote" in caplog.text
    assert stored(config) == [f"q{i}" for i in range(205)]
    assert max(len(t) for t in stored(config, "text")) < 40


def test_an_unclosed_quote_closed_by_the_next_row_does_not_eat_it(tmp_path, caplog):
    (tmp_path / "reviews.csv").write_text(
        'id,text,rating\nq1,fine,4\nqbad,"Great product but\nq2,"Nice one",5\nq3,"Good, really",5\n',
        encoding="utf-8",
    )
    config = configure(tmp_path, "reviews.csv")
    result = sentimon(config, "fetch")
    assert "skipped 1" in result.output and "skipped reviews.csv:3: unclosed quote" in caplog.text
    assert stored(config, "text") == ["fine", "Nice one", "Good, really"]


def test_a_quoted_field_over_several_lines_is_still_one_mention(tmp_path):
    (tmp_path / "t.csv").write_text(
        'id,text,rating\n1,"Refund took\nthree weeks, two calls, one email",1\n2,ok,5\n', encoding="utf-8"
    )
    config = configure(tmp_path, "t.csv")
    assert "fetched 2, new 2, skipped 0" in sentimon(config, "fetch").output
    assert stored(config, "text")[0] == "Refund took\nthree weeks, two calls, one email"


# --- issue 14.4: mentions without an id are not merged ---------------------------------------


def test_identical_rows_without_id_are_separate_mentions_and_refetching_adds_none(tmp_path):
    rows = [{"text": "Terrible service", "rating": 1}] * 3 + [{"text": "Love it", "rating": r} for r in (5, 5, 4)]
    (tmp_path / "m.jsonl").write_text(jsonl(rows), encoding="utf-8")
    config = configure(tmp_path, "m.jsonl")
    assert "fetched 6, new 6" in sentimon(config, "fetch").output
    assert "new 0" in sentimon(config, "fetch", "--backfill").output  # re-read from the start
    assert len(stored(config)) == 6


# --- issue 13.2: rows skipped for a config reason are not lost --------------------------------

SEMICOLON_EXPORT = (
    "Ticket;Body;Created\n"
    "T-1;Parcel arrived late;04.12.2026 10:15\n"
    "T-2;Quick and friendly answer;05.12.2026 09:00\n"
)


def test_wrong_date_format_holds_the_cursor_then_date_format_and_timezone_read_the_rows(tmp_path):
    (tmp_path / "export.csv").write_text(SEMICOLON_EXPORT, encoding="utf-8")
    fields = 'delimiter = ";"\nfields = { external_id = "Ticket", text = "Body", created_at = "Created" }\n'
    config = configure(tmp_path, "export.csv", fields)
    failed = sentimon(config, "fetch")
    assert failed.exit_code == 1
    assert "export.csv:2" in failed.output and "date_format" in failed.output
    assert stored(config) == []

    configure(tmp_path, "export.csv", fields + 'date_format = "%d.%m.%Y %H:%M"\ntimezone = "Europe/Berlin"\n')
    fixed = sentimon(config, "fetch")
    assert fixed.exit_code == 0 and "fetched 2, new 2, skipped 0" in fixed.output
    assert stored(config, "created_at") == ["2026-12-04T09:15:00Z", "2026-12-05T08:00:00Z"]


def test_an_unknown_timezone_is_a_config_error(tmp_path):
    (tmp_path / "export.csv").write_text(SEMICOLON_EXPORT, encoding="utf-8")
    config = configure(tmp_path, "export.csv", 'timezone = "Mars/Olympus"\n')
    result = sentimon(config, "fetch")
    assert result.exit_code == 2 and "timezone" in result.output and "Mars/Olympus" in result.output


def test_connectors_reset_reads_the_files_again(tmp_path):
    (tmp_path / "m.jsonl").write_text(jsonl([{"id": "1", "text": "one"}, {"id": "2", "text": "two"}]))
    config = configure(tmp_path, "m.jsonl")
    sentimon(config, "fetch")
    with sqlite3.connect(tmp_path / "sentimon.db") as db:
        db.execute("DELETE FROM mentions WHERE external_id = '2'")
    assert "fetched 0" in sentimon(config, "fetch").output
    reset = sentimon(config, "connectors", "reset", "shop")
    assert reset.exit_code == 0 and "shop" in reset.output
    assert "fetched 2, new 1" in sentimon(config, "fetch").output
    assert sorted(stored(config)) == ["1", "2"]


def test_connectors_reset_since_rereads_only_files_changed_since(tmp_path):
    import os

    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text(jsonl([{"id": "o", "text": "old file"}]))
    new.write_text(jsonl([{"id": "n", "text": "new file"}]))
    os.utime(old, (1_700_000_000, 1_700_000_000))  # November 2023
    config = configure(tmp_path, "*.jsonl")
    sentimon(config, "fetch")
    with sqlite3.connect(tmp_path / "sentimon.db") as db:
        db.execute("DELETE FROM mentions")
    assert sentimon(config, "connectors", "reset", "shop", "--since", "2024-01-01").exit_code == 0
    assert stored(config) == [] and "fetched 1, new 1" in sentimon(config, "fetch").output
    assert stored(config) == ["n"]


def test_connectors_reset_of_an_unknown_name_is_a_usage_error(tmp_path):
    config = configure(tmp_path, "m.jsonl")
    result = sentimon(config, "connectors", "reset", "nope")
    assert result.exit_code == 2 and "nope" in result.output


# --- issue 13.3: a glob that matches nothing ------------------------------------------------


def test_a_glob_matching_nothing_is_an_error_saying_what_is_there(tmp_path):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "tickets.CSV.txt").write_text("x")
    config = configure(tmp_path, "exports/*.csv")
    result = sentimon(config, "fetch")
    assert result.exit_code == 1
    line = next(ln for ln in result.output.splitlines() if ln.startswith("shop:"))
    assert "no file matches" in line and "tickets.CSV.txt" in line


def test_connectors_reset_since_on_a_type_that_cannot_is_a_usage_error(tmp_path):
    config = tmp_path / "sentimon.toml"
    config.write_text('[[connectors]]\nname = "news"\ntype = "rss"\nurl = "http://127.0.0.1:9/feed"\nretries = 0\n')
    sentimon(config, "fetch")  # creates the database (the feed is down: an error, no matter)
    result = sentimon(config, "connectors", "reset", "news", "--since", "7d")
    assert result.exit_code == 2 and "--since is not supported" in result.output
    assert sentimon(config, "connectors", "reset", "news").exit_code == 0


def test_a_wrong_delimiter_holds_the_cursor_and_says_what_to_check(tmp_path):
    (tmp_path / "export.csv").write_text(SEMICOLON_EXPORT, encoding="utf-8")
    config = configure(tmp_path, "export.csv", 'fields = { text = "Body" }\n')
    failed = sentimon(config, "fetch")
    assert failed.exit_code == 1 and "export.csv:2: text: missing" in failed.output
    assert "delimiter" in failed.output
    configure(tmp_path, "export.csv", 'delimiter = ";"\nfields = { text = "Body", created_at = "Created" }\n'
              'date_format = "%d.%m.%Y %H:%M"\n')
    assert "fetched 2, new 2" in sentimon(config, "fetch").output
