"""Any Hugging Face sequence-classification model as the sentiment model, by hub id or folder.

Why explicit label mapping: models name their classes differently (``negative``, ``LABEL_0``,
``1 star``..``5 stars``, ``POSITIVE``), and a wrong guess silently inverts sentiment. Labels are
mapped from the model's ``id2label`` by known conventions or from ``[model] labels``; anything
else is an error that says how to write that table. Loading is offline-only: a model that is not
a local folder or already in the Hugging Face cache fails with a message naming the fix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from models.encoder import clean
from sentimon.errors import ModelError
from sentimon.mention import SENTIMENTS

_NAMED = {
    "negative": "negative", "neg": "negative", "neutral": "neutral", "neu": "neutral",
    "positive": "positive", "pos": "positive", "mixed": "neutral",
}
_STARS = re.compile(r"^([1-5])\s*stars?$")


def map_labels(id2label: dict[int, str], explicit: dict[str, str] | None = None) -> list[str]:
    """The sentimon sentiment of each class index, from ``explicit`` or known conventions."""
    explicit = {str(k): v.lower() for k, v in (explicit or {}).items()}
    labels = [str(id2label[i]) for i in sorted(id2label)]
    out: list[str] = []
    generic = all(re.fullmatch(r"LABEL_\d+", name) for name in labels)
    for index, name in enumerate(labels):
        key = name.strip().lower()
        if name in explicit or key in explicit:
            target = explicit.get(name, explicit.get(key, ""))
        elif key in _NAMED:
            target = _NAMED[key]
        elif _STARS.match(key):
            stars = int(_STARS.match(key).group(1))  # type: ignore[union-attr]
            target = "negative" if stars <= 2 else "neutral" if stars == 3 else "positive"
        elif generic and len(labels) == 3:
            target = SENTIMENTS[index]  # the cardiffnlp/TweetEval convention: 0 neg, 1 neu, 2 pos
        elif generic and len(labels) == 2:
            target = ("negative", "positive")[index]
        else:
            target = ""
        if target not in SENTIMENTS:
            table = ", ".join(f'{n} = "..."' for n in labels)
            raise ModelError(
                f"cannot map the model's label {name!r} to negative/neutral/positive: "
                f"add [model] labels = {{ {table} }} to the config"
            )
        out.append(target)
    return out


def _hf_home() -> str:
    return os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")


class HFSentiment:
    """A loaded ``AutoModelForSequenceClassification`` whose classes fold into three sentiments."""

    def __init__(self, source: str, *, labels: dict[str, str] | None = None,
                 batch_size: int = 32, max_length: int = 256) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        local = Path(source).expanduser()
        where = str(local) if local.exists() else source
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
            self.model = AutoModelForSequenceClassification.from_pretrained(where, local_files_only=True)
        except (OSError, ValueError) as exc:
            if local.exists():
                raise ModelError(f"cannot load a text-classification model from {local}: {exc}") from None
            raise ModelError(
                f"model {source!r} is not a local folder and is not in the Hugging Face cache "
                f"(HF_HOME={_hf_home()}); sentimon never downloads at run time. Download it once "
                f"on a connected machine (`huggingface-cli download {source}`) into that cache, or "
                f'save it to a folder and set [model] sentiment = "/path/to/folder"'
            ) from None
        self.model.eval()
        self.targets = map_labels(dict(self.model.config.id2label), labels)
        self.fold = np.zeros((len(self.targets), 3), dtype=np.float32)
        for index, target in enumerate(self.targets):
            self.fold[index, SENTIMENTS.index(target)] = 1.0
        self.batch_size = max(1, batch_size)
        limit = int(getattr(self.model.config, "max_position_embeddings", 512) or 512)
        # RoBERTa reserves two positions for padding offsets.
        self.max_length = max(16, min(max_length, limit - 2))
        self.name = f"hf:{source}"
        self._torch = torch

    def probs(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities; texts longer than the window are averaged over windows."""
        torch = self._torch
        tok = self.tokenizer
        enc = tok([clean(t) for t in texts], truncation=True, max_length=self.max_length,
                  return_overflowing_tokens=True, stride=0, return_attention_mask=False, verbose=False)
        mapping = list(enc.get("overflow_to_sample_mapping") or range(len(texts)))
        by_text: dict[int, list[int]] = {}
        for window, owner_index in enumerate(mapping):
            by_text.setdefault(int(owner_index), []).append(window)
        windows: list[list[int]] = []
        owner: list[int] = []
        for index, found in by_text.items():
            if len(found) > 16:  # very long text: evenly spaced windows from start to end
                found = [found[int(i)] for i in np.linspace(0, len(found) - 1, 16).round()]
            for window in found:
                windows.append(list(enc["input_ids"][window]))
                owner.append(index)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        out = np.zeros((len(windows), 3), dtype=np.float32)
        pad = tok.pad_token_id or 0
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(windows[i]) for i in idx)
            input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                input_ids[row, : len(windows[i])] = torch.tensor(windows[i])
                mask[row, : len(windows[i])] = 1
            with torch.inference_mode():
                logits = self.model(input_ids=input_ids, attention_mask=mask).logits.float()
            out[idx] = torch.softmax(logits, -1).numpy() @ self.fold
        result = np.zeros((len(texts), 3), dtype=np.float32)
        np.add.at(result, owner, out)
        return result / result.sum(-1, keepdims=True)
