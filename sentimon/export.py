"""``sentimon export``: every mention with its classification, streamed as CSV or JSON Lines.

``brand`` is exported by name (our ``[brand] name``, or "ours", for the stored ``''``), so a BI
tool can group by it without knowing sentimon's storage convention."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Sequence

from sentimon.brands import OURS
from sentimon.errors import SentimonError
from sentimon.output import spreadsheet_safe
from sentimon.mention_store import MentionStore
from sentimon.times import to_db_time

COLUMNS = [
    "id", "source", "external_id", "kind", "url", "author", "title", "text", "rating", "lang",
    "created_at", "sentiment", "score_negative", "score_neutral", "score_positive", "model",
    "corrected_by", "corrected_at", "brand", "topics",
]
_CHUNK = 1000


def export_rows(store: MentionStore, since: datetime | None = None, until: datetime | None = None, *,
                own_brand: str = OURS) -> Iterator[dict[str, Any]]:
    """Mentions in id order with a ``topics`` list, fetched by keyset pages of _CHUNK rows;
    our own brand's mentions carry ``own_brand`` as their brand."""
    last_id = 0
    start = to_db_time(since) if since else None
    end = to_db_time(until) if until else None
    while True:
        rows = store.mentions_page(COLUMNS[:-1], last_id, start, end, _CHUNK)
        if not rows:
            return
        topics = store.topics_for([r["id"] for r in rows])
        for row in rows:
            row["topics"] = topics.get(row["id"], [])
            row["brand"] = row["brand"] or own_brand
            yield row
        last_id = rows[-1]["id"]


def write_export(store: MentionStore, out: IO[str], fmt: str, *, since: datetime | None = None,
                 until: datetime | None = None, own_brand: str = OURS) -> int:
    rows = export_rows(store, since, until, own_brand=own_brand)
    if fmt == "csv":
        return write_csv(rows, out, COLUMNS)
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """One flat row as spreadsheets and BI tools read it: topics as ``name:sentiment;...``,
    scores as three columns, booleans as 1/0 and every cell spreadsheet-safe. Shared by
    ``export`` and ``mentions --format csv``, so both files load the same way."""
    flat = dict(row)
    scores = flat.pop("scores", None)
    if isinstance(scores, dict):
        flat.update({f"score_{name}": scores.get(name) for name in ("negative", "neutral", "positive")})
    if isinstance(flat.get("topics"), list):
        flat["topics"] = ";".join(f"{t['name']}:{t['sentiment']}" for t in flat["topics"])
    return {k: spreadsheet_safe(int(v) if isinstance(v, bool) else v) for k, v in flat.items()}


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str], columns: Sequence[str]) -> int:
    """Write ``rows`` flattened by ``csv_row`` under a header of ``columns``; the row count."""
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(csv_row(row))
        count += 1
    return count


def write_parquet(store: MentionStore, path: Path, *, since: datetime | None = None, until: datetime | None = None,
                  own_brand: str = OURS) -> int:
    """The same rows as a Parquet file, written one row group per chunk (bounded memory).
    Topics become a list of {name, score, sentiment} structs."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise SentimonError("Parquet export needs pyarrow: pip install 'sentimon[parquet]'") from None
    topic = pa.struct([("name", pa.string()), ("score", pa.float64()), ("sentiment", pa.string())])
    types = {"id": pa.int64(), "rating": pa.int64(), "topics": pa.list_(topic)}
    types.update({c: pa.float64() for c in ("score_negative", "score_neutral", "score_positive")})
    schema = pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])
    count = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        chunk: list[dict[str, Any]] = []
        for row in export_rows(store, since, until, own_brand=own_brand):
            chunk.append(row)
            if len(chunk) == _CHUNK:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                count, chunk = count + len(chunk), []
        if chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            count += len(chunk)
    return count
