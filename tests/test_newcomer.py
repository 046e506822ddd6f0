"""Issue 13, "the newcomer's road": what a CX lead trips over on the first day, through the real
CLI (click's runner in a temporary folder, real config files, real SQLite, feeds served from
127.0.0.1). The model is replaced by keyword rules except where the model is what is tested:
these tests are about the commands, and loading the model per test costs seconds each.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from cli_support import run


def write_rows(folder: Path, rows: list[dict]) -> Path:
    """A files-connector config over ``rows`` (JSON Lines) in ``folder``."""
    (folder / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = folder / "sentimon.toml"
    config.write_text(
        '[[connectors]]\nname = "shop"\ntype = "files"\npath = "reviews.jsonl"\n'
        'fields = { external_id = "id" }\n', encoding="utf-8",
    )
    return config


# --- 1. classify without a config file ------------------------------------------------------


def test_classify_works_without_a_config_file(tmp_path, monkeypatch):
    """The first thing a newcomer types, in an empty folder: the bundled model and the default
    taxonomy, no "config file not found". (The real model, once: it is what this tests.)"""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SENTIMON_CONFIG", raising=False)
    result = run("classify", "--format", "json", "Terrible, the parcel arrived broken and two weeks late.")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out[0]["sentiment"] == "negative"
    assert set(out[0]["scores"]) == {"negative", "neutral", "positive"}
    assert not (tmp_path / "sentimon.db").exists()  # classifying creates no database


def test_classify_with_a_named_missing_config_still_fails(tmp_path, keyword_model):
    """A config the user named (a typo in --config) is not silently replaced by the defaults."""
    result = run("classify", "late parcel", config=tmp_path / "typo.toml")
    assert result.exit_code == 2 and "config file not found" in result.output


# --- 5. CSV formula injection ---------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil.example","open")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]


def test_csv_cells_cannot_become_spreadsheet_formulas(tmp_path, keyword_model):
    """Review text, titles and authors come from strangers: in `export --format csv` and
    `mentions --format csv` a cell starting with = + - @ TAB or CR is prefixed with ' (OWASP)."""
    rows = [{"id": f"h{i}", "text": text, "title": text, "author": text, "rating": 1,
             "created_at": f"2026-11-20T1{i}:00:00Z"} for i, text in enumerate(HOSTILE)]
    rows.append({"id": "ok", "text": "a plain review, - with a dash inside", "created_at": "2026-11-21T10:00:00Z"})
    config = write_rows(tmp_path, rows)
    assert run("fetch", config=config).exit_code == 0
    export = run("export", "--format", "csv", config=config)
    listed = run("mentions", "--format", "csv", "--since", "3650d", "--limit", "100", config=config)
    for result in (export, listed):
        assert result.exit_code == 0, result.output
        parsed = {r["external_id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
        for i, text in enumerate(HOSTILE):
            for column in ("text", "title", "author"):
                assert parsed[f"h{i}"][column] == "'" + text, (column, parsed[f"h{i}"][column])
        assert parsed["ok"]["text"] == "a plain review, - with a dash inside"
        assert parsed["h0"]["rating"] == "1"


def test_one_function_guards_every_csv_writer():
    from sentimon import export, output

    assert output.spreadsheet_safe("=1+1") == "'=1+1" and output.spreadsheet_safe(-2) == -2
    # connectors strip leading whitespace today; the guard does not rely on it
    assert output.spreadsheet_safe("\t=1") == "'\t=1" and output.spreadsheet_safe("\r@x") == "'\r@x"
    assert output.spreadsheet_safe("fine - text") == "fine - text" and output.spreadsheet_safe(None) is None
    assert export.spreadsheet_safe is output.spreadsheet_safe


# --- 4. stats --by topic counts mentions, not topic tags --------------------------------------

THREE = [
    {"id": "a", "text": "Late again and the price went up", "created_at": "2026-11-20T10:00:00Z"},
    {"id": "b", "text": "Parcel came late", "created_at": "2026-11-20T11:00:00Z"},
    {"id": "c", "text": "Lovely boots", "created_at": "2026-11-21T12:00:00Z"},
]


def test_stats_by_topic_footer_counts_mentions(tmp_path, keyword_model):
    """Mention a has two topics: the footer still says 3 mentions, 2 of them negative."""
    config = write_rows(tmp_path, THREE)
    run("fetch", config=config)
    table = run("stats", "--since", "3650d", "--by", "topic", config=config)
    assert table.exit_code == 0 and "3 mentions, 67% negative" in table.output, table.output
    data = json.loads(run("stats", "--since", "3650d", "--by", "topic", "--format", "json", config=config).output)
    assert (data["total"], data["negative"]) == (3, 2)
    assert {g["topic"]: g["total"] for g in data["groups"]} == {"delivery": 2, "price": 1}


# --- 3. an RSS URL answering XML that is not a feed is an error ------------------------------

S3_DENIED = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
             '<Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>')


def test_rss_url_answering_non_feed_xml_fails_with_what_it_found(tmp_path, local_server, keyword_model):
    from localserver import Reply

    local_server.add("/feed.xml", Reply(200, S3_DENIED, {"Content-Type": "application/xml"}))
    config = tmp_path / "sentimon.toml"
    config.write_text(f'[[connectors]]\nname = "news"\ntype = "rss"\nurl = "{local_server.url}/feed.xml"\n')
    fetched = run("fetch", config=config)
    assert fetched.exit_code == 1, fetched.output
    line = next(x for x in fetched.output.splitlines() if x.startswith("news:"))
    assert "error:" in line and "not a readable RSS/Atom feed (the URL returned XML with root <Error>" in line, line
    doctor = json.loads(run("doctor", "--format", "json", config=config).output)
    health = next(c for c in doctor if c["name"] == "health news")
    assert health["status"] != "ok" and "root <Error>" in health["detail"]


# --- 8. queries ------------------------------------------------------------------------------

MIXED = [
    {"id": "en1", "text": "Parcel came late", "author": "Ann", "kind": "review", "lang": "en",
     "created_at": "2026-11-16T10:00:00Z", "rating": 1},
    {"id": "de1", "text": "Paket kam late an", "author": "bob", "kind": "review", "lang": "de",
     "created_at": "2026-11-18T10:00:00Z", "rating": 2},
    {"id": "en2", "text": "Lovely boots, fair price", "author": "Ann", "kind": "post", "lang": "en",
     "created_at": "2026-11-24T10:00:00Z", "rating": 5},
]


@pytest.fixture
def mixed(tmp_path, keyword_model) -> Path:
    config = write_rows(tmp_path, MIXED)
    assert run("fetch", config=config).exit_code == 0
    return config


def ids(config: Path, *args: str) -> list[str]:
    result = run("mentions", "--since", "3650d", "--format", "json", *args, config=config)
    assert result.exit_code == 0, result.output
    return [r["external_id"] for r in json.loads(result.stdout)]


def test_mentions_filter_by_lang_author_and_kind(mixed):
    assert ids(mixed, "--lang", "de") == ["de1"]
    assert ids(mixed, "--author", "ann") == ["en2", "en1"]  # authors match whatever their case
    assert ids(mixed, "--kind", "post") == ["en2"]
    assert ids(mixed, "--kind", "review", "--lang", "en") == ["en1"]
    assert ids(mixed, "--lang", "de", "--lang", "en") == ["en2", "de1", "en1"]


def test_mentions_json_carries_lang(mixed):
    rows = json.loads(run("mentions", "--since", "3650d", "--format", "json", config=mixed).stdout)
    assert {r["external_id"]: r["lang"] for r in rows} == {"en1": "en", "de1": "de", "en2": "en"}


@pytest.mark.parametrize("option, typo, known", [
    ("--source", "shopp", "shop"),
    ("--topic", "deliverys", "delivery"),
])
@pytest.mark.parametrize("command", ["mentions", "stats"])
def test_a_mistyped_source_or_topic_names_the_known_ones(mixed, command, option, typo, known):
    result = run(command, option, typo, config=mixed)
    assert result.exit_code == 2, result.output
    assert typo in result.output and known in result.output and "(no rows)" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and typo in errors[0] and known in errors[0]  # one line says it all


def test_known_source_and_topic_without_matches_are_not_errors(mixed):
    assert ids(mixed, "--topic", "returns") == []  # in the default taxonomy, no mention yet
    assert ids(mixed, "--source", "shop", "--topic", "price") == ["en2"]


def test_since_after_until_is_a_usage_error(mixed):
    result = run("mentions", "--since", "2026-11-20", "--until", "2026-11-10", config=mixed)
    assert result.exit_code == 2 and "--since" in result.output and "--until" in result.output
    assert run("stats", "--since", "2026-11-20", "--until", "2026-11-10", config=mixed).exit_code == 2


def test_the_table_says_how_many_of_how_many_are_shown(mixed):
    cut = run("mentions", "--since", "3650d", "--limit", "2", config=mixed)
    assert "2 of 3 shown" in cut.output
    whole = run("mentions", "--since", "3650d", config=mixed)
    assert "of 3 shown" not in whole.output and "3 mentions" in whole.output
    assert "shown" not in run("mentions", "--since", "3650d", "--limit", "2", "--format", "json", config=mixed).stdout


def test_mentions_csv_is_flat_like_export(mixed):
    rows = list(csv.DictReader(io.StringIO(run("mentions", "--since", "3650d", "--format", "csv", config=mixed).stdout)))
    exported = list(csv.DictReader(io.StringIO(run("export", "--format", "csv", config=mixed).stdout)))
    row = next(r for r in rows if r["external_id"] == "en2")
    assert row["topics"] == "price:positive" and row["lang"] == "en"
    assert float(row["score_positive"]) > 0.5 and row["corrected"] == "0"
    for value in (v for r in rows for v in r.values()):
        assert not value.startswith(("{", "[")) and value not in ("False", "True")
    shared = set(rows[0]) & set(exported[0])
    assert shared >= {"id", "source", "external_id", "text", "lang", "sentiment", "score_negative", "topics"}
    assert next(r for r in exported if r["external_id"] == "en2")["topics"] == row["topics"]


def test_stats_by_week(mixed):
    data = json.loads(run("stats", "--since", "3650d", "--until", "2026-11-30", "--by", "week", "--format", "json", config=mixed).output)
    # weeks start on Monday (UTC): 16 and 18 Nov 2026 share the week of Monday the 16th
    assert [(g["week"], g["total"], g["negative"]) for g in data["groups"]] == [("2026-11-16", 2, 2), ("2026-11-23", 1, 0)]
    table = run("stats", "--since", "3650d", "--by", "week", config=mixed)
    assert table.exit_code == 0 and "2026-11-16" in table.output and "volume" in table.output


# --- 10. first run ---------------------------------------------------------------------------


@pytest.mark.parametrize("demo", [(), ("--demo",)])
def test_init_prints_next_steps_and_writes_a_private_config(tmp_path, demo, keyword_model):
    config = tmp_path / "sentimon.toml"
    result = run("init", *demo, config=config)
    assert result.exit_code == 0, result.output
    assert "next:" in result.output and "sentimon run --once" in result.output
    assert config.stat().st_mode & 0o777 == 0o600  # it will name secrets; doctor warns on 0644
    doctor = json.loads(run("doctor", "--format", "json", config=config).output) if not demo else []
    assert not [c for c in doctor if c["name"] == "config permissions"]


def test_plain_init_says_to_add_a_connector(tmp_path):
    result = run("init", config=tmp_path / "sentimon.toml")
    assert "[[connectors]]" in result.output and "sentimon doctor" in result.output


def test_run_once_without_connectors_says_so(tmp_path, keyword_model):
    config = tmp_path / "sentimon.toml"
    config.write_text("")
    result = run("run", "--once", config=config)
    assert "no connectors configured" in result.output and "[[connectors]]" in result.output


def test_doctor_prints_durations_as_written(tmp_path, keyword_model):
    config = write_rows(tmp_path, [{"id": "1", "text": "fine", "created_at": "2026-11-20T10:00:00Z"}])
    config.write_text(config.read_text() + 'every = "1m"\n')
    checks = {c["name"]: c for c in json.loads(run("doctor", "--format", "json", config=config).stdout)}  # logs go to stderr
    assert "every 1m" in checks["connector shop"]["detail"] and "0:01:00" not in checks["connector shop"]["detail"]


MISSING_ENV = """
[[connectors]]
name = "reddit-brand"
type = "reddit"
query = "acme"
client_id = "${T13_REDDIT_ID}"
client_secret = "${T13_REDDIT_SECRET}"
user_agent = "sentimon:test:1.0"

[notifiers.slack]
type = "slack"
webhook_url = "${T13_SLACK_URL}"
"""


def test_every_missing_environment_variable_is_named_at_once(tmp_path, keyword_model, monkeypatch):
    for name in ("T13_REDDIT_ID", "T13_REDDIT_SECRET", "T13_SLACK_URL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "sentimon.toml"
    config.write_text(MISSING_ENV)
    config.chmod(0o600)
    fetched = run("fetch", config=config)
    assert fetched.exit_code == 2
    line = fetched.output.strip()
    assert "\n" not in line and all(n in line for n in ("T13_REDDIT_ID", "T13_REDDIT_SECRET", "T13_SLACK_URL"))
    doctor = run("doctor", config=config)
    assert doctor.exit_code == 1 and "Traceback" not in doctor.output
    assert "[FAIL] environment" in doctor.output and "T13_SLACK_URL" in doctor.output
    assert "T13_REDDIT_ID" in doctor.output and "[ok  ] package models" in doctor.output


def test_doctor_checks_on_past_missing_credentials(tmp_path, keyword_model, monkeypatch):
    """With only the connector's secrets unset, doctor names them and still checks the rest."""
    for name in ("T13_REDDIT_ID", "T13_REDDIT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "sentimon.toml"
    config.write_text(MISSING_ENV.split("[notifiers.slack]")[0])
    config.chmod(0o600)
    doctor = run("doctor", config=config)
    assert doctor.exit_code == 1
    assert "T13_REDDIT_ID" in doctor.output and "T13_REDDIT_SECRET" in doctor.output
    assert "] database" in doctor.output and "[ok  ] model" in doctor.output
    assert "missing credentials: client_id, client_secret" in doctor.output
    assert "every 15m" in doctor.output  # the default, parsed like a written one (was a str)


# --- 11. noise and stops ---------------------------------------------------------------------


def test_quiet_runs_and_scheduler_chatter_log_at_debug(tmp_path, keyword_model, caplog):
    """A daemon polling every minute must not print "fetched 0" each time, nor APScheduler's
    "Adding job tentatively" lines at start; -v shows both."""
    import logging

    from sentimon.logs import setup_logging

    config = write_rows(tmp_path, THREE)
    caplog.set_level(logging.DEBUG)
    run("fetch", config=config)
    run("fetch", config=config)
    run("-v", "fetch", config=config)
    fetched = [(r.levelno, r.getMessage()) for r in caplog.records if ": fetched" in r.getMessage()]
    assert fetched[0][0] == logging.INFO and "fetched 3" in fetched[0][1]
    assert len(fetched) == 2  # the quiet second run logged nothing at INFO
    assert fetched[1][0] == logging.DEBUG and "fetched 0" in fetched[1][1]  # -v shows it
    try:
        setup_logging(logging.INFO)
        assert not logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.INFO)
        setup_logging(logging.DEBUG)
        assert logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.DEBUG)
    finally:
        setup_logging(logging.INFO)


def test_ctrl_c_on_fetch_says_it_is_stopping_and_stops(tmp_path, local_server):
    """The feed hangs for 30 s; Ctrl-C prints that it is stopping and the process is gone
    within a few seconds, without a traceback, with exit status 130 (interrupted)."""
    import signal
    import subprocess
    import sys
    import time

    from localserver import Reply

    local_server.add("/slow.xml", Reply(200, "<rss/>", delay=30))
    config = tmp_path / "sentimon.toml"
    config.write_text(f'[[connectors]]\nname = "news"\ntype = "rss"\nurl = "{local_server.url}/slow.xml"\n'
                      'timeout = 60\nretries = 0\n')
    stub_cli = Path(__file__).parent / "stub_cli.py"
    process = subprocess.Popen([sys.executable, str(stub_cli), "--config", str(config), "fetch"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not local_server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert local_server.requests, "the fetch never reached the feed"
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
        took = time.monotonic() - sent
    finally:
        process.kill()
    assert "stopping" in err and "Traceback" not in err, err
    assert process.returncode == 130 and took < 5, (process.returncode, took)


# --- 6. docs that agree with the program ------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def test_readme_lists_every_table_of_a_fresh_database(tmp_path):
    from sentimon.store import Store

    store = Store(tmp_path / "s.db")
    names = [r[0] for r in store.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'mentions_fts_%'")]
    store.close()
    database_section = (ROOT / "README.md").read_text().split("## The database")[1].split("\n## ")[0]
    missing = [n for n in names if f"`{n}`" not in database_section]
    assert not missing, f"README's table list omits {missing}"


def test_init_over_an_existing_config_is_a_usage_error(tmp_path):
    config = tmp_path / "sentimon.toml"
    assert run("init", config=config).exit_code == 0
    again = run("init", config=config)
    assert again.exit_code == 2 and "--force" in again.output  # README: 2 for usage errors


def test_datasette_is_an_extra_and_the_command_says_how_to_install_it(tmp_path, monkeypatch):
    import configparser

    extras = configparser.ConfigParser()
    extras.read(ROOT / "setup.cfg")
    assert "datasette" in extras["options.extras_require"]["datasette"]
    assert "pip install 'sentimon[datasette]'" in (ROOT / "README.md").read_text()
    config = tmp_path / "sentimon.toml"
    run("init", config=config)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no datasette here
    result = run("datasette", config=config)
    assert result.exit_code == 0 and "pip install 'sentimon[datasette]'" in result.output


def test_label_help_shows_its_example_on_its_own_line():
    lines = [line.strip() for line in run("label", "--help").output.splitlines()]
    example = next(line for line in lines if line.startswith("sentimon label 42"))
    assert example.endswith("--remove-topic quality"), example
    assert any(line.startswith("Corrections feed") for line in lines)


def test_deploy_doc_runs_doctor_with_the_units_environment_file():
    unit = (ROOT / "contrib" / "sentimon.service").read_text()
    env_file = next(line.split("=", 1)[1].strip() for line in unit.splitlines() if line.startswith("EnvironmentFile="))
    blocks = (ROOT / "docs" / "deploy.md").read_text().split("```sh\n")[1:]
    commands = [c for block in blocks for c in block.split("```")[0].replace("\\\n", " ").splitlines()]
    doctor = [c for c in commands if c.startswith("sudo") and " doctor" in c.split("#")[0]]
    assert doctor and all(env_file.lstrip("-") in c for c in doctor), doctor


def test_dockerfile_installs_the_cpu_torch_wheel():
    line = next(x for x in (ROOT / "Dockerfile").read_text().splitlines() if "torch==" in x)
    assert "--index-url" in line and "/whl/cpu" in line
