"""Zero-shot topics: cosine similarity between a text's clauses and each topic's phrases.

Why this way: all-MiniLM-L6-v2 was trained so that mean-pooled, normalised vectors of
sentences that say the same thing lie close together. A topic is the set of its description
and example phrases; a clause's similarity to a topic is its best match among them, blended
with the match to their centroid (the centroid is robust, the best single match catches a
phrasing only one example has). It costs a matrix product on vectors the sentiment head needs
anyway, so topics come from the same encoder pass, for any taxonomy the user writes.

The threshold is calibrated on labelled aspect-category data (see ``models/calibrate.py`` and
the model card); scores are mapped through a logistic so that 0.5 sits on the threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from models.taxonomy import TopicSpec

# Calibrated on 1,000 MAMS-ACSA train sentences (models/MODEL_CARD.md): relative similarity,
# half whole text and half best clause, plus a small bonus when a taxonomy word occurs.
DEFAULT_THRESHOLD = 0.12
DEFAULT_TEMPERATURE = 0.05
DEFAULT_BLEND = 0.25  # weight of the best single phrase versus the centroid
DEFAULT_RELATIVE = 1.0  # how much of the mean similarity to all topics is subtracted
DEFAULT_KEYWORD_BONUS = 0.1


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-9)


@dataclass
class TopicIndex:
    """Prototype vectors of a taxonomy, built once when the model loads."""

    topics: list[TopicSpec]
    phrases: np.ndarray  # (n_phrases, dim), normalised
    owner: np.ndarray  # topic index of each phrase
    centroids: np.ndarray  # (n_topics, dim), normalised
    thresholds: np.ndarray  # (n_topics,)
    temperature: float = DEFAULT_TEMPERATURE
    blend: float = DEFAULT_BLEND
    relative: float = DEFAULT_RELATIVE
    keyword_bonus: float = DEFAULT_KEYWORD_BONUS
    matcher: "KeywordMatcher | None" = None
    token_weight: float = 0.0

    @classmethod
    def build(
        cls,
        topics: Sequence[TopicSpec],
        embed: Callable[[list[str]], np.ndarray],
        threshold: float = DEFAULT_THRESHOLD,
        temperature: float = DEFAULT_TEMPERATURE,
        blend: float = DEFAULT_BLEND,
        relative: float = DEFAULT_RELATIVE,
        keyword_bonus: float = DEFAULT_KEYWORD_BONUS,
        token_weight: float = 0.0,
    ) -> "TopicIndex":
        topics = list(topics)
        texts: list[str] = []
        owner: list[int] = []
        for index, topic in enumerate(topics):
            for phrase in topic.phrases:
                texts.append(phrase)
                owner.append(index)
        vectors = normalise(embed(texts)) if texts else np.zeros((0, 384), dtype=np.float32)
        owner_arr = np.asarray(owner, dtype=int)
        dim = vectors.shape[1] if len(vectors) else 384
        centroids = np.zeros((len(topics), dim), dtype=np.float32)
        for index in range(len(topics)):
            centroids[index] = vectors[owner_arr == index].mean(0)
        thresholds = np.array([t.threshold or threshold for t in topics], dtype=np.float32)
        return cls(topics, vectors, owner_arr, normalise(centroids), thresholds, temperature, blend,
                   relative, keyword_bonus, KeywordMatcher(topics) if keyword_bonus else None, token_weight)

    def similarity(self, vectors: np.ndarray) -> np.ndarray:
        """(n_segments, n_topics) relative similarity of already-normalised segment vectors.

        Relative: a segment's mean similarity to all topics is subtracted, because a sentence
        about the domain in general (a restaurant, a shop) is close to every topic a little;
        what marks a topic is being closer to it than to the others.
        """
        if not self.topics or not len(vectors):
            return np.zeros((len(vectors), len(self.topics)), dtype=np.float32)
        per_phrase = vectors @ self.phrases.T
        best = np.full((len(vectors), len(self.topics)), -1.0, dtype=np.float32)
        for index in range(len(self.topics)):
            best[:, index] = per_phrase[:, self.owner == index].max(1)
        central = vectors @ self.centroids.T
        sim = self.blend * best + (1.0 - self.blend) * central
        return sim - self.relative * sim.mean(1, keepdims=True)

    def token_scores(self, tokens: np.ndarray) -> np.ndarray:
        """Per topic, the best relative similarity of any one token's (base) state to it.

        Why: a topic named by a single word in a long sentence ("the waiter", "the bill")
        barely moves the sentence's mean vector, but the word's own contextual state lies
        close to the topic. [CLS] and [SEP] (first and last) are left out.
        """
        inner = tokens[1:-1] if len(tokens) > 2 else tokens
        sim = normalise(inner.astype(np.float32)) @ self.centroids.T
        return (sim - self.relative * sim.mean(1, keepdims=True)).max(0)

    def text_scores(self, text: str, segments: np.ndarray,
                    tokens: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per topic, the text's score and the segment row that speaks of it most.

        ``segments`` are the similarity rows of the whole text (row 0) and its clauses. The score
        is half the whole text's and half the best segment's, plus ``token_weight`` times the
        best token's (given the text's base token states), plus ``keyword_bonus`` when a word
        of the topic occurs; the row is the best clause (row 0 when there are none).
        """
        best = segments.max(0)
        score = 0.5 * segments[0] + 0.5 * best
        if tokens is not None and self.token_weight:
            score = score + self.token_weight * self.token_scores(tokens)
        if self.matcher is not None:
            hits = set(self.matcher.match(text))
            score = score + self.keyword_bonus * np.array([t.name in hits for t in self.topics], dtype=np.float32)
        where = segments[1:].argmax(0) + 1 if len(segments) > 1 else np.zeros(len(self.topics), dtype=int)
        return score, where

    def calibrated(self, similarity: np.ndarray) -> np.ndarray:
        """Similarity mapped to (0, 1), 0.5 exactly at each topic's threshold."""
        z = (similarity - self.thresholds) / self.temperature
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def keyword_hits(self, text: str) -> list[int]:
        """Topics whose configured ``keywords`` occur in ``text`` as whole words."""
        hits = []
        lowered = text.lower()
        for index, topic in enumerate(self.topics):
            for word in topic.keywords:
                if re.search(rf"\b{re.escape(word.lower())}\b", lowered):
                    hits.append(index)
                    break
        return hits


class KeywordMatcher:
    """The plain baseline the issue asks to beat: a topic is found when one of its words is.

    Words come from the topic name, description and examples (stop words and very short words
    dropped), matched as whole words, lower-cased, with a crude plural/verb-ending strip.
    """

    STOP = frozenset(
        "a an the and or of to in on for with my was is it its i we our you your this that very "
        "too so at be by from as are were not no but had have has they them their what how when "
        "me there here just got get all any more most out up down over after before into about "
        "than then also only one two off".split()
    )

    def __init__(self, topics: Sequence[TopicSpec]) -> None:
        self.topics = list(topics)
        self.words: list[set[str]] = []
        for topic in self.topics:
            source = " ".join((topic.name.replace("_", " "), topic.description, *topic.examples, *topic.keywords))
            self.words.append({self._stem(w) for w in re.findall(r"[a-z]+", source.lower())
                               if len(w) > 2 and w not in self.STOP})

    @staticmethod
    def _stem(word: str) -> str:
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)]
        return word

    def match(self, text: str) -> list[str]:
        tokens = {self._stem(w) for w in re.findall(r"[a-z]+", text.lower())}
        return [t.name for t, words in zip(self.topics, self.words) if tokens & words]
