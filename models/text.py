"""Cutting a mention into clauses, and telling which language it is in.

Why clauses: "Parcel two weeks late, but the jacket is gorgeous" holds two opinions on two
topics. Splitting on sentence punctuation and contrastive conjunctions (but, however, although,
...) gives each topic the clause that speaks of it, and that clause its own sentiment.

Why a light language detector: the bundled model is English-only, so a German review scored as
if English is a silent error. ``py3langid`` (a few MB, numpy only, offline) marks it instead;
without it installed, ``lang`` stays unknown.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

MAX_CLAUSES = 24
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|(?<=[.!?])(?=[A-Z])|\s+[-\u2013\u2014]+\s+")
_CONTRAST = re.compile(
    r"(?:,\s*|\s+)(?=(?:but|however|although|though|yet|whereas|except|unfortunately|sadly|"
    r"otherwise|while)\b)",
    re.IGNORECASE,
)
# "but the jacket is gorgeous" reads as hedged to a sentiment head; the clause alone does not.
_LEADING = re.compile(r"^(?:but|however|although|though|yet|whereas|while)\b[\s,]*", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def clauses(text: str, limit: int = MAX_CLAUSES) -> list[str]:
    """Sentences and contrastive clauses of ``text`` that hold at least one word (see ``clause_spans``)."""
    return [text[start:end] for start, end in clause_spans(text, limit)]


def clause_spans(text: str, limit: int = MAX_CLAUSES) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences and contrastive clauses of ``text``.

    Spans, not strings, so the classifier can pool each clause from the token states of one
    encoder pass over the whole text. A part too short to stand alone ("Service, however, was
    slow") joins the next one; a leading "but"/"however" is left out. More than ``limit``
    clauses (a long review) are thinned evenly from start to end, so the cost per text stays
    bounded while every part of the text can still raise a topic.
    """
    out: list[tuple[int, int]] = []
    for s_start, s_end in _pieces(_SENTENCE, text, 0, len(text)):
        carry: tuple[int, int] | None = None
        for p_start, p_end in _pieces(_CONTRAST, text, s_start, s_end):
            start, end = _strip(text, carry[0] if carry else p_start, p_end)
            if len(_WORD.findall(text, start, end)) < 3:
                carry = (start, end)
                continue
            carry = None
            leading = _LEADING.match(text[start:end])  # anchored: match() with pos ignores "^"
            out.append((start + (leading.end() if leading else 0), end))
        if carry and len(_WORD.findall(text, *carry)) >= 2:
            out.append(carry)
    if len(out) > limit:
        step = len(out) / limit
        out = [out[int(i * step)] for i in range(limit)]
    return out


def _pieces(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans ``pattern.split(text[start:end])`` would return, as offsets into ``text``."""
    piece = text[start:end]
    spans, last = [], 0
    for match in pattern.finditer(piece):
        spans.append((start + last, start + match.start()))
        last = match.end()
    spans.append((start + last, end))
    return spans


def _strip(text: str, start: int, end: int, chars: str = " ,;:-\t\r\n") -> tuple[int, int]:
    while start < end and text[start] in chars:
        start += 1
    while end > start and text[end - 1] in chars:
        end -= 1
    return start, end


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from models.langid import load_identifier  # its unpacked copy in the cache: 0.05 s, not 0.45

    try:
        return load_identifier()
    except ImportError:
        log.info("py3langid is not installed: mention languages will not be detected")
        return None


def detect_language(text: str, min_words: int = 3, min_prob: float = 0.5) -> str | None:
    """ISO 639-1 code of ``text``, or None when unsure (short texts, mixed, no detector).

    Short tweets mislead any detector, so it answers only with ``min_words`` words and a
    probability of at least ``min_prob``; English is answered for ASCII-only short texts that
    the detector cannot place, since that is what this model reads best. 0.5, not 0.9: at 0.9
    it placed 26 of 324 Arabic and 148 of 324 Portuguese XLM-T tweets, and at 0.5 none of
    the 5,640 English tweets and reviews of five validation sets went to another language.
    """
    words = _WORD.findall(text[:2000])
    if len(words) < min_words:
        return None
    identifier = _identifier()
    if identifier is None:
        return None
    sample = " ".join(words)
    lang, prob = identifier.classify(sample)
    if prob >= min_prob:
        return str(lang)
    return "en" if sample.isascii() else None
