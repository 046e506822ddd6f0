"""One encoder pass per mention: clauses are pooled from the text's token states (issue #19).

Why it matters: encoding every clause again as a text of its own cost 1.6-2.1x the tokens of
the texts themselves (airline tweets 1.78x, Zomato reviews 2.04x; docs/BENCHMARKS.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from models.text import clause_spans, clauses


def test_clause_spans_are_the_clauses_as_offsets():
    text = "Service, however, was slow. But the food was great! The parcel came late, but the shoes are lovely"
    spans = clause_spans(text)
    assert [text[a:b] for a, b in spans] == clauses(text) == [
        "Service, however, was slow.", "the food was great!", "The parcel came late", "the shoes are lovely"]


def test_many_clauses_are_thinned_evenly_as_spans():
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    spans = clause_spans(text, limit=6)
    assert len(spans) == 6
    assert text[slice(*spans[0])].startswith("Sentence number 0 ") and "number 50" in text[slice(*spans[-1])]


@pytest.fixture(scope="module")
def encoder():
    from models.encoder import Encoder

    return Encoder(max_length=64, max_windows=2)


def test_a_clause_row_is_the_mean_of_the_token_states_it_spans(encoder):
    text = "The parcel came late, but the shoes are lovely"
    late, shoes = text.index("The parcel"), text.index("the shoes")
    encoded = encoder.encode_spans([text], [[(late, text.index(",")), (shoes, len(text))]], keep_tokens=True)
    assert encoded.tuned.shape == (3, encoder.dim) and set(encoded.tokens) == {0, 1, 2}
    whole_tuned, _ = encoded.tokens[0]
    n_late = len(encoder.token_ids(["The parcel came late"])[0])
    tuned, base = encoded.tokens[1]
    assert len(tuned) == len(base) == n_late
    np.testing.assert_allclose(encoded.tuned[1], tuned.mean(0), atol=1e-5)
    np.testing.assert_allclose(encoded.base[1], base.mean(0), atol=1e-5)
    np.testing.assert_allclose(tuned, whole_tuned[1 : 1 + n_late], atol=1e-6)  # after [CLS], in context
    assert not np.allclose(encoded.tuned[1], encoded.tuned[2], atol=1e-3)


def test_a_span_in_a_window_that_is_not_read_takes_the_whole_text(encoder):
    text = "word " * 400 + "The parcel never arrived. " + "word " * 400  # 3+ windows, 2 read
    middle = text.index("The parcel")
    encoded = encoder.encode_spans([text], [[(middle, middle + 25)]])
    np.testing.assert_allclose(encoded.tuned[1], encoded.tuned[0])
    assert encoded.tokens == {}


def _rows_encoded(classifier, monkeypatch, text):
    from models.encoder import Encoder

    rows: list[int] = []
    forward = Encoder._forward

    def counted(self, batch, tokens=False):
        rows.append(len(batch))
        return forward(self, batch, tokens)

    monkeypatch.setattr(Encoder, "_forward", counted)
    (result,) = classifier.classify([text])
    return sum(rows), {t.name: t.sentiment for t in result.topics}


def test_a_text_whose_topics_share_one_clause_is_encoded_once(classifier, monkeypatch):
    rows, topics = _rows_encoded(classifier, monkeypatch,
                                 "Ordered on Monday. The parcel is still not here and tracking never updated.")
    assert rows == 1  # the two-pass design encoded the text and its 2 clauses: 3 rows
    assert topics.get("delivery") == "negative"


def test_only_clauses_holding_different_topics_are_read_again(classifier, monkeypatch):
    rows, topics = _rows_encoded(classifier, monkeypatch,
                                 "I love these boots. Parcel two weeks late, but the jacket is gorgeous.")
    assert rows == 3  # the text, then the delivery and the quality clause; not "I love these boots"
    assert topics.get("delivery") == "negative" and topics.get("quality") == "positive"


def test_short_texts_are_not_padded_to_long_ones(encoder, monkeypatch):
    from models.encoder import Encoder

    padded: list[int] = []
    forward = Encoder._forward

    def counted(self, batch, tokens=False):
        padded.append(len(batch) * max(len(row) for row in batch))
        return forward(self, batch, tokens)

    monkeypatch.setattr(Encoder, "_forward", counted)
    texts = [" ".join(["parcel"] * n) for n in range(2, 60, 2)]  # 29 texts of 4-61 tokens
    encoder.encode(texts)
    real = sum(n + 2 for n in range(2, 60, 2))
    assert sum(padded) <= 1.3 * real, (sum(padded), real)  # one batch of all 29 pads to 1.9x
