"""The classifier the pipeline calls: texts in, ``Classification`` (sentiment, topics) out.

One encoder pass serves everything: each text and its clauses are embedded together in one
length-sorted batch; the sentiment head reads every vector (whole text -> overall sentiment,
clause -> per-topic sentiment) and the topic index compares the same vectors to the taxonomy.
A Hugging Face sequence-classification model can take over sentiment (``models.hf``); topics
then still come from the bundled encoder.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from models import heads
from models.aspects import AspectHead
from models.multilingual import MultilingualSentiment
from models.taxonomy import TopicSpec
from models.text import clauses, detect_language
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

# Probabilities and base vectors for a batch of strings, plus the (tuned, base) token states of
# the strings indexed by the second argument; one call per classify() so the encoder runs once.
Tokens = dict[int, tuple[np.ndarray, np.ndarray]]
ScoreFn = Callable[[list[str], Sequence[int]], tuple[np.ndarray, np.ndarray | None, Tokens]]


def resolve_backend(backend: str, meta: dict[str, Any]) -> str:
    """``auto`` becomes the backend the artifact's measurements chose, where this CPU runs it."""
    if backend != "auto":
        return backend
    choice = str(meta.get("auto_backend", "fp32"))
    if choice == "bf16":
        try:
            import torch

            if not torch.backends.mkldnn.is_available() or not torch.ops.mkldnn._is_mkldnn_bf16_supported():
                return "fp32"
        except (AttributeError, RuntimeError):
            return "fp32"
    return choice


class Classifier:
    """Sentiment + zero-shot topics + per-topic sentiment for a batch of texts."""

    def __init__(self, name: str, score: ScoreFn, topic_index: TopicIndex | None,
                 languages: Sequence[str] = ("en",), max_topics: int = MAX_TOPICS,
                 aspect_head: AspectHead | None = None,
                 multilingual: MultilingualSentiment | None = None) -> None:
        self.name = name
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
        strings: list[str] = []
        spans: list[tuple[int, int, int]] = []  # (text index, first string, string count)
        foreign: list[tuple[int, str, str]] = []  # (text index, text, language) for the multilingual path
        langs: dict[int, str | None] = {}
        for index, raw in enumerate(texts):
            text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
            # NUL confuses tokenizers; an unpaired surrogate (invalid UTF-8 passed through
            # surrogateescape, e.g. on argv) makes the Rust tokenizer raise TypeError.
            text = _SURROGATE.sub("\ufffd", text.replace("\x00", " "))
            if not text.strip():
                results[index] = Classification("neutral", dict(NEUTRAL), (), self.name, None)
                continue
            langs[index] = lang = detect_language(text)
            if self.multilingual is not None and self.multilingual.covers(lang):
                foreign.append((index, text, str(lang)))
                continue
            parts = clauses(text) if self.topics is not None else []
            if len(parts) == 1:
                parts = []  # one clause is the whole text: embed it once
            spans.append((index, len(strings), 1 + len(parts)))
            strings.append(text)
            strings.extend(parts)
        if strings:
            # Token states: each text's for topics, and its clauses' too for the aspect head.
            wanted = ([] if not self._wants_tokens else list(range(len(strings))) if self.aspect_head is not None
                      else [first for _, first, _ in spans])
            probs, vectors, tokens = self._score(strings, wanted)
            similarity = None
            if self.topics is not None and vectors is not None:
                similarity = self.topics.similarity(normalise(vectors))
            for index, first, count in spans:
                results[index] = self._one(texts[index], probs[first : first + count],
                                           None if similarity is None else similarity[first : first + count],
                                           [tokens.get(k) for k in range(first, first + count)], langs[index])
        if foreign and self.multilingual is not None:
            for (index, _, lang), p in zip(foreign, self.multilingual.probs([text for _, text, _ in foreign])):
                scores = {label: float(v) for label, v in zip(SENTIMENTS, p)}
                results[index] = Classification(SENTIMENTS[int(np.argmax(p))], scores, (),
                                                f"{self.name}+{self.multilingual.name}", lang)
        return [r for r in results if r is not None]

    @property
    def _wants_tokens(self) -> bool:
        return self.topics is not None and (self.aspect_head is not None or self.topics.token_weight > 0)

    def _one(self, text: str, probs: np.ndarray, similarity: np.ndarray | None,
             tokens: Sequence[tuple[np.ndarray, np.ndarray] | None] = (),
             lang: str | None = None) -> Classification:
        scores = {label: float(p) for label, p in zip(SENTIMENTS, probs[0])}
        sentiment = SENTIMENTS[int(np.argmax(probs[0]))]
        found: list[TopicScore] = []
        if similarity is not None and self.topics is not None:
            whole = tokens[0] if tokens else None
            raw, where = self.topics.text_scores(text, similarity, None if whole is None else whole[1])
            confidence = self.topics.calibrated(raw)
            forced = set(self.topics.keyword_hits(text))
            chosen = [int(t) for t in np.argsort(-confidence) if confidence[t] >= 0.5 or t in forced][: self.max_topics]
            for t, p in zip(chosen, self._topic_sentiments(probs, where, chosen, tokens)):
                found.append(TopicScore(self.topics.topics[t].name, round(float(max(confidence[t], 0.5)), 4),
                                        SENTIMENTS[int(np.argmax(p))]))
        return Classification(sentiment, scores, tuple(found), self.name, lang)

    def _topic_sentiments(self, probs: np.ndarray, where: np.ndarray, chosen: list[int],
                          tokens: Sequence[tuple[np.ndarray, np.ndarray] | None]) -> np.ndarray:
        """(len(chosen), 3) sentiment towards each chosen topic.

        The clause that speaks of the topic gives one opinion (the whole text when it has a
        single clause), so "late parcel, lovely shoes" splits in two; where an aspect head and
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
        return self._no_praise_where_none_is_read(verdicts, probs, rows)

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
        strings: list[str] = []
        spans: list[tuple[int, int]] = []
        for text in texts:
            found = clauses(text)
            parts = [text] + (found if len(found) > 1 else [])
            spans.append((len(strings), len(parts)))
            strings.extend(parts)
        _, vectors, tokens = self._score(strings, [a for a, _ in spans] if self._wants_tokens else [])
        if vectors is None:
            return np.zeros((len(texts), len(self.topics.topics)), dtype=np.float32)
        sim = self.topics.similarity(normalise(vectors))
        return np.stack([self.topics.text_scores(t, sim[a : a + n], tokens[a][1] if a in tokens else None)[0]
                         for t, (a, n) in zip(texts, spans)])


def _encoder_scores(encoder: Any, artifact: heads.Artifact) -> ScoreFn:
    def score(strings: list[str], keep_tokens: Sequence[int]) -> tuple[np.ndarray, np.ndarray, Tokens]:
        encoded = encoder.encode(strings, keep_tokens)
        return artifact.probs(encoded.tuned, encoded.base), encoded.base, encoded.tokens

    return score


def build(settings: dict[str, Any], topics: list[TopicSpec]) -> Classifier:
    """``load_classifier`` after defaults are filled: pick the bundled model, a trained folder or HF."""
    from models.encoder import Encoder, set_threads

    set_threads(int(settings.get("threads") or 0))
    source = str(settings.get("sentiment") or "bundled")
    user_path = str(settings.get("path") or "")
    artifact_dir = Path(user_path).expanduser() if user_path else heads.BUNDLED
    if user_path and not artifact_dir.is_dir():
        raise ModelError(
            f"[model] path = {user_path!r} is not a folder: train one with "
            "`sentimon model train FILE.jsonl --out DIR`, or remove the setting to use the bundled model"
        )
    artifact = heads.load(artifact_dir)
    backend = resolve_backend(str(settings.get("backend") or "auto"), artifact.meta)
    encoder = Encoder(
        backend=backend,
        batch_size=int(settings.get("batch_size") or 32),
        max_length=int(settings.get("max_length") or 256),
        overrides=artifact.encoder or None,
    )
    threshold = float(settings.get("topic_threshold") or artifact.meta.get("topic_threshold", DEFAULT_THRESHOLD))
    bonus = float(settings.get("topic_keyword_bonus", -1.0))
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
    languages = settings.get("languages") or artifact.meta.get("languages", ["en"])
    if source == "bundled":
        name = f"{artifact.name}/{backend}"
        return Classifier(name, _encoder_scores(encoder, artifact), index, languages,
                          aspect_head=artifact.aspect_head,
                          multilingual=MultilingualSentiment.from_folder(artifact_dir, artifact.meta))
    from models.hf import HFSentiment

    hf = HFSentiment(source, labels=dict(settings.get("labels") or {}),
                     batch_size=int(settings.get("batch_size") or 32),
                     max_length=int(settings.get("max_length") or 256))

    def score(strings: list[str], keep_tokens: Sequence[int]) -> tuple[np.ndarray, np.ndarray | None, Tokens]:
        # Topics still come from the bundled encoder (its token states included); per-topic
        # sentiment stays this model's clause verdicts (no aspect head: it reads bundled states).
        if index is None:
            return hf.probs(strings), None, {}
        encoded = encoder.encode(strings, keep_tokens)
        return hf.probs(strings), encoded.base, encoded.tokens

    return Classifier(hf.name, score, index, languages=settings.get("languages") or ["en"])
