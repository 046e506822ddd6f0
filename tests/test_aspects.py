"""The per-topic sentiment head (models/aspects.py): its arithmetic, what it learns, its file.

The learning test uses synthetic token states small enough to train in a second: each text
holds two topics with opposite opinions, so only attending to the right tokens can score it.
The last tests use the real bundled model.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import aspects, heads
from models.topics import normalise as _unit
from sentimon.errors import ModelError

DIM = 16


def test_numpy_inference_matches_the_torch_training_net():
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    net = aspects._net(DIM, 8, 5)
    for p in net.parameters():  # away from the zero-initialised start, so every term counts
        torch.nn.init.normal_(p, std=0.3)
    head = aspects.AspectHead({k: v.detach().numpy() for k, v in net.state_dict().items()})
    rng = np.random.default_rng(0)
    tuned, base = rng.standard_normal((11, DIM), dtype=np.float32), rng.standard_normal((11, DIM), dtype=np.float32)
    centroids = _unit(rng.standard_normal((4, DIM))).astype(np.float32)
    with torch.no_grad():
        logits = net(torch.from_numpy(tuned)[None].repeat(2, 1, 1), torch.from_numpy(base)[None].repeat(2, 1, 1),
                     torch.ones(2, 11), torch.from_numpy(centroids[[1, 3]]), torch.from_numpy(centroids))
    expected = torch.softmax(logits, -1).numpy()
    np.testing.assert_allclose(head.probs(tuned, base, centroids[[1, 3]], centroids), expected, atol=1e-5)


def _synthetic(rng: np.random.Generator, n: int, centroids: np.ndarray, polarity: np.ndarray) -> tuple[list, list]:
    """Texts of filler tokens with two topic words, each carrying its own opinion (as contextual states do)."""
    states, pairs = [], []
    for i in range(n):
        length = 12
        base = rng.standard_normal((length, DIM)).astype(np.float32) * 0.3
        tuned = rng.standard_normal((length, DIM)).astype(np.float32) * 0.3
        topics = rng.choice(len(centroids), 2, replace=False)
        labels = rng.choice([0, 2], 2, replace=False)  # one negative, one positive: the mean says nothing
        for slot, (topic, label) in enumerate(zip(topics, labels)):
            at = 1 + slot * 6
            base[at] = centroids[topic] * 3
            tuned[at] += polarity[label] * 3
            pairs.append((i, int(topic), int(label)))
        states.append((tuned, base))
    return states, pairs


def test_training_learns_to_attend_to_the_topic_words():
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    centroids = _unit(rng.standard_normal((3, DIM))).astype(np.float32)
    polarity = {0: _unit(rng.standard_normal(DIM)), 2: _unit(rng.standard_normal(DIM))}
    states, pairs = _synthetic(rng, 300, centroids, polarity)
    head = aspects.train(states, centroids, np.zeros(3, dtype=int), pairs, epochs=15, lr=3e-3, hidden=16, kernel=3)
    test_states, test_pairs = _synthetic(rng, 60, centroids, polarity)
    right = sum(int(np.argmax(head.probs(*test_states[i], centroids[[t]], centroids)[0])) == y
                for i, t, y in test_pairs)
    assert right / len(test_pairs) >= 0.9  # a head on the mean of the text could only guess (0.5)
    tuned, base = test_states[0]
    attention = head.attention(tuned, base, centroids[[test_pairs[0][1]]], centroids)[0]
    assert attention[1] > 0.3  # the first topic's word holds the focus


def test_an_artifact_keeps_or_drops_its_aspect_head(tmp_path):
    head = aspects.AspectHead({k: np.ones((1, 2, 3) if k == "conv.weight" else 2, dtype=np.float32)
                               for k in ("conv.weight", "conv.bias", "salience.weight", "salience.bias", "ln.weight",
                                         "ln.bias", "hidden.weight", "hidden.bias", "out.weight", "out.bias")},
                              mix=0.4, meta={"kernel": 3})
    weights = {"out.weight": np.zeros((3, 4), np.float32), "out.bias": np.zeros(3, np.float32)}
    heads.save(tmp_path, weights, {"labels": ["negative", "neutral", "positive"]}, aspect_head=head)
    loaded = heads.load(tmp_path).aspect_head
    assert loaded is not None and loaded.mix == 0.4 and loaded.meta["kernel"] == "3"
    np.testing.assert_array_equal(loaded.weights["conv.weight"], head.weights["conv.weight"])
    # A folder re-written without one (new tuned layers) must not keep the stale head.
    heads.save(tmp_path, weights, {"labels": ["negative", "neutral", "positive"]})
    assert not (tmp_path / aspects.FILE).exists() and heads.load(tmp_path).aspect_head is None


def test_a_broken_aspect_file_is_a_clear_error(tmp_path):
    weights = {"out.weight": np.zeros((3, 4), np.float32), "out.bias": np.zeros(3, np.float32)}
    heads.save(tmp_path, weights, {})
    (tmp_path / aspects.FILE).write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="aspects.safetensors"):
        heads.load(tmp_path)


def test_the_bundled_model_ships_an_aspect_head():
    artifact = heads.load(heads.BUNDLED)
    assert artifact.aspect_head is not None and 0 < artifact.aspect_head.mix <= 1


# Two topics with opposite opinions in one clause: no contrastive word to split on.
ONE_CLAUSE = [
    ("The delivery was quick and the fabric feels cheap.", {"delivery": "positive", "quality": "negative"}),
    ("Fast shipping and the quality is terrible.", {"delivery": "positive", "quality": "negative"}),
    ("The courier was late and the shoes are lovely.", {"delivery": "negative", "quality": "positive"}),
    ("Great price and the customer service was rude.", {"price": "positive", "customer_service": "negative"}),
    ("The refund took a month and the dress fits perfectly.", {"returns": "negative", "size_fit": "positive"}),
    ("The box was crushed and the jacket is beautiful.", {"packaging": "negative", "quality": "positive"}),
    ("Delivery was super fast and the material is awful.", {"delivery": "positive", "quality": "negative"}),
    ("Support was helpful and the price is outrageous.", {"customer_service": "positive", "price": "negative"}),
]


def _right(classifier) -> int:
    results = classifier.classify([text for text, _ in ONE_CLAUSE])
    return sum({t.name: t.sentiment for t in r.topics}.get(name) == want
               for r, (_, gold) in zip(results, ONE_CLAUSE) for name, want in gold.items())


@pytest.mark.xfail(strict=True, reason="since v4, in the model card: the aspect head trained with the "
                   "single-opinion airline CX pairs splits 6 of 16 verdicts here (clauses alone 7; v3 11)")
def test_two_topics_in_one_clause_get_their_own_sentiment(classifier):
    """Only attention over the tokens can split these; the clause method gives both one verdict."""
    with_head = _right(classifier)
    head, classifier.aspect_head = classifier.aspect_head, None
    try:
        clauses_only = _right(classifier)
    finally:
        classifier.aspect_head = head
    # Measured: 11 of 16 with the head, 7 without (2026-12-02); "fast delivery, bad product"
    # still drags delivery negative, a weakness in the model card.
    assert with_head >= 10 and with_head >= clauses_only + 3, (with_head, clauses_only)


def test_complaints_in_the_demo_rarely_praise_a_topic(classifier):
    """The demo's delivery spike is complaints: a positive topic inside one is almost always wrong.

    Measured on its 298 mentions (2026-12-02): 6 of 75 negative mentions carry a positive topic
    (16 before the whole-text prior; v2 with clauses only: 8 of 68).
    """
    import json
    from pathlib import Path

    import sentimon

    demo = Path(sentimon.__file__).parent / "demo" / "mentions.jsonl"
    rows = [json.loads(line) for line in demo.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = classifier.classify([f"{r['title']}. {r['text']}" if r.get("title") else r["text"] for r in rows])
    negative = [r for r in results if r.sentiment == "negative"]
    praised = [r for r in negative if any(t.sentiment == "positive" for t in r.topics)]
    assert len(negative) >= 60 and len(praised) <= 0.15 * len(negative), (len(praised), len(negative))


def test_token_states_cover_every_window_in_order():
    """A long text's token states are its windows' states end to end: their mean is its vector."""
    from models.encoder import Encoder

    encoder = Encoder(max_length=64)
    texts = ["the parcel came late " * 20 + "the jacket is gorgeous " * 20, "short one", "not kept"]
    windows, owner = encoder.windows(texts)
    encoded = encoder.encode(texts, keep_tokens=[0, 1])
    assert set(encoded.tokens) == {0, 1}
    tuned, base = encoded.tokens[0]
    assert len(tuned) == len(base) == sum(len(w) for w, o in zip(windows, owner) if o == 0) > 64
    np.testing.assert_allclose(tuned.mean(0), encoded.tuned[0], atol=1e-4)
    np.testing.assert_allclose(encoded.tokens[1][1].mean(0), encoded.base[1], atol=1e-4)
    parcel, jacket = _unit(encoder.embed(["the parcel came late", "the jacket is gorgeous"]))
    start, end = _unit(base[5:40]).mean(0), _unit(base[-40:-5]).mean(0)
    assert start @ parcel > start @ jacket and end @ jacket > end @ parcel  # windows kept in order
