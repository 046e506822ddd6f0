"""Printing results: tables that fit the terminal, JSON, JSON Lines and CSV from the same rows."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any, Sequence

import click

FORMATS = ("table", "json", "jsonl", "csv")
# A stored row's id (MENTION_ID, EVENT_ID): a larger number than SQLite's INTEGER holds ended
# in an OverflowError traceback; now it is a usage error like any other bad argument.
ROW_ID = click.IntRange(1, 2**63 - 1)
_SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """A unicode trend line; empty input gives an empty string."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(_SPARKS[int((v - low) / span * (len(_SPARKS) - 1))] for v in values)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (the OWASP rule):
    a string starting with = + - @ TAB or CR gets a leading '. Review text, titles and authors
    come from strangers, and a CX lead opens the export in Excel. Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return " ".join(str(value).split())  # one line per row, whatever the text holds


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, flexible: str | None = None) -> str:
    """Fixed columns sized to their content; ``flexible`` takes what is left of the terminal."""
    if not rows:
        return "(no rows)"
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    if flexible in columns:
        index = columns.index(flexible)
        total = shutil.get_terminal_size((120, 24)).columns
        others = sum(w + 2 for i, w in enumerate(widths) if i != index)
        widths[index] = max(10, min(widths[index], total - others))
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    for row in cells:
        parts = []
        for value, width in zip(row, widths):
            parts.append(value if len(value) <= width else value[: max(0, width - 1)] + "…")
            parts[-1] = parts[-1].ljust(width)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def emit(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str], *, flexible: str | None = None) -> None:
    """Print ``rows`` in ``fmt``; json/jsonl/csv carry every field, the table only ``columns``."""
    if fmt == "json":
        click.echo(json.dumps(list(rows), ensure_ascii=False, indent=2, default=str))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))
    elif fmt == "csv":
        buffer = io.StringIO()
        fieldnames = list(rows[0]) if rows else list(columns)
        writer = csv.DictWriter(buffer, fieldnames=fieldnames, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({
                k: spreadsheet_safe(json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)
                for k, v in row.items()
            })
        click.echo(buffer.getvalue(), nl=False)
    else:
        click.echo(render_table(rows, columns, flexible=flexible))


def _zone(ctx: click.Context) -> Any:
    """The display zone for naive ISO dates, when the command has a config to name one."""
    from datetime import timezone

    from sentimon.timeline import display_zone

    app = getattr(ctx, "obj", None)
    path = getattr(app, "config_path", None)
    if app is None or path is None or not path.exists():
        return timezone.utc
    return display_zone(app.config)


def moment_option(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """Click callback for ``--since``/``--until``: a duration back from now or an ISO date."""
    from sentimon.durations import parse_moment

    if value is None:
        return None
    try:
        return parse_moment(value, tz=_zone(_ctx))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def private_file(path: str | Path) -> None:
    """Create ``path`` readable by its owner only (0600) before it is written: exports and
    reports hold customer text, not for every local user. An existing file keeps its mode
    (its owner may have shared it on purpose); a folder that is missing is one line."""
    from sentimon.dbfile import create_private

    try:
        create_private(Path(path))
    except OSError as exc:
        raise click.FileError(str(path), exc.strerror or str(exc)) from None
