"""Files connector: JSON Lines and CSV exports (surveys, helpdesk tickets, review dumps).

Files are read from where the last run stopped (a byte offset per file, kept in the cursor),
so re-running imports only appended lines; a file that shrank or was replaced is read again
from the start and deduplication drops what is already stored. Lines are read in batches,
so a large file never sits in memory, and each bad line is skipped with its line number.
"""

from __future__ import annotations

import csv
import glob
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Iterator

from connectors.base import Batch, Connector, Skipped
from connectors.incremental import load_cursor
from connectors.records import mention_from_record
from sentimon.errors import ConnectorError
from sentimon.mention import Mention
from sentimon.settings import Setting

BATCH_LINES = 500


@dataclass
class _Position:
    """Where reading stopped in one file: bytes consumed, lines consumed, file identity."""

    offset: int = 0
    line: int = 0
    inode: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"offset": self.offset, "line": self.line, "inode": self.inode}


class FilesConnector(Connector):
    type: ClassVar[str] = "files"
    settings: ClassVar[tuple[Setting, ...]] = (
        Setting("path", "path", help="A file or a glob such as exports/*.csv (relative to the config file)."),
        Setting("format", "str", "auto", help="auto (by extension), jsonl or csv.", choices=("auto", "jsonl", "csv")),
        Setting("fields", "dict[str,str]", {}, help="Mention field -> column name, where they differ."),
        Setting("kind", "str", "review", help="Kind of mention for rows without a kind column."),
        Setting("delimiter", "str", ",", help="CSV delimiter."),
    )

    def _files(self) -> list[Path]:
        pattern = str(self.options["path"])
        if glob.has_magic(pattern):
            return [Path(p) for p in sorted(glob.glob(pattern)) if os.path.isfile(p)]
        path = Path(pattern)
        if not path.is_file():
            raise ConnectorError(f"{self.name}: no such file {path}")
        return [path]

    def _format(self, path: Path) -> str:
        if self.options["format"] != "auto":
            return self.options["format"]
        return "csv" if path.suffix.lower() in (".csv", ".tsv") else "jsonl"

    def fetch(self, cursor: str | None, *, backfill: bool = False) -> Iterator[Batch]:
        positions: dict[str, dict[str, int]] = load_cursor(cursor, self.name)
        for path in self._files():
            key = str(path.resolve())
            stat = path.stat()
            saved = _Position(**positions.get(key, {}))
            if saved.inode != stat.st_ino or saved.offset > stat.st_size:
                saved = _Position(inode=stat.st_ino)  # replaced or truncated: start over
            for mentions, skipped, position in self._read(path, saved):
                positions[key] = position.as_dict()
                yield Batch(mentions, json.dumps(positions, sort_keys=True), skipped)

    def _read(self, path: Path, start: _Position) -> Iterator[tuple[list[Mention], list[Skipped], _Position]]:
        """Yield (mentions, skipped, position after them) every BATCH_LINES lines."""
        reader = self._csv_rows if self._format(path) == "csv" else self._jsonl_rows
        mentions: list[Mention] = []
        skipped: list[Skipped] = []
        position = _Position(start.offset, start.line, start.inode)
        now = datetime.now(timezone.utc)
        for line_no, end_offset, record in reader(path, start):
            position = _Position(end_offset, line_no, start.inode)
            if isinstance(record, str):
                skipped.append(Skipped(f"{path.name}:{line_no}", record))
            else:
                try:
                    mentions.append(mention_from_record(
                        record, self.name, fields=self.options["fields"],
                        default_kind=self.options["kind"], now=now,
                    ))
                except (ValueError, TypeError) as exc:
                    skipped.append(Skipped(f"{path.name}:{line_no}", str(exc)))
            if len(mentions) + len(skipped) >= BATCH_LINES:
                yield mentions, skipped, position
                mentions, skipped = [], []
        if mentions or skipped or position.offset != start.offset:
            yield mentions, skipped, position

    @staticmethod
    def _lines(path: Path, start: _Position) -> Iterator[tuple[int, int, bytes]]:
        """(line number, offset after the line, raw line) from ``start``; a trailing line
        without a newline is left for the next run, as a writer may still be appending it."""
        with open(path, "rb") as handle:
            handle.seek(start.offset)
            offset, line_no = start.offset, start.line
            for raw in handle:
                if not raw.endswith(b"\n"):
                    return
                offset += len(raw)
                line_no += 1
                yield line_no, offset, raw

    def _jsonl_rows(self, path: Path, start: _Position) -> Iterator[tuple[int, int, dict[str, Any] | str]]:
        for line_no, offset, raw in self._lines(path, start):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield line_no, offset, "not valid UTF-8"
                continue
            except json.JSONDecodeError as exc:
                yield line_no, offset, f"not valid JSON ({exc.msg})"
                continue
            yield line_no, offset, record if isinstance(record, dict) else "not a JSON object"

    def _csv_rows(self, path: Path, start: _Position) -> Iterator[tuple[int, int, dict[str, Any] | str]]:
        header_line = _Position()
        header_lines = self._lines(path, header_line)
        first = next(header_lines, None)
        if first is None:
            return
        header = next(csv.reader([first[2].decode("utf-8-sig", errors="replace")], delimiter=self.options["delimiter"]))
        if start.offset == 0:
            start = _Position(first[1], 1, start.inode)
        state = {"line": start.line, "offset": start.offset}

        def text_lines() -> Iterator[str]:
            for line_no, offset, raw in self._lines(path, start):
                state["line"], state["offset"] = line_no, offset
                yield raw.decode("utf-8", errors="replace")

        for values in csv.reader(text_lines(), delimiter=self.options["delimiter"]):
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                yield state["line"], state["offset"], f"{len(values)} columns where the header has {len(header)}"
                continue
            yield state["line"], state["offset"], {k: (v if v != "" else None) for k, v in zip(header, values)}
