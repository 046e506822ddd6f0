"""Rows of a JSON Lines or CSV file, each with its line number and where reading may resume.

Reading is line by line from a byte offset, so a large file never sits in memory and a re-run
starts where the last one stopped. A line that cannot be a record (bad JSON, a 5,000-digit
number, nesting 100,000 deep, a CSV field over the csv module's limit) becomes a ``Row`` with
an ``error``: the caller reports it by file and line and goes on, so one bad line never stops
a file, and never the files after it.

CSV needs one more guard. A quote opened and never closed (``7,"Great product but``) makes
a CSV reader take every following line into that one field. A record spanning several lines
is accepted only while it looks like one quoted text; once most of its continuation lines (two
or more) look like rows of their own, its closing quote is followed by text, it leaves the wrong
number of columns, or it grows past any sane size, its first line is reported and the lines
after it are read again as rows. A stray quote that happens to close cleanly at the end of a
line over text that does not look like rows cannot be told from a real multi-line field.
"""

from __future__ import annotations

import csv
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from connectors.records import MAX_TEXT_CHARS

MAX_RECORD_LINES = 1_000                 # a ticket with a long e-mail thread still fits
MAX_RECORD_CHARS = MAX_TEXT_CHARS + 10_000  # a longer record could not be stored anyway
ROW_LIKE_LIMIT = 2  # this many continuation lines shaped like rows (and most of them): a swallow


@dataclass(frozen=True)
class Position:
    """Where reading stopped in one file: bytes consumed, lines consumed, file identity."""

    offset: int = 0
    line: int = 0
    inode: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"offset": self.offset, "line": self.line, "inode": self.inode}


@dataclass(frozen=True)
class Row:
    """One record (or the reason there is none) starting at ``line``; ``end`` is where the
    next read starts once this row has been handled."""

    line: int
    end: Position
    record: dict[str, Any] | None = None
    error: str | None = None


_Line = tuple[int, int, str]  # line number, offset after the line, text


def _raw_lines(handle: BinaryIO, start: Position) -> Iterator[tuple[int, int, bytes]]:
    """Complete lines from ``start``; a trailing line without a newline is left for the next
    run, as a writer may still be appending it."""
    handle.seek(start.offset)
    offset, line_no = start.offset, start.line
    for raw in handle:
        if not raw.endswith(b"\n"):
            return
        offset += len(raw)
        line_no += 1
        yield line_no, offset, raw


def _text_lines(handle: BinaryIO, start: Position, encoding: str = "utf-8") -> Iterator[_Line]:
    for line_no, offset, raw in _raw_lines(handle, start):
        yield line_no, offset, raw.decode(encoding, errors="replace")


def jsonl_rows(path: Path, start: Position) -> Iterator[Row]:
    with open(path, "rb") as handle:
        for line_no, offset, raw in _raw_lines(handle, start):
            if raw.strip():
                yield _json_row(raw, line_no, Position(offset, line_no, start.inode))


def _json_row(raw: bytes, line_no: int, end: Position) -> Row:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return Row(line_no, end, error="not valid UTF-8")
    except json.JSONDecodeError as exc:
        return Row(line_no, end, error=f"not valid JSON ({exc.msg})")
    except ValueError as exc:  # an integer over Python's 4,300-digit limit
        return Row(line_no, end, error=f"not usable JSON ({str(exc).split(':')[0]})")
    except RecursionError:
        return Row(line_no, end, error="not usable JSON (nested too deeply)")
    if not isinstance(record, dict):
        return Row(line_no, end, error="not a JSON object")
    return Row(line_no, end, record=record)


def csv_rows(path: Path, start: Position, delimiter: str) -> Iterator[Row]:
    """Rows after the header line; the first read starts after it."""
    with open(path, "rb") as handle:
        first = next(_text_lines(handle, Position(), "utf-8-sig"), None)
        if first is None:
            return
        header = _parse([first[2]], delimiter, strict=False) or []
        if start.offset == 0:
            start = Position(first[1], 1, start.inode)
        yield from _CsvRecords(_text_lines(handle, start), header, delimiter, start.inode)


def _parse(lines: list[str], delimiter: str, *, strict: bool) -> list[str] | None:
    return next(csv.reader(lines, delimiter=delimiter, strict=strict), None)


class _Runaway(Exception):
    """A record spread over more than MAX_RECORD_LINES lines or MAX_RECORD_CHARS characters."""


class _CsvRecords:
    """CSV records over a line stream, with the unclosed-quote guard (see the module doc)."""

    def __init__(self, lines: Iterator[_Line], header: list[str], delimiter: str, inode: int) -> None:
        self.lines, self.header, self.delimiter, self.inode = lines, header, delimiter, inode
        self.back: deque[_Line] = deque()  # lines to read again as rows

    def _next_line(self) -> _Line | None:
        return self.back.popleft() if self.back else next(self.lines, None)

    def __iter__(self) -> Iterator[Row]:
        while True:
            pending: list[_Line] = []
            at_eof = False  # the file ended inside this record: its quote is still open

            def source() -> Iterator[str]:
                nonlocal at_eof
                chars = 0
                while (item := self._next_line()) is not None:
                    pending.append(item)
                    chars += len(item[2])
                    if len(pending) > 1 and (len(pending) > MAX_RECORD_LINES or chars > MAX_RECORD_CHARS):
                        raise _Runaway
                    yield item[2]
                at_eof = True

            values: list[str] | None = None
            problem: str | None = None
            try:
                values = next(csv.reader(source(), delimiter=self.delimiter, strict=True), None)
            except _Runaway:
                problem = "runaway"
            except csv.Error as exc:
                problem = str(exc)
            if not pending:
                return
            if at_eof and not any(self._row_like(item[2]) for item in pending[1:]):
                return  # an open quote at the end, nothing row-like after it: a writer may
                # still be adding to it, so it is left for the next run
            row: Row | None
            if len(pending) == 1 and not at_eof:
                row = self._single_line(pending[0], values, problem)
            else:
                row = self._multi_line(pending, values, problem, at_eof)
            if row is not None:
                yield row

    def _end(self, item: _Line) -> Position:
        return Position(item[1], item[0], self.inode)

    def _single_line(self, item: _Line, values: list[str] | None, problem: str | None) -> Row | None:
        if problem is not None:  # strict quoting failed: read the line leniently, as before
            try:
                values = _parse([item[2]], self.delimiter, strict=False)
            except csv.Error as exc:
                return Row(item[0], self._end(item), error=f"not valid CSV ({exc})")
        return self._row(item[0], self._end(item), values or [])

    def _multi_line(
        self, pending: list[_Line], values: list[str] | None, problem: str | None, at_eof: bool
    ) -> Row | None:
        """A record over several lines: accepted as one, or its first line reported and the
        lines after it put back to be read as rows."""
        row_like = sum(1 for item in pending[1:] if self._row_like(item[2]))
        width_ok = values is not None and len(values) == len(self.header)
        swallowed = row_like >= ROW_LIKE_LIMIT and 2 * row_like > len(pending) - 1
        if problem is None and not at_eof and width_ok and not swallowed:
            return self._row(pending[0][0], self._end(pending[-1]), values or [])
        self.back.extendleft(reversed(pending[1:]))
        first, last = pending[0][0], pending[-1][0]
        reason = "too long to be one field" if problem == "runaway" else (
            "not closed before the end of the file" if at_eof else
            f"closed badly ({problem})" if problem else
            "taking in lines that look like rows" if width_ok else
            f"leaving {len(values or [])} columns where the header has {len(self.header)}")
        return Row(first, self._end(pending[0]), error=(
            f"unclosed quote? the quoted field opened here runs over lines {first}-{last}, {reason}; "
            "the lines after it are read as rows"
        ))

    def _row_like(self, text: str) -> bool:
        """A line that parses on its own as a whole row of the header's width, first field set."""
        if len(self.header) < 2:
            return False
        try:
            fields = _parse([text], self.delimiter, strict=True)
        except csv.Error:
            return False
        return fields is not None and len(fields) == len(self.header) and bool(fields[0].strip())

    def _row(self, line: int, end: Position, values: list[str]) -> Row | None:
        if not any(v.strip() for v in values):
            return None  # a blank line: nothing to report
        if len(values) != len(self.header):
            return Row(line, end, error=f"{len(values)} columns where the header has {len(self.header)}")
        return Row(line, end, record={k: (v if v != "" else None) for k, v in zip(self.header, values)})
