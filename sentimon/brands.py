"""Our brand and the competitors beside it: names as people write them, and as stored.

A mention's ``brand`` column holds ``''`` for our own brand and the configured name of a
competitor otherwise (schema 0006 says why). People never type ``''``: they write our name
from ``[brand] name`` (or ``ours``) and see it in every table, so this module is the one
place that turns a written name into the stored key and back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sentimon.settings import Settings, setting, settings_of

OURS = "ours"  # what our own brand is called when [brand] name is not set
EVERY = "*"  # an alert rule's `brand = "*"`: every brand together


@dataclass(frozen=True, kw_only=True)
class BrandSettings(Settings):
    """The ``[brand]`` table, typed."""

    name: str = setting(
        "str", "",
        help='Our brand, as tables show it ("Acme Shoes"); connectors without a `brand` watch it.',
    )


BRAND_SETTINGS = settings_of(BrandSettings)


def own_name(config: Any) -> str:
    """Our brand's display name: ``[brand] name``, else "ours" (also without a config)."""
    brand: BrandSettings = getattr(config, "brand", None) or BrandSettings()
    return brand.name.strip() or OURS


def stored(name: str, config: Any) -> str:
    """The stored key of a written brand name: '' for ours (its name, "ours", or ''), the
    name itself for a competitor. Compared without case: people type "acme" for "Acme"."""
    written = name.strip()
    if written.casefold() in ("", OURS, own_name(config).casefold()):
        return ""
    return written


def shown(key: str, config: Any) -> str:
    """The name a table shows for a stored brand key."""
    return key or own_name(config)


def configured(config: Any) -> set[str]:
    """Stored keys of every brand the config's connectors watch (ours always)."""
    return {""} | {str(c.options.get("brand") or "").strip() for c in config.connectors}


def stored_all(names: Iterable[str], config: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(stored(n, config) for n in names))



_NEGATED = re.compile(r'(?:^|\s)(?:-|NOT\s+)(?:"[^"]*"|\S+)')  # -"acme corp", NOT anvils
_FIELD = re.compile(r"\b\w+:(?!//)")  # title:acme, site:...


def terms(name: str, connectors: Iterable[Any], key: str) -> tuple[str, ...]:
    """The words that name a brand in a rule's mentions: our ``[brand] name`` (or the
    competitor's), and the ``query``, ``hashtags`` and plain ``match`` rules of the connectors
    watching it (every brand's for ``key == "*"``). Those mentions were fetched for naming the
    brand, so its words say nothing about what went wrong, and the alert's phrases leave them
    out. Negated query terms and field prefixes are not the brand's words."""
    names = [name] if key in ("", EVERY) and name else []
    found: list[str] = []
    for connector in connectors:
        options = connector.options
        watched = str(options.get("brand") or "").strip()
        if key != EVERY and watched != key:
            continue
        names += [watched] if watched else []
        query = options.get("query")
        if isinstance(query, str):
            found.append(_FIELD.sub(" ", _NEGATED.sub(" ", query)))
        hashtags = options.get("hashtags") or []
        found += [hashtags] if isinstance(hashtags, str) else list(hashtags)
        found += [rule for rule in options.get("match") or () if not rule.startswith("re:")]
    joined = ["".join(n.split()) for n in names if len(n.split()) > 1]  # @AcmeShoes, #acmeshoes
    return tuple(dict.fromkeys(t.strip() for t in names + joined + found if t.strip()))
