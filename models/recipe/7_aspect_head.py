"""Train the per-topic sentiment head (models/aspects.py) over the shipped artifact's token states.

Data: MAMS-ACSA *train* (topics from models/taxonomies/mams.toml; miscellaneous left out) and
SemEval-2016 laptops *train* (each ENTITY#ATTRIBUTE category a topic named by its words, e.g.
"battery operation performance"), so the head sees both MAMS's "mentioned, no opinion" neutrals
and ordinary review polarities. argv: [mix] [out folder, default models/artifacts/bundled]
[--hold]: with --hold a seeded 10% of MAMS train sentences is kept out and its pairs' aspect
probabilities written to scratch/models/aspect_hold.npz and the head to scratch/models/aspect_hold/
(9_aspect_mix.py chooses the mix with it). Rerun it whenever
the tuned layers change (recipe 3/4 or `model train --finetune`).

With --cx (v4) the Twitter US Airline *train* tweets join as CX aspect data for the default
CX taxonomy (models.DEFAULT_TOPICS, a third group of queries): a negative tweet whose crowd
complaint reason is confident (>= 0.7) gives (its reason's topic, negative) through CX_REASONS;
a positive or neutral tweet gives (the topic the zero-shot detector finds first in it, its
sentiment), so the CX queries see praise and plain mentions too, not only complaints.
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
import time, pathlib, numpy as np, torch
torch.set_num_threads(2)
from models import aspects, heads
from models.data import read_jsonl
from models.encoder import Encoder
from sentimon.config import load_config
from models.topics import TopicIndex, normalise
from sentimon.mention import SENTIMENTS

KERNEL, FOCUS = int(os.environ.get("KERNEL", "5")), float(os.environ.get("FOCUS", "10"))  # exploration knobs
args = [a for a in sys.argv[1:] if a not in ("--hold", "--cx")]
# Airline complaint reasons -> the CX taxonomy's topics (a late or cancelled flight is the
# service not delivered as promised; lost luggage a lost parcel; booking problems the website).
CX_REASONS = {"Customer Service Issue": "customer_service", "Flight Attendant Complaints": "customer_service",
              "longlines": "customer_service", "Late Flight": "delivery", "Cancelled Flight": "delivery",
              "Lost Luggage": "delivery", "Damaged Luggage": "quality", "Bad Flight": "quality",
              "Flight Booking Problems": "website"}
mix = float(args[0]) if args else aspects.DEFAULT_MIX
out = pathlib.Path(args[1] if len(args) > 1 else heads.BUNDLED)
artifact = heads.load(out if (out / "head.safetensors").exists() else heads.BUNDLED)
encoder = Encoder(overrides=artifact.encoder)


def token_states(texts):
    states = []
    for s in range(0, len(texts), 128):
        tokens = encoder.encode(texts[s:s + 128], range(len(texts[s:s + 128]))).tokens
        states += [(tokens[i][0].astype(np.float16), tokens[i][1].astype(np.float16)) for i in range(len(tokens))]
    return states


mams = read_jsonl(D + "absa_mams_acsa/train.jsonl", "topics")
laptops = read_jsonl(D + "absa_semeval2016_laptops/train.jsonl", "topics")
mams_topics = load_config("models/taxonomies/mams.toml").topics
laptop_cats = sorted({a.category for r in laptops for a in r.aspects})
queries = np.concatenate([TopicIndex.build(mams_topics, encoder.embed).centroids,
                          normalise(encoder.embed([c.lower().replace("#", " ").replace("_", " ").replace(" general", "")
                                                   for c in laptop_cats]))])
groups = np.array([0] * len(mams_topics) + [1] * len(laptop_cats))
names = [t.name for t in mams_topics] + laptop_cats
cx_rows, cx_pairs = [], []
if "--cx" in sys.argv:
    import json
    import models as product
    cx_topics = list(product.DEFAULT_TOPICS)
    queries = np.concatenate([queries, TopicIndex.build(cx_topics, encoder.embed).centroids])
    groups = np.concatenate([groups, np.full(len(cx_topics), 2)])
    cx_names = [t.name for t in cx_topics]
    raw = [json.loads(line) for line in open(D + "airline_tweets_cx/train.jsonl", encoding="utf-8")]
    detector = product.load_classifier({}, cx_topics)
    detector.aspect_head = None
    found = detector.classify([r["text"] for r in raw if r["label"] != "negative"])
    found = iter(found)
    for r in raw:
        if r["label"] == "negative":
            topic = CX_REASONS.get(r.get("negativereason") or "")
            if topic is None or float(r.get("negativereason_confidence") or 0) < 0.7:
                continue
        else:
            result = next(found)
            if not result.topics:
                continue
            topic = result.topics[0].name
        cx_pairs.append((len(cx_rows), len(names) + cx_names.index(topic), SENTIMENTS.index(r["label"])))
        cx_rows.append(r["text"])
    names = names + cx_names
    print(f"CX pairs {len(cx_pairs)}: " + str(np.bincount([y for _, _, y in cx_pairs], minlength=3).tolist()), flush=True)
t = time.time()
import hashlib, pickle
key = hashlib.sha1((artifact.path / "head.safetensors").read_bytes()).hexdigest()[:12]
cache = pathlib.Path(f"scratch/models/aspect_states_{key}.pkl")  # token states of these tuned layers
if cache.exists():
    states = pickle.loads(cache.read_bytes())
else:
    states = token_states([r.text for r in mams]) + token_states([r.text for r in laptops])
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(states))
offset = len(states)
states = states + (token_states(cx_rows) if cx_rows else [])
print(f"token states of {len(states)} sentences in {time.time() - t:.0f}s", flush=True)
pairs, sentence = [], []
for i, row in enumerate(list(mams) + list(laptops)):
    seen = {}
    for a in row.aspects:
        name = a.category.lower() if i < len(mams) else a.category
        if name in names and a.polarity in SENTIMENTS:
            seen[name] = a.polarity if seen.get(name, a.polarity) == a.polarity else None  # mixed: left out
    pairs += [(i, names.index(n), SENTIMENTS.index(p)) for n, p in seen.items() if p]
pairs += [(offset + i, k, y) for i, k, y in cx_pairs]
held = set()
if "--hold" in sys.argv:
    held = set(np.random.default_rng(1).permutation(len(mams))[: len(mams) // 10].tolist())
train_pairs = [p for p in pairs if p[0] not in held]
t = time.time()
head = aspects.train(states, queries, groups, train_pairs, epochs=3, mix=mix, kernel=KERNEL, focus=FOCUS)
print(f"trained on {len(train_pairs)} pairs in {time.time() - t:.0f}s", flush=True)
if held:
    hold = [p for p in pairs if p[0] in held]
    probs = np.stack([head.probs(*(s.astype(np.float32) for s in states[i]), queries[[k]], queries[groups == 0])[0]
                      for i, k, _ in hold])
    np.savez("scratch/models/aspect_hold.npz", probs=probs, labels=np.array([y for _, _, y in hold]),
             texts=np.array([mams[i].text for i, _, _ in hold]), topics=np.array([names[k] for _, k, _ in hold]))
    print("held-out pairs", len(hold), "aspect-head accuracy", round(float((probs.argmax(1) == [y for _, _, y in hold]).mean()), 4))
    (pathlib.Path("scratch/models/aspect_hold")).mkdir(parents=True, exist_ok=True)
    aspects.save(pathlib.Path("scratch/models/aspect_hold"), head)  # for 9_aspect_mix.py
else:
    aspects.save(out, head)
    print("wrote", out / aspects.FILE)
