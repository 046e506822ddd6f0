"""Brand matching: keep only mentions that name the brand, drop known false matches.

Searches on social sites return whatever contains the words, so "acme" brings in Acme Corp,
Acme anvils and a band called Acme. Every connector accepts ``match`` and ``exclude``; the
pipeline applies them to each batch before classification (``BrandFilter.split``), so the
rules behave the same for every source and nothing dropped is classified or stored.

A rule is a word or phrase, matched case-insensitively on word boundaries ("acme" does not
match "acmeshoes", "@acme" matches "@acme" but not "@acmecorp"; spaces in a phrase match any
run of whitespace), or a regular expression written ``re:...`` (also case-insensitive).

Semantics, chosen so one false match never hides a real one:
- ``exclude`` spans are blanked out of the text first; with ``match`` set, a mention is kept
  when a ``match`` rule still occurs in what is left ("Acme Corp's shares fell" is dropped,
  "unlike Acme Corp, Acme Shoes refunded me" is kept);
- with no ``match``, every mention counts as on-brand unless an ``exclude`` rule occurs.

Rules come from the config (trusted); the text they run over comes from the internet, so
only the first ``MAX_SCAN_CHARS`` characters are scanned, which bounds a slow user regex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sentimon.mention import Mention
from sentimon.settings import SettingError

REGEX_PREFIX = "re:"
MAX_SCAN_CHARS = 20_000  # longer than any post or review; a 100 kB text is scanned in part


def compile_rule(rule: str) -> re.Pattern[str]:
    """One ``match``/``exclude`` entry as a case-insensitive pattern; ValueError if unusable."""
    if rule.startswith(REGEX_PREFIX):
        source = rule[len(REGEX_PREFIX):]
        if not source:
            raise ValueError(f"{rule!r}: empty regular expression")
        try:
            return re.compile(source, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{rule!r}: not a regular expression ({exc})") from None
    words = rule.split()
    if not words:
        raise ValueError(f"{rule!r}: empty; write a word, a phrase or re:PATTERN")
    # Lookarounds rather than \b so rules starting or ending in "@", "#" or "." still work.
    return re.compile(
        r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE
    )


def _compile_all(rules: Iterable[str], key: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for index, rule in enumerate(rules):
        try:
            compiled.append(compile_rule(rule))
        except ValueError as exc:
            raise SettingError(f"{key}[{index}]", str(exc)) from None
    return tuple(compiled)


@dataclass(frozen=True)
class BrandFilter:
    """Compiled ``match`` and ``exclude`` rules of one connector."""

    match: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    brand: str = ""  # the competitor this source watches; '' is our own brand

    @classmethod
    def from_options(cls, options: dict[str, Any], where: str = "connectors") -> "BrandFilter":
        """From a connector's options; SettingError names the bad rule (checked at load)."""
        return cls(
            _compile_all(options.get("match") or (), f"{where}.match"),
            _compile_all(options.get("exclude") or (), f"{where}.exclude"),
            str(options.get("brand") or "").strip(),
        )

    @property
    def active(self) -> bool:
        return bool(self.match or self.exclude)

    def keeps(self, mention: Mention) -> bool:
        """True when the mention is about the brand by these rules."""
        if not self.active:
            return True
        text = mention.full_text[:MAX_SCAN_CHARS]
        if not self.match:
            return not any(p.search(text) for p in self.exclude)
        for pattern in self.exclude:
            text = pattern.sub(" ", text)
        return any(p.search(text) for p in self.match)

    def split(self, mentions: Sequence[Mention]) -> tuple[list[Mention], int]:
        """The mentions to keep, tagged with the connector's ``brand``, and how many were
        dropped. Tagged here so every source is tagged the same way, before storage."""
        kept = [m for m in mentions if self.keeps(m)] if self.active else list(mentions)
        if self.brand:
            kept = [m.replace(brand=self.brand) for m in kept]
        return kept, len(mentions) - len(kept)
