"""The files connector: JSONL and CSV, incremental re-runs, stable ids, bad lines by number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.files import FilesConnector
from sentimon.settings import validate
from connector_runs import drain


def make(path: Path | str, **options) -> FilesConnector:
    return FilesConnector("files", validate({"path": str(path), **options}, FilesConnector.settings, "t"))


def run(connector, cursor=None, backfill=False):
    return drain(connector, cursor, backfill)[:3]


def write_jsonl(path: Path, rows: list) -> None:
    with path.open("a", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")


def test_jsonl_import_then_only_new_lines(tmp_path):
    path = tmp_path / "m.jsonl"
    write_jsonl(path, [{"id": "a", "text": "Late parcel", "created_at": "2026-11-20T10:00:00Z", "rating": 2}])
    connector = make(path, fields={"external_id": "id"})
    first, skipped, cursor = run(connector)
    assert [(m.external_id, m.rating, m.created_at.tzinfo is not None) for m in first] == [("a", 2, True)]
    assert skipped == []
    assert run(connector, cursor)[0] == []  # nothing new
    write_jsonl(path, [{"id": "b", "text": "Great boots"}])
    second, _, _ = run(connector, cursor)
    assert [m.external_id for m in second] == ["b"]


def test_malformed_lines_are_reported_by_line_number(tmp_path):
    path = tmp_path / "m.jsonl"
    write_jsonl(path, [
        {"text": "fine one"},
        "{not json",
        {"title": "no text here"},
        {"text": "bad rating", "rating": "lots"},
        {"text": "x" * 1_048_576},
        "[1, 2]",
        {"text": "fine two", "rating": 5},
    ])
    mentions, skipped, _ = run(make(path))
    assert [m.text for m in mentions] == ["fine one", "fine two"]
    where = {s.where: s.reason for s in skipped}
    assert set(where) == {"m.jsonl:2", "m.jsonl:3", "m.jsonl:4", "m.jsonl:5", "m.jsonl:6"}
    assert "JSON" in where["m.jsonl:2"]
    assert "text" in where["m.jsonl:3"] and "rating" in where["m.jsonl:4"] and "text" in where["m.jsonl:5"]


def test_rows_without_id_get_a_stable_content_id(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    row = {"text": "Same words", "author": "jo", "created_at": "2026-11-20T10:00:00Z"}
    write_jsonl(a, [row])
    write_jsonl(b, [row, {**row, "text": "Other words"}])
    (ma,), _, _ = run(make(a))
    mb, _, _ = run(make(b))
    assert ma.external_id == mb[0].external_id != mb[1].external_id


def test_csv_with_field_mapping_glob_and_quoted_newlines(tmp_path):
    (tmp_path / "t1.csv").write_text(
        'Ticket ID,Body,Created,Stars\n1,"Refund took\nthree weeks",2026-11-01T09:00:00Z,1\n2,Quick reply,2026-11-02,4\n',
        encoding="utf-8",
    )
    (tmp_path / "t2.csv").write_text("Ticket ID,Body,Created,Stars\n3,Boots fit well,,5\n", encoding="utf-8")
    fields = {"external_id": "Ticket ID", "text": "Body", "created_at": "Created", "rating": "Stars"}
    connector = make(tmp_path / "*.csv", fields=fields)
    mentions, skipped, cursor = run(connector)
    assert [(m.external_id, m.rating) for m in mentions] == [("1", 1), ("2", 4), ("3", 5)]
    assert mentions[0].text == "Refund took\nthree weeks"
    with (tmp_path / "t1.csv").open("a") as f:
        f.write("4,Another ticket,2026-11-03,3\n")
    again, _, _ = run(connector, cursor)
    assert [m.external_id for m in again] == ["4"]


def test_truncated_file_is_read_again_from_the_start(tmp_path):
    path = tmp_path / "m.jsonl"
    write_jsonl(path, [{"id": str(i), "text": f"row {i}"} for i in range(5)])
    connector = make(path, fields={"external_id": "id"})
    _, _, cursor = run(connector)
    path.write_text(json.dumps({"id": "new", "text": "fresh file"}) + "\n")
    mentions, _, _ = run(connector, cursor)
    assert [m.external_id for m in mentions] == ["new"]


def test_a_file_rewritten_in_place_and_longer_is_read_again_from_the_start(tmp_path):
    """A nightly full export copied over the file (same inode, newest rows first, longer than
    the old offset): reading went on mid-line at the old offset and the new rows were lost."""
    path = tmp_path / "m.jsonl"
    old = [{"id": f"old{i}", "text": f"old review {i}"} for i in range(5)]
    write_jsonl(path, old)
    inode = path.stat().st_ino
    connector = make(path, fields={"external_id": "id"})
    _, _, cursor = run(connector)
    path.write_text("")  # what `cp export.jsonl m.jsonl` does: truncate, then write
    write_jsonl(path, [{"id": f"new{i}", "text": f"brand new review {i}"} for i in range(3)] + old)
    assert path.stat().st_ino == inode
    mentions, skipped, cursor = run(connector, cursor)
    assert skipped == [] and {"new0", "new1", "new2"} <= {m.external_id for m in mentions}
    write_jsonl(path, [{"id": "late", "text": "appended"}])
    appended, _, cursor = run(connector, cursor)
    assert [m.external_id for m in appended] == ["late"]  # appends are still read alone
    legacy = json.dumps({k: {f: v[f] for f in ("offset", "line", "inode")} for k, v in json.loads(cursor).items()})
    assert run(connector, legacy)[0] == []  # a cursor saved before the hash keeps its place


def test_missing_file_is_a_connector_error(tmp_path):
    from sentimon.errors import ConnectorError

    with pytest.raises(ConnectorError, match="no such file"):
        run(make(tmp_path / "absent.jsonl"))


def test_a_folder_as_path_says_so_and_how_to_name_its_files(tmp_path):
    from sentimon.errors import ConnectorError

    with pytest.raises(ConnectorError, match=r"is a folder; name its files with a pattern, like .*\*\.jsonl"):
        run(make(tmp_path))


def test_large_file_comes_in_bounded_batches(tmp_path):
    path = tmp_path / "big.jsonl"
    write_jsonl(path, [{"id": str(i), "text": f"mention number {i}"} for i in range(1203)])
    batches = list(make(path, fields={"external_id": "id"}).fetch(None))
    assert [len(b.mentions) for b in batches] == [500, 500, 203]
    # each batch carries the cursor for exactly the lines it holds
    assert json.loads(batches[0].cursor)[str(path.resolve())]["line"] == 500


# --- issue 14: hostile lines, unclosed quotes, identity -------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from fuzzing import budget  # noqa: E402

_hostile_line = st.one_of(
    st.text(max_size=60).map(lambda t: t.replace("\n", " ").replace("\r", " ")),
    st.integers(1, 30_000).map(lambda n: "[" * n),
    st.integers(4_000, 6_000).map(lambda n: '{"text": "x", "rating": ' + "7" * n + "}"),
    st.integers(300, 500).map(lambda n: '{"text": "x", "created_at": 1' + "0" * n + "}"),
    st.sampled_from(['{"text": "x", "created_at": 1e999}', '{"text": "x", "rating": -1e400}',
                     '{"text": {"deep": [[[[]]]]}}', '{"text": "x", "created_at": [1]}']),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_hostile_line, min_size=1, max_size=6))
def test_any_line_is_a_mention_or_a_numbered_skip_and_good_lines_survive(tmp_path_factory, lines):
    folder = tmp_path_factory.mktemp("hostile")
    write_jsonl(folder / "a.jsonl", [{"id": "first", "text": "good"}, *lines, {"id": "last", "text": "good"}])
    write_jsonl(folder / "b.jsonl", [{"id": "later", "text": "a later file"}])
    mentions, skipped, _ = run(make(folder / "*.jsonl"))
    ids = [m.external_id for m in mentions]
    assert ids[0] == "first" and ids[-2:] == ["last", "later"]
    assert len(mentions) + len(skipped) == len([line for line in lines if line.strip()]) + 3
    assert all(s.where.startswith("a.jsonl:") for s in skipped)


def test_csv_field_over_the_csv_module_limit_is_one_skipped_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(f'id,text\n1,fine\n2,"{"x" * 140_000}"\n3,{"y" * 140_000}\n4,also fine\n', encoding="utf-8")
    mentions, skipped, _ = run(make(path))
    assert [m.external_id for m in mentions] == ["1", "4"]
    assert [s.where for s in skipped] == ["t.csv:3", "t.csv:4"]


def test_unclosed_quote_at_the_end_waits_for_the_rest_of_the_row(tmp_path):
    """A writer may still be appending a quoted field over several lines: not an error yet."""
    path = tmp_path / "t.csv"
    path.write_text('id,text\n1,fine\n2,"a review still being\nwritten\n', encoding="utf-8")
    connector = make(path)
    mentions, skipped, cursor = run(connector)
    assert [m.external_id for m in mentions] == ["1"] and skipped == []
    with path.open("a") as f:
        f.write('by its writer"\n3,next\n')
    mentions, skipped, _ = run(connector, cursor)
    assert [(m.external_id, m.text) for m in mentions] == [("2", "a review still being\nwritten\nby its writer"),
                                                          ("3", "next")]


def test_rows_without_id_keep_their_identity_by_content_and_line(tmp_path):
    path = tmp_path / "m.jsonl"
    write_jsonl(path, [{"text": "Terrible service", "rating": 1}] * 2 + [{"text": "Terrible service", "rating": 2}])
    first, _, _ = run(make(path))
    again, _, _ = run(make(path))  # a re-read (reset, backfill, replaced file) gives the same ids
    assert len({m.external_id for m in first}) == 3
    assert [m.external_id for m in first] == [m.external_id for m in again]


def test_records_without_id_or_position_are_new_mentions_each_time():
    """What the push endpoint builds: three pushes of the same short review are three customers."""
    from connectors.records import mention_from_record

    ids = {mention_from_record({"text": "Terrible service", "rating": 1}, "webhook").external_id for _ in range(3)}
    assert len(ids) == 3


def test_date_format_and_timezone(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id;text;when\n1;late;04.12.2026 10:15\n2;ok;2026-12-01T10:00:00+05:00\n", encoding="utf-8")
    connector = make(path, delimiter=";", fields={"created_at": "when"}, date_format="%d.%m.%Y %H:%M",
                     timezone="America/New_York")
    mentions, skipped, _ = run(connector)
    assert skipped == [] and [m.created_at.isoformat() for m in mentions] == [
        "2026-12-04T15:15:00+00:00", "2026-12-01T05:00:00+00:00"]  # ISO with a zone still reads


def _mostly_rows(text: str) -> bool:
    rest = text.split("\n")[1:]
    rows = [line for line in rest if line.count(",") == 1 and line.split(",")[0].strip()]
    return len(rows) >= 2 and 2 * len(rows) > len(rest)


@settings(max_examples=budget(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # The guard's limits (connectors/filerows.py): a text starting with a line break makes `r0,"`
    # close the stray quote cleanly at a line end, valid CSV for another reading; and a text whose
    # lines mostly read as rows of their own looks like a swallow itself.
    st.lists(st.text("ab ,\n", min_size=1, max_size=12).filter(
        lambda t: t.strip() and t[0] != "\n" and not _mostly_rows(t)), min_size=1, max_size=30),
    st.integers(0, 30),
)
def test_one_unclosed_quote_anywhere_costs_only_its_own_line(tmp_path_factory, texts, where):
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "text"])
    rows = [[f"r{i}", text] for i, text in enumerate(texts)]
    at = min(where, len(rows))
    for row in rows[:at]:
        writer.writerow(row)
    out.write('bad,"Great product but\n')
    for row in rows[at:]:
        writer.writerow(row)
    path = tmp_path_factory.mktemp("quote") / "t.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    mentions, skipped, _ = run(make(path))
    stripped = {f"r{i}": text.strip() for i, text in enumerate(texts)}
    assert {m.external_id: m.text for m in mentions} == stripped
    if at == len(rows):  # the last line: a writer may still be adding to it, so it waits
        assert skipped == []
    else:
        assert len(skipped) == 1 and "quote" in skipped[0].reason
