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


def test_missing_file_is_a_connector_error(tmp_path):
    from sentimon.errors import ConnectorError

    with pytest.raises(ConnectorError, match="no such file"):
        run(make(tmp_path / "absent.jsonl"))


def test_large_file_comes_in_bounded_batches(tmp_path):
    path = tmp_path / "big.jsonl"
    write_jsonl(path, [{"id": str(i), "text": f"mention number {i}"} for i in range(1203)])
    batches = list(make(path, fields={"external_id": "id"}).fetch(None))
    assert [len(b.mentions) for b in batches] == [500, 500, 203]
    # each batch carries the cursor for exactly the lines it holds
    assert json.loads(batches[0].cursor)[str(path.resolve())]["line"] == 500
