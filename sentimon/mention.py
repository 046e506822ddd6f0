"""The one record type that crosses every boundary: a ``Mention`` and its ``Classification``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

SENTIMENTS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Mention:
    """A review, post, comment or article about the brand, as a connector found it.

    ``source`` is the connector instance's configured name; ``external_id`` is unique
    within it, so ``(source, external_id)`` identifies a mention across re-fetches.
    """

    source: str
    external_id: str
    text: str
    created_at: datetime
    kind: str = "post"
    url: str | None = None
    author: str | None = None
    title: str | None = None
    rating: int | None = None
    lang: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    brand: str = ""  # whose mention this is: '' for our own brand, else a competitor's name

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError("Mention.created_at must be timezone-aware")
        if self.created_at.utcoffset():
            object.__setattr__(self, "created_at", self.created_at.astimezone(timezone.utc))
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise ValueError(f"Mention.rating must be 1-5, got {self.rating}")

    @property
    def full_text(self) -> str:
        """Title and body together: what the model reads."""
        if self.title and self.title.strip() and self.title.strip() not in self.text:
            return f"{self.title.strip()}. {self.text}"
        return self.text

    def replace(self, **changes: Any) -> "Mention":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TopicScore:
    """One topic a text speaks of, how sure the model is, and the sentiment toward it."""

    name: str
    score: float
    sentiment: str


@dataclass(frozen=True)
class Classification:
    """What the model says about one text."""

    sentiment: str
    scores: dict[str, float]
    topics: tuple[TopicScore, ...] = ()
    model: str = ""
    lang: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sentiment": self.sentiment,
            "scores": {k: round(float(v), 4) for k, v in self.scores.items()},
            "topics": [
                {"name": t.name, "score": round(float(t.score), 4), "sentiment": t.sentiment}
                for t in self.topics
            ],
        }
