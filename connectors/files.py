"""Files connector: JSON Lines and CSV exports (surveys, helpdesk tickets, review dumps).

Files are read from where the last run stopped (a byte offset per file, kept in the cursor),
so re-running imports only appended lines; a file that shrank, was replaced, or was rewritten
in place (``cp`` over it keeps its inode: the bytes before the offset differ) is read again from
the start and deduplication drops what is already stored. Rows come from
``connectors.filerows`` in batches, so a large file never sits in memory; a bad line is
skipped and reported as ``file:line``, and a file that cannot be read is reported while the
other files of the glob are still read.

Identity: a row's ``external_id`` column when mapped, else a hash of its content and its line
number (docs/connectors.md, "Identity"), so re-reading a file is idempotent and two identical
short reviews stay two mentions.

A row skipped because of the config (a date layout, a column name, a delimiter) must not be
lost: when no row of a batch could be read and every failure names the same field, the run
fails with that line and the cursor stays before it, so fixing the config reads the rows.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Iterator
from zoneinfo import ZoneInfo

from connectors.base import Batch, Connector, ConnectorOptions, Skipped
from connectors.filerows import Position, Row, csv_rows, jsonl_rows
from connectors.incremental import ITEM_ERRORS, isolated, load_cursor
from connectors.records import RECORD_FIELDS, mention_from_record
from sentimon.errors import ConnectorError
from sentimon.mention import Mention
from sentimon.settings import setting

BATCH_LINES = 500
# Turning one record into a Mention may also recurse too deep on a hostile value.
ROW_ERRORS: tuple[type[Exception], ...] = ITEM_ERRORS + (RecursionError,)
_HINTS = {
    "created_at": "set date_format (and timezone) to the file's date layout, or map created_at in fields",
    "text": "map the text column in fields, or check the delimiter",
}


@dataclass(frozen=True, kw_only=True)
class FilesOptions(ConnectorOptions):
    """Settings of `files` connectors."""

    path: Path = setting(
        "path", help="A file or a glob such as exports/*.csv (relative to the config file).",
    )
    format: str = setting(
        "str", "auto", help="auto (by extension), jsonl or csv.", choices=("auto", "jsonl", "csv"),
    )
    fields: dict[str, str] = setting(
        "dict[str,str]", {}, help="Mention field -> column name, where they differ.",
    )
    kind: str = setting("str", "review", help="Kind of mention for rows without a kind column.")
    delimiter: str = setting("str", ",", help="CSV delimiter.")
    date_format: str = setting(
        "str", "",
        help="strptime layout of created_at values that are not ISO 8601, such as %d.%m.%Y %H:%M; "
            "ISO 8601 values are read either way.",
    )
    timezone: str = setting(
        "timezone", "UTC",
        help="Time zone of created_at values written without one, such as Europe/Berlin.",
    )


class FilesConnector(Connector):
    type: ClassVar[str] = "files"
    supports_backfill: ClassVar[bool] = True  # --backfill reads every file from the start
    Options = FilesOptions
    options: FilesOptions

    def _files(self) -> list[Path]:
        pattern = str(self.options.path)
        if glob.has_magic(pattern):
            found = [Path(p) for p in sorted(glob.glob(pattern)) if os.path.isfile(p)]
            if not found:
                raise ConnectorError(f"{self.name}: no file matches {pattern} ({_what_is_there(pattern)})")
            return found
        path = Path(pattern)
        if path.is_dir():  # "no such file" sent people looking for a file that was never meant
            raise ConnectorError(f"{self.name}: {path} is a folder; name its files with a pattern, "
                                 f"like {path / '*.jsonl'}")
        if not path.is_file():
            raise ConnectorError(f"{self.name}: no such file {path}" if not path.exists()
                                 else f"{self.name}: {path} is not a regular file")
        return [path]

    def _format(self, path: Path) -> str:
        if self.options.format != "auto":
            return self.options.format
        return "csv" if path.suffix.lower() in (".csv", ".tsv") else "jsonl"

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        positions: dict[str, Any] = {} if backfill else load_cursor(cursor, self.name)
        parts = [(path.name, partial(self._read_file, path, positions)) for path in self._files()]
        yield from isolated(self.name, parts, lambda: json.dumps(positions, sort_keys=True))

    def reset_cursor(self, cursor: str | None, since: datetime | None) -> str | None:
        """``connectors reset --since``: files modified since then are read again from the
        start; the others keep their place."""
        if since is None:
            return None
        kept = {}
        for key, position in load_cursor(cursor, self.name).items():
            try:
                if os.stat(key).st_mtime < since.timestamp():
                    kept[key] = position
            except OSError:
                continue
        return json.dumps(kept, sort_keys=True) if kept else None

    def _read_file(self, path: Path, positions: dict[str, Any]) -> Iterator[Batch]:
        key = str(path.resolve())
        try:
            stat = path.stat()
            saved = _saved(positions.get(key))
            if (saved.inode != stat.st_ino or saved.offset > stat.st_size
                    or _rewritten(path, saved, positions.get(key))):
                saved = Position(inode=stat.st_ino)  # replaced, truncated or rewritten: start over
            for mentions, skipped, position in self._read(path, saved):
                positions[key] = {**position.as_dict(), "before": _before(path, position.offset)}
                yield Batch(mentions, json.dumps(positions, sort_keys=True), skipped)
        except OSError as exc:
            raise ConnectorError(f"{path}: cannot be read ({exc.strerror or exc})") from None

    def _read(self, path: Path, start: Position) -> Iterator[tuple[list[Mention], list[Skipped], Position]]:
        """Yield (mentions, skipped, position after them) every BATCH_LINES rows."""
        if self._format(path) == "csv":
            rows = csv_rows(path, start, self.options.delimiter)
        else:
            rows = jsonl_rows(path, start)
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH_LINES:
                yield self._convert(path, batch)
                batch = []
        if batch:
            yield self._convert(path, batch)

    def _convert(self, path: Path, rows: list[Row]) -> tuple[list[Mention], list[Skipped], Position]:
        """Mentions and skips of one batch; ConnectorError when the config is the likely cause."""
        now = datetime.now(timezone.utc)
        zone = ZoneInfo(self.options.timezone)
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        field_failures: list[tuple[int, str]] = []
        for row in rows:
            if row.record is None:
                skipped.append(Skipped(f"{path.name}:{row.line}", row.error or "unreadable"))
                continue
            try:
                mentions.append(mention_from_record(
                    row.record, self.name, fields=self.options.fields,
                    default_kind=self.options.kind, now=now, position=str(row.line),
                    date_format=self.options.date_format, tz=zone,
                ))
            except ROW_ERRORS as exc:
                reason = str(exc) or type(exc).__name__
                skipped.append(Skipped(f"{path.name}:{row.line}", reason))
                field_failures.append((row.line, reason))
        if not mentions and (len(field_failures) > 1 or rows[0].line <= 2):
            _refuse_if_config(path, field_failures)
        return mentions, skipped, rows[-1].end


def _refuse_if_config(path: Path, failures: list[tuple[int, str]]) -> None:
    """Every readable row (several, or the file's first) failed on the same field: that is a
    config problem (a date layout, a column name), not bad data, so stop before these rows
    instead of skipping them."""
    fields = {reason.split(":", 1)[0] for _, reason in failures}
    if len(fields) != 1 or not fields <= set(RECORD_FIELDS):
        return
    (field,) = fields
    line, reason = failures[0]
    hint = _HINTS.get(field, "check fields, delimiter and date_format")
    rows = "the file's first row" if len(failures) == 1 else f"all {len(failures)} rows read"
    raise ConnectorError(
        f"{path.name}:{line}: {reason}; {rows} failed so, likely a config mistake: {hint} "
        "(nothing was skipped: the next fetch reads these rows again)"
    )


def _saved(data: Any) -> Position:
    """The stored position of one file; anything odd reads the file from the start."""
    try:
        return Position(**{k: int(data[k]) for k in ("offset", "line", "inode")})
    except (TypeError, KeyError, ValueError):
        return Position()


def _before(path: Path, offset: int) -> str:
    """A hash of the up to 1 KB just before ``offset``. A nightly export copied over the file
    keeps its inode and may be longer than the old offset; without this check reading went on
    mid-line at the old offset and the new rows before it were never stored."""
    start = max(0, offset - 1024)
    with path.open("rb") as handle:
        handle.seek(start)
        return hashlib.sha256(handle.read(offset - start)).hexdigest()[:16]


def _rewritten(path: Path, saved: Position, data: Any) -> bool:
    """Whether the bytes before the saved offset changed (a cursor from before this check has
    no hash: it keeps its place)."""
    expected = data.get("before") if isinstance(data, dict) else None
    return isinstance(expected, str) and _before(path, saved.offset) != expected


def _what_is_there(pattern: str) -> str:
    """What the folder of a glob holds, so "no file matches" says why."""
    parts = Path(pattern).parts
    folder = Path(*[p for p in parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))]] or ".")
    if not folder.is_dir():
        return f"folder {folder} does not exist"
    names = sorted(p.name for p in folder.iterdir())
    if not names:
        return f"folder {folder} is empty"
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{folder} holds {shown}"
