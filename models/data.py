"""Labelled JSONL files for ``sentimon model train|eval``: one reader, one label mapping.

Sentiment rows are ``{"text", "label"}``; a ``sentiment`` field is accepted instead, and a 1-5
``rating`` is mapped (1-2 negative, 3 neutral, 4-5 positive) when neither is present. A
``title`` is joined to the text the way ``Mention.full_text`` does, so training sees what the
pipeline classifies. Topic rows are ``{"text", "aspects": [{"category", "polarity"}]}``.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from sentimon.errors import ModelError
from sentimon.mention import SENTIMENTS

_ALIASES = {"neg": "negative", "pos": "positive", "neu": "neutral", "0": "negative",
            "1": "neutral", "2": "positive"}
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def unescape(text: str) -> str:
    """Decode literal ``\\u2019`` sequences left in exported tweets (TweetEval keeps them)."""
    if "\\u" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def rating_to_sentiment(rating: int) -> str:
    return "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"


@dataclass(frozen=True)
class Aspect:
    category: str
    polarity: str


@dataclass(frozen=True)
class Example:
    """One labelled row: the text, its sentiment (or None) and its aspects (may be empty)."""

    text: str
    label: str | None = None
    aspects: tuple[Aspect, ...] = ()


def _text(row: dict, where: str) -> str:
    text = row.get("text")
    if not isinstance(text, str):
        raise ModelError(f"{where}: expected a string field 'text'")
    title = row.get("title")
    if isinstance(title, str) and title.strip() and title.strip() not in text:
        text = f"{title.strip()}. {text}"
    return text


def _label(row: dict, where: str) -> str | None:
    for key in ("label", "sentiment"):
        value = row.get(key)
        if value is not None:
            value = _ALIASES.get(str(value).lower(), str(value).lower())
            if value not in SENTIMENTS:
                raise ModelError(f"{where}: {key} must be negative, neutral or positive, got {row[key]!r}")
            return value
    rating = row.get("rating")
    if isinstance(rating, (int, float)) and not isinstance(rating, bool) and 1 <= rating <= 5:
        return rating_to_sentiment(int(round(rating)))
    return None


def read_jsonl(path: str | Path, task: str = "sentiment") -> list[Example]:
    """Read one file; raise ModelError naming the file and line for anything unusable."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows: list[Example] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ModelError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ModelError(f"{where}: expected a JSON object")
        text = _text(row, where)
        if task == "sentiment":
            label = _label(row, where)
            if label is None:
                raise ModelError(f"{where}: no 'label', 'sentiment' or 1-5 'rating' field")
            rows.append(Example(text, label))
        else:
            aspects = row.get("aspects")
            if not isinstance(aspects, list):
                raise ModelError(f"{where}: expected 'aspects' as a list of {{category, polarity}}")
            rows.append(Example(text, _label(row, where) if task == "both" else None, tuple(
                Aspect(str(a.get("category", "")), str(a.get("polarity", "")))
                for a in aspects if isinstance(a, dict)
            )))
    if not rows:
        raise ModelError(f"{path}: no labelled rows")
    return rows


def read_many(paths: Iterable[str | Path], task: str = "sentiment") -> list[Example]:
    rows: list[Example] = []
    for path in paths:
        rows.extend(read_jsonl(path, task))
    return rows


def split(rows: Sequence[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A stratified (by label) split: ``(train, held_out)`` with ``fraction`` held out."""
    by_label: dict[str | None, list[Example]] = {}
    for row in rows:
        by_label.setdefault(row.label, []).append(row)
    rng = random.Random(seed)
    train: list[Example] = []
    held: list[Example] = []
    for label in sorted(by_label, key=str):
        group = list(by_label[label])
        rng.shuffle(group)
        cut = int(round(len(group) * fraction))
        held.extend(group[:cut])
        train.extend(group[cut:])
    return train, held
