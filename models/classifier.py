"""The classifier the pipeline calls: texts in, ``Classification`` (sentiment, topics) out.

One encoder pass serves almost everything: each text is encoded once (length-sorted batches)
and its clauses are pooled from its token states, not encoded again; the sentiment head reads
the whole text's vector, the topic index compares every vector (text and clauses) with the
taxonomy, and the aspect head reads the token states of the text or, where found topics sit in
different clauses, of those clauses, which alone get a second, short pass
(``Classifier._reread_clauses``).
A Hugging Face sequence-classification model can take over sentiment (``models.hf``); topics
then still come from the bundled encoder.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from models import heads
from models.aspects import AspectHead
from models.multilingual import MultilingualSentiment
from models.taxonomy import TopicSpec
from models.encoder import clean
from models.text import clause_spans, detect_language
from models.topics import (
    DEFAULT_BLEND,
    DEFAULT_KEYWORD_BONUS,
    DEFAULT_RELATIVE,
    DEFAULT_TEMPERATURE,
    DEFAULT_THRESHOLD,
    TopicIndex,
    cached_embed,
    normalise,
)
from sentimon.errors import ModelError
from sentimon.mention import SENTIMENTS, Classification, TopicScore

if TYPE_CHECKING:
    from models import ModelSettings

log = logging.getLogger(__name__)

MAX_TOPICS = 4
# A clause that names a topic and states a fact about it ("parcel two weeks late") is a
# complaint more often than the tweet-trained head's neutral says; measured in MODEL_CARD.md.
TOPIC_SENTIMENT_WEIGHTS = (1.0, 0.25, 1.0)
# Most CX mentions hold one opinion, so each topic's verdict leans on the whole text's by this
# much: "Got a 'delivered' notification but there's nothing here" is no praise of delivery.
# Chosen with the aspect head's mix on held-out rows and the demo (models/recipe/9_aspect_mix.py).
WHOLE_TEXT_PRIOR = 0.4
# Below this whole-text probability of praise a negative or neutral text holds no praise, and no
# topic in it reads as praised unless its own clause does (see Classifier._no_praise_where_none_is_read).
NO_PRAISE = 0.2
_SURROGATE = re.compile(r"[\ud800-\udfff]")
NEUTRAL = {"negative": 0.0, "neutral": 1.0, "positive": 0.0}

# Rows are each text, then its clause spans: probabilities and base vectors of every row, plus
# every row's (tuned, base) token states when the third argument asks; one call per classify().
Tokens = dict[int, tuple[np.ndarray, np.ndarray]]
Spans = list[list[tuple[int, int]]]
ScoreFn = Callable[[list[str], Spans, bool], tuple[np.ndarray, np.ndarray | None, Tokens]]


def resolve_backend(backend: str, meta: dict[str, Any]) -> tuple[str, str]:
    """The backend to run and why: ``auto`` becomes the artifact's measured choice where this
    CPU runs it (bf16 needs oneDNN's bf16 support; without it bf16 ran 6x slower than fp32 here).
    ``model info`` prints the reason, so a team sees why its CPU runs what it runs."""
    if backend != "auto":
        return backend, "set in [model] backend"
    choice = str(meta.get("auto_backend", "fp32"))
    if choice == "bf16":
        try:
            import torch

            supported = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        except (AttributeError, RuntimeError):
            supported = False
        if not supported:
            return "fp32", "auto: this CPU has no bf16 support, so fp32"
        return "bf16", "auto: this CPU supports bf16 (within 0.05 F1 points of fp32)"
    return choice, f"auto: {choice}, the artifact's measured choice"


class Classifier:
    """Sentiment + zero-shot topics + per-topic sentiment for a batch of texts."""

    def __init__(self, name: str, score: ScoreFn, topic_index: TopicIndex | None,
                 languages: Sequence[str] = ("en",), max_topics: int = MAX_TOPICS,
                 aspect_head: AspectHead | None = None,
                 multilingual: MultilingualSentiment | None = None) -> None:
        self.name = name
        self.backend = ""  # the encoder's backend and why, for ``model info`` (set by build)
        self._score = score
        self.topics = topic_index
        self.aspect_head = aspect_head if topic_index is not None else None
        self.multilingual = multilingual
        self.languages = tuple(languages) + (multilingual.languages if multilingual else ())
        self.max_topics = max_topics
        # Per-topic sentiment decision weights (negative, neutral, positive) over a clause's
        # probabilities; see TOPIC_SENTIMENT_WEIGHTS.
        self.topic_sentiment_weights = np.asarray(TOPIC_SENTIMENT_WEIGHTS, dtype=np.float32)
        self.whole_text_prior = WHOLE_TEXT_PRIOR

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        results: list[Classification | None] = [None] * len(texts)
        english: list[tuple[int, str]] = []  # (text index, cleaned text) for the bundled encoder
        spans: Spans = []
        foreign: list[tuple[int, str, str]] = []  # (text index, text, language) for the multilingual path
        langs: dict[int, str | None] = {}
        for index, raw in enumerate(texts):
            text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
            # NUL confuses tokenizers; an unpaired surrogate (invalid UTF-8 passed through
            # surrogateescape, e.g. on argv) makes the Rust tokenizer raise TypeError. clean()
            # also samples a huge text the way the encoder reads it, so spans match its tokens.
            text = clean(_SURROGATE.sub("\ufffd", text))
            if not text.strip():
                results[index] = Classification("neutral", dict(NEUTRAL), (), self.name, None)
                continue
            langs[index] = lang = detect_language(text)
            if self.multilingual is not None and self.multilingual.covers(lang):
                foreign.append((index, text, str(lang)))
                continue
            parts = clause_spans(text) if self.topics is not None else []
            english.append((index, text))
            spans.append(parts if len(parts) > 1 else [])  # one clause is the whole text
        if english:
            cleaned = [text for _, text in english]
            probs, vectors, tokens = self._score(cleaned, spans, self._wants_tokens)
            similarity = None
            if self.topics is not None and vectors is not None:
                similarity = self.topics.similarity(normalise(vectors))
            firsts = np.cumsum([0] + [1 + len(parts) for parts in spans])
            picks = [self._pick_topics(text, similarity[a:b], tokens.get(int(a))) if similarity is not None else None
                     for text, a, b in zip(cleaned, firsts[:-1], firsts[1:])]
            self._reread_clauses(cleaned, spans, firsts, picks, probs, tokens)
            for (index, text), a, b, pick in zip(english, firsts[:-1], firsts[1:], picks):
                results[index] = self._one(probs[a:b], pick, [tokens.get(k) for k in range(a, b)], langs[index])
        if foreign and self.multilingual is not None:
            for (index, _, lang), p in zip(foreign, self.multilingual.probs([text for _, text, _ in foreign])):
                scores = {label: float(v) for label, v in zip(SENTIMENTS, p)}
                results[index] = Classification(SENTIMENTS[int(np.argmax(p))], scores, (),
                                                f"{self.name}+{self.multilingual.name}", lang)
        return [r for r in results if r is not None]

    @property
    def _wants_tokens(self) -> bool:
        return self.topics is not None and (self.aspect_head is not None or self.topics.token_weight > 0)

    def _pick_topics(self, text: str, similarity: np.ndarray,
                     whole: tuple[np.ndarray, np.ndarray] | None) -> tuple[list[int], np.ndarray, np.ndarray]:
        """The topics found in ``text`` (best first), the clause row of each, and their confidence."""
        assert self.topics is not None
        raw, where = self.topics.text_scores(text, similarity, None if whole is None else whole[1])
        confidence = self.topics.calibrated(raw)
        forced = set(self.topics.keyword_hits(text))
        chosen = [int(t) for t in np.argsort(-confidence) if confidence[t] >= 0.5 or t in forced][: self.max_topics]
        return chosen, where, confidence

    def _reread_clauses(self, texts: list[str], spans: Spans, firsts: np.ndarray,
                        picks: Sequence[tuple[list[int], np.ndarray, np.ndarray] | None],
                        probs: np.ndarray, tokens: Tokens) -> None:
        """Settle which rows give each found topic its verdict; encode on their own only the
        clauses that hold different found topics (``probs``, ``tokens`` and ``where`` in place).

        Why: a clause pooled from the whole text's states has heard the other clauses, so in
        "the pasta was superb but the waiter ignored us" each reads partly as the other (MAMS
        per-topic accuracy fell 2.4 points when the aspect head read those slices). Only where
        found topics sit in two or more clauses can their verdicts differ: those clauses get a
        pass of their own. Otherwise the text holds one opinion on its topics, and they read the
        whole text, which the aspect head was trained on. Airline tweets and reviews then cost
        about 1.28x their own tokens instead of 1.8-2.1x (docs/BENCHMARKS.md).
        """
        rows: list[int] = []
        for parts, first, pick in zip(spans, firsts, picks):
            if pick is None:
                continue
            chosen, where, _ = pick
            held = sorted({int(where[t]) for t in chosen if int(where[t]) > 0})
            if len(held) > 1:
                rows += [int(first) + row for row in held]
            else:
                where[chosen] = 0
        if not rows:
            return
        owner = np.searchsorted(firsts, rows, side="right") - 1
        strings = [texts[o][slice(*spans[o][row - int(firsts[o]) - 1])] for o, row in zip(owner, rows)]
        again, _, states = self._score(strings, [[] for _ in strings], self._wants_tokens)
        for k, row in enumerate(rows):
            probs[row] = again[k]
            if k in states:
                tokens[row] = states[k]

    def _one(self, probs: np.ndarray, pick: tuple[list[int], np.ndarray, np.ndarray] | None,
             tokens: Sequence[tuple[np.ndarray, np.ndarray] | None] = (),
             lang: str | None = None) -> Classification:
        scores = {label: float(p) for label, p in zip(SENTIMENTS, probs[0])}
        sentiment = SENTIMENTS[int(np.argmax(probs[0]))]
        found: list[TopicScore] = []
        if pick is not None and self.topics is not None:
            chosen, where, confidence = pick
            for t, p in zip(chosen, self._topic_sentiments(probs, where, chosen, tokens)):
                found.append(TopicScore(self.topics.topics[t].name, round(float(max(confidence[t], 0.5)), 4),
                                        SENTIMENTS[int(np.argmax(p))]))
        return Classification(sentiment, scores, tuple(found), self.name, lang)

    def _topic_sentiments(self, probs: np.ndarray, where: np.ndarray, chosen: list[int],
                          tokens: Sequence[tuple[np.ndarray, np.ndarray] | None]) -> np.ndarray:
        """(len(chosen), 3) sentiment towards each chosen topic.

        The clause that speaks of the topic gives one opinion (the whole text when the found
        topics share one clause; see ``_reread_clauses``), so "late parcel, lovely shoes" splits in two; where an aspect head and
        that clause's token states are present, its attention over them is averaged in, so
        two topics within one clause split too. Last, ``whole_text_prior`` of the whole
        text's verdict is averaged in.
        """
        assert self.topics is not None
        weighted = probs * self.topic_sentiment_weights
        weighted = weighted / np.maximum(weighted.sum(1, keepdims=True), 1e-9)
        rows = [int(where[t]) for t in chosen]
        verdicts = weighted[rows]
        if self.aspect_head is not None:
            centroids = self.topics.centroids
            for k, (t, row) in enumerate(zip(chosen, rows)):
                states = tokens[row] if row < len(tokens) else None
                if states is not None:
                    attended = self.aspect_head.probs(states[0], states[1], centroids[[t]], centroids)[0]
                    verdicts[k] = self.aspect_head.mix * attended + (1.0 - self.aspect_head.mix) * verdicts[k]
        verdicts = (1.0 - self.whole_text_prior) * verdicts + self.whole_text_prior * weighted[0]
        verdicts = self._no_praise_where_none_is_read(verdicts, probs, rows)
        return self._own_clause_keeps_its_sign(verdicts, probs, rows)

    @staticmethod
    def _own_clause_keeps_its_sign(verdicts: np.ndarray, probs: np.ndarray, rows: list[int]) -> np.ndarray:
        """A topic whose own clause, read alone, is negative gets no positive verdict, and the
        other way round.

        Why: in "The delivery was a disaster and took weeks, but the jacket is gorgeous" the
        delivery clause alone reads 0.80 negative, yet the aspect head (0.54 negative, 0.43
        positive on it) plus the whole text's praise made delivery positive. Only clauses read
        on their own (``_reread_clauses``: rows past 0) count; costs 0.3 points of MAMS
        per-topic accuracy (model card).
        """
        out = verdicts.copy()
        for k, row in enumerate(rows):
            if row == 0:
                continue
            own = int(np.argmax(probs[row]))
            if own != 1 and int(np.argmax(out[k])) == 2 - own:
                out[k, 2 - own] = 0.0
        return out

    @staticmethod
    def _no_praise_where_none_is_read(verdicts: np.ndarray, probs: np.ndarray, rows: list[int]) -> np.ndarray:
        """A text read as holding no praise at all gives no topic a positive verdict.

        Why: "The delivery driver never rang the bell and took the parcel back" is a complaint
        about delivery, and "Please update my delivery address" a plain request, yet words like
        "delivered" or "update" can still pull the topic's own verdict positive. Only a clause of
        its own that the head reads as positive ("..., but the jacket is gorgeous") keeps its
        praise; so does a text read as positive, or one whose reading leaves any room for praise
        (``NO_PRAISE`` or more), where two opinions may share a clause.
        """
        positive = 2
        whole = probs[0]
        if int(np.argmax(whole)) == positive or whole[positive] >= NO_PRAISE:
            return verdicts
        out = verdicts.copy()
        for k, row in enumerate(rows):
            own_praise = row > 0 and int(np.argmax(probs[row])) == positive
            if int(np.argmax(out[k])) == positive and not own_praise:
                out[k, positive] = 0.0
        return out

    def topic_similarity(self, texts: Sequence[str]) -> np.ndarray:
        """(n, n_topics) raw cosine similarity, best over each text and its clauses (calibration)."""
        if self.topics is None:
            return np.zeros((len(texts), 0), dtype=np.float32)
        cleaned = [clean(text) for text in texts]
        spans: Spans = [parts if len(parts := clause_spans(text)) > 1 else [] for text in cleaned]
        _, vectors, tokens = self._score(cleaned, spans, self._wants_tokens)
        if vectors is None:
            return np.zeros((len(texts), len(self.topics.topics)), dtype=np.float32)
        sim = self.topics.similarity(normalise(vectors))
        out, first = [], 0
        for text, parts in zip(cleaned, spans):
            whole = tokens.get(first)
            out.append(self.topics.text_scores(text, sim[first : first + 1 + len(parts)],
                                               None if whole is None else whole[1])[0])
            first += 1 + len(parts)
        return np.stack(out) if out else np.zeros((0, len(self.topics.topics)), dtype=np.float32)


def _encoder_scores(encoder: Any, artifact: heads.Artifact) -> ScoreFn:
    def score(texts: list[str], spans: Spans, keep_tokens: bool) -> tuple[np.ndarray, np.ndarray, Tokens]:
        encoded = encoder.encode_spans(texts, spans, keep_tokens)
        return artifact.probs(encoded.tuned, encoded.base), encoded.base, encoded.tokens

    return score


def _row_strings(texts: list[str], spans: Spans) -> list[str]:
    """Each text, then its span strings: the rows a model that reads strings is given."""
    return [row for text, parts in zip(texts, spans) for row in [text, *(text[a:b] for a, b in parts)]]


def build(settings: ModelSettings, topics: list[TopicSpec]) -> Classifier:
    """``load_classifier`` once the settings are checked: pick the bundled model, a trained folder or HF."""
    from models.encoder import Encoder, set_threads

    set_threads(settings.threads)
    source = settings.sentiment or "bundled"
    user_path = settings.path
    artifact_dir = Path(user_path).expanduser() if user_path else heads.BUNDLED
    if user_path and not artifact_dir.is_dir():
        raise ModelError(
            f"[model] path = {user_path!r} is not a folder: train one with "
            "`sentimon model train FILE.jsonl --out DIR`, or remove the setting to use the bundled model"
        )
    artifact = heads.load(artifact_dir)
    backend, why = resolve_backend(settings.backend, artifact.meta)
    encoder = Encoder(
        backend=backend,
        batch_size=settings.batch_size or 32,
        max_length=settings.max_length or 256,
        overrides=artifact.encoder or None,
    )
    artifact.encoder = {}  # copied into the encoder's tuned layers: no second fp32 copy (28 MB in v5)
    threshold = float(settings.topic_threshold or artifact.meta.get("topic_threshold", DEFAULT_THRESHOLD))
    bonus = settings.topic_keyword_bonus
    per_topic = dict(artifact.meta.get("topic_thresholds") or {})
    topics = [t if t.threshold or t.name not in per_topic else replace(t, threshold=float(per_topic[t.name]))
              for t in topics]
    import torch

    # Phrase vectors are kept on disk between starts; any change to the weights, the models/
    # code, the settings that shape them or the taxonomy's text recomputes them.
    embed = cached_embed(encoder.embed, [encoder.path, artifact_dir, Path(__file__).parent],
                         {"backend": backend, "max_length": encoder.max_length,
                          "batch_size": encoder.batch_size, "torch": torch.__version__})
    index = TopicIndex.build(
        topics, embed, threshold=threshold,
        temperature=float(artifact.meta.get("topic_temperature", DEFAULT_TEMPERATURE)),
        blend=float(artifact.meta.get("topic_blend", DEFAULT_BLEND)),
        relative=float(artifact.meta.get("topic_relative", DEFAULT_RELATIVE)),
        keyword_bonus=bonus if bonus >= 0 else float(artifact.meta.get("topic_keyword_bonus", DEFAULT_KEYWORD_BONUS)),
        token_weight=float(artifact.meta.get("topic_token_weight", 0.0)),
    ) if topics else None
    languages = settings.languages or artifact.meta.get("languages", ["en"])
    if source == "bundled":
        name = f"{artifact.name}/{backend}"
        classifier = Classifier(name, _encoder_scores(encoder, artifact), index, languages,
                                aspect_head=artifact.aspect_head,
                                multilingual=MultilingualSentiment.from_folder(artifact_dir, artifact.meta))
        classifier.backend = f"{backend} ({why})"
        return classifier
    from models.hf import HFSentiment

    hf = HFSentiment(source, labels=dict(settings.labels),
                     batch_size=settings.batch_size or 32,
                     max_length=settings.max_length or 256)

    def score(texts: list[str], spans: Spans, keep_tokens: bool) -> tuple[np.ndarray, np.ndarray | None, Tokens]:
        # Topics still come from the bundled encoder (its token states included); per-topic
        # sentiment stays this model's clause verdicts (no aspect head: it reads bundled states).
        probs = hf.probs(_row_strings(texts, spans))
        if index is None:
            return probs, None, {}
        encoded = encoder.encode_spans(texts, spans, keep_tokens)
        return probs, encoded.base, encoded.tokens

    classifier = Classifier(hf.name, score, index, languages=settings.languages or ["en"])
    classifier.backend = f"{backend} for topics ({why}); sentiment: {hf.name}"
    return classifier
