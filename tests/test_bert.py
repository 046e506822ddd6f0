"""The lean BERT (models/bert.py) computes what transformers' BertModel computes on the same
weights, and the bundled classifier runs without importing transformers at all (that import
alone is ~146 MB resident; docs/BENCHMARKS.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from models import bert  # noqa: E402
from models.encoder import Encoder, bundled_path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["the parcel was late", "Refund took three weeks; support never answered, never again!!", "ok"]


def test_hidden_states_match_transformers_bert_on_the_bundled_weights():
    ours = bert.load(bundled_path())
    reference = transformers.AutoModel.from_pretrained(str(bundled_path()), local_files_only=True).eval()
    tokens = transformers.AutoTokenizer.from_pretrained(str(bundled_path()))(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        a = ours(tokens["input_ids"], tokens["attention_mask"], output_hidden_states=True)
        b = reference(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"], output_hidden_states=True)
    real = tokens["attention_mask"].bool()
    assert len(a.hidden_states) == len(b.hidden_states) == 7
    for mine, theirs in zip(a.hidden_states, b.hidden_states):
        assert (mine - theirs)[real].abs().max().item() < 1e-4


def test_tokens_match_the_transformers_tokenizer():
    texts = [*TEXTS, "Größe passt nicht — naïve café 😡", "", "<b>x</b>\u200b\u202e" * 50]
    reference = transformers.AutoTokenizer.from_pretrained(str(bundled_path()))
    assert Encoder().token_ids(texts) == reference(texts, add_special_tokens=False)["input_ids"]


def test_bf16_loads_as_bf16_without_a_float_copy():
    model = bert.load(bundled_path(), torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_a_weights_file_missing_layers_is_a_clear_error(tmp_path):
    from safetensors.torch import load_file, save_file

    for name in ("config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((bundled_path() / name).read_bytes())
    state = {k: v for k, v in load_file(str(bundled_path() / "model.safetensors")).items() if "layer.5." not in k}
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="lacks 16 BERT weights, e.g. encoder.layer.5"):
        bert.load(tmp_path)


def test_classifying_never_imports_transformers():
    code = (
        "import sys\n"
        "from models import load_classifier\n"
        "from models.taxonomy import DEFAULT_TOPICS\n"
        "c = load_classifier({}, DEFAULT_TOPICS)\n"
        "r = c.classify(['Parcel two weeks late, but the jacket is gorgeous'])[0]\n"
        "print(r.sentiment, sorted(t.name for t in r.topics), 'transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    *_, imported = out.split()
    assert "delivery" in out and imported == "False", out
