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

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from models.taxonomy import TopicSpec

# Calibrated on 1,000 MAMS-ACSA train sentences (models/MODEL_CARD.md): relative similarity,
# half whole text and half best clause, plus a small bonus when a taxonomy word occurs.
DEFAULT_THRESHOLD = 0.12
DEFAULT_TEMPERATURE = 0.05
DEFAULT_BLEND = 0.25  # weight of the best single phrase versus the centroid
DEFAULT_RELATIVE = 1.0  # how much of the mean similarity to all topics is subtracted
DEFAULT_KEYWORD_BONUS = 0.1

log = logging.getLogger(__name__)
Embed = Callable[[list[str]], np.ndarray]
CACHE_ENV = "SENTIMON_CACHE_DIR"  # a folder, or "off"; default $XDG_CACHE_HOME/sentimon or ~/.cache/sentimon
CACHE_FILES_KEPT = 16  # phrase-vector files kept (one per taxonomy and model in use); older ones go
_CACHE_FORMAT = 1


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


def cache_dir() -> Path | None:
    """Where derived model data is kept between runs, or None when ``SENTIMON_CACHE_DIR=off``."""
    chosen = os.environ.get(CACHE_ENV, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    try:
        return (Path(base) if base else Path.home() / ".cache") / "sentimon"
    except RuntimeError:  # no home folder (a service user without one): nothing is cached
        return None


def cached_embed(embed: Embed, sources: Sequence[Path], settings: dict[str, Any],
                 directory: Path | None = None) -> Embed:
    """``embed`` whose answers are kept on disk, so a start does not embed the taxonomy again.

    Why: ``TopicIndex.build`` embeds every topic phrase at each load, the largest part of a
    ``sentimon classify`` start after importing torch. The key is the texts, ``settings``
    (backend, window length, batch size, library versions) and the size and modification time
    of every file in ``sources`` (weight folders, encoder source files): a retrained, reinstalled
    or edited model, or another taxonomy, gets its own file. The vectors are the ones ``embed``
    gave, saved bit for bit; a file that is unreadable or of the wrong shape is recomputed, and
    a folder that cannot be written only costs the time it would have saved.
    """
    folder = directory if directory is not None else cache_dir()
    if folder is None:
        return embed
    stamp = [_CACHE_FORMAT, np.__version__, sorted(settings.items()), [_stamp(Path(s)) for s in sources]]

    def run(texts: list[str]) -> np.ndarray:
        if not texts:
            return embed(texts)
        key = hashlib.blake2b(json.dumps([stamp, list(texts)], default=str).encode(), digest_size=16).hexdigest()
        path = folder / f"phrases-{key}.npy"
        vectors = _read_vectors(path, len(texts))
        if vectors is None:
            vectors = embed(texts)
            _write_vectors(folder, path, vectors)
        return vectors

    return run


def _stamp(source: Path) -> list[Any]:
    """(name, size, mtime) of a file, or of each file directly in a folder; [] where absent."""
    try:
        files = sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]
        return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    except OSError:
        return []


def _read_vectors(path: Path, rows: int) -> np.ndarray | None:
    try:
        vectors = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError) as exc:
        log.debug("ignoring the unreadable topic cache %s: %s", path, exc)
        return None
    if vectors.ndim != 2 or vectors.shape[0] != rows or vectors.dtype.kind != "f" or not np.isfinite(vectors).all():
        log.debug("ignoring the topic cache %s: shape %s does not fit %d phrases", path, vectors.shape, rows)
        return None
    return vectors


def _write_vectors(folder: Path, path: Path, vectors: np.ndarray) -> None:
    """Write atomically (a reader sees the old file or the whole new one) and keep the newest few."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".phrases-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                np.save(out, vectors, allow_pickle=False)
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
        older = sorted(folder.glob("phrases-*.npy"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in older[CACHE_FILES_KEPT:]:
            stale.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("topic cache not written to %s: %s", folder, exc)
