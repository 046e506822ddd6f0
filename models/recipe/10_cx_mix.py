"""v4: fine-tune the encoder's top layers on a customer-experience mix, scored on every validation set.

Steps (run from the repository root, SENTIMON_SHARED pointing at ../shared by default):
  python models/recipe/10_cx_mix.py cache            # layer-2 states of the mix and of every validation set
  python models/recipe/10_cx_mix.py train SPLIT EPOCHS OUT [N]   # tune layers SPLIT..5 (+ head), N rows (default all)
                                                    # SPLIT 0 tunes the whole encoder (states from the text)

Why a mix: the sentiment layers of v3 learned from general tweets and clothing reviews, where a
plain statement of a problem is often labelled neutral; the CX sets (airline tweets and reviews,
restaurant reviews, brand tweets, device reviews) are full of plain complaints labelled negative.
TweetEval and the clothing reviews stay in, subsampled, so those domains do not fall back.
Validation splits are used to choose (checkpoints, class weights) and reported; never trained on.
The clothing set has no validation file: its 10% held-out split (seed 20261201) plays that part,
as it did for v2 and v3. Checkpoints land in OUT/step-*/ with a log line per evaluation.
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
import json, logging, pathlib, random, time
import numpy as np, torch
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
from models.data import read_jsonl, split, unescape
from models.encoder import Encoder
from models.finetune import hidden_at, finetune_top, predict
from models.metrics import sentiment_report
from models.train import DEFAULT_SEED
from models.heads import save
from sentimon.mention import SENTIMENTS as S

CACHE = pathlib.Path("scratch/cx")
# (name, train file, cap on training rows); None = every row. Caps keep the general sets from
# outweighing the CX ones while the mix stays about 58k rows (an epoch of 4 layers ~ 35 min on 2 cores).
MIX = [
    ("airline_tweets_cx", "airline_tweets_cx/train.jsonl", None),
    ("airline_reviews_skytrax", "airline_reviews_skytrax/train.jsonl", None),
    ("zomato_restaurant_reviews", "zomato_restaurant_reviews/train.jsonl", None),
    ("apple_brand_tweets", "apple_brand_tweets/train.jsonl", None),
    ("sxsw_brand_tweets", "sxsw_brand_tweets/train.jsonl", None),
    ("amazon_alexa_reviews", "amazon_alexa_reviews/train.jsonl", None),
    ("datafiniti_amazon_reviews", "datafiniti_amazon_reviews/train.jsonl", None),
    ("tweeteval_sentiment", "tweeteval_sentiment/train.jsonl", 16000),
    ("clothing_reviews", "womens_ecommerce_clothing_reviews/train.jsonl", 8000),
]
VALID = [(name, f"{name}/validation.jsonl") for name, _, _ in MIX[:8]]


def load_mix():
    """Training rows per source (capped, seeded) and validation rows per set."""
    rng = random.Random(DEFAULT_SEED)
    train, valid = {}, {}
    for name, path, cap in MIX:
        rows = read_jsonl(D + path)
        if name == "clothing_reviews":
            rows, valid[name] = split(rows, 0.1, DEFAULT_SEED)  # v2/v3's held-out reviews
        if cap and len(rows) > cap:
            rows = rng.sample(rows, cap)
        train[name] = rows
    for name, path in VALID:
        valid[name] = read_jsonl(D + path)
    return train, valid


def cache():
    encoder = Encoder()
    train, valid = load_mix()
    CACHE.mkdir(parents=True, exist_ok=True)
    for kind, sets in (("train", train), ("valid", valid)):
        for name, rows in sets.items():
            t = time.time()
            states = hidden_at(encoder, [unescape(r.text) for r in rows], 2)
            torch.save({"states": states, "y": np.array([S.index(r.label) for r in rows])}, CACHE / f"{kind}_{name}.pt")
            print(f"{kind} {name}: {len(rows)} rows in {time.time() - t:.0f}s", flush=True)


def lift(encoder, states, split, texts=None):
    """Layer-``split`` states from cached layer-2 ones (the frozen base layers in between).

    Below the cache (split 0 or 1: the whole encoder tunes) they come from ``texts`` instead."""
    if split < 2:
        return hidden_at(encoder, texts, split)
    if split == 2:
        return states
    from models.finetune import _stack
    from models.bert import run_layers
    layers = encoder.model.encoder.layer[2:split]
    out = []
    order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
    out = [None] * len(states)
    with torch.inference_mode():
        for s in range(0, len(order), 128):
            idx = order[s:s + 128]
            x, mask = _stack(states, idx)
            h = run_layers(layers, x, mask)
            for row, i in enumerate(idx):
                out[i] = h[row, : states[i].shape[0]].to(torch.float16).clone()
    return out


def macro_f1(p, g):
    return sentiment_report([S[i] for i in g], [S[i] for i in p.argmax(1)])["macro_f1"]


def train(split, epochs, out, n=None):
    encoder = Encoder()
    names = [name for name, _, _ in MIX]
    parts = [torch.load(CACHE / f"train_{name}.pt", weights_only=False) for name in names]
    states = [s for p in parts for s in p["states"]]
    y = np.concatenate([p["y"] for p in parts])
    rows, valid_rows = load_mix() if split < 2 else ({}, {})
    texts = [unescape(r.text) for name in names for r in rows.get(name, [])] or [None] * len(y)
    rng = np.random.default_rng(0)
    if n and n < len(y):
        keep = sorted(rng.choice(len(y), n, replace=False).tolist())
        states, y, texts = [states[i] for i in keep], y[keep], [texts[i] for i in keep]
    states = lift(encoder, states, split, texts)
    valid = {name: torch.load(CACHE / f"valid_{name}.pt", weights_only=False) for name in names}
    # In-training score: mean macro-F1 over up to 400 rows of each validation set.
    ev_states, ev_y, ev_owner = [], [], []
    for k, (name, v) in enumerate(valid.items()):
        pick = rng.choice(len(v["y"]), min(400, len(v["y"])), replace=False)
        ev_texts = [unescape(valid_rows[name][i].text) for i in pick] if split < 2 else None
        ev_states += lift(encoder, [v["states"][i] for i in pick], split, ev_texts)
        ev_y.append(v["y"][pick])
        ev_owner += [k] * len(pick)
    ev_y, ev_owner = np.concatenate(ev_y), np.array(ev_owner)

    def score(p, g):
        return round(float(np.mean([macro_f1(p[ev_owner == k], g[ev_owner == k]) for k in range(len(valid))])), 4)

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"split {split}: {len(y)} training rows, labels {np.bincount(y, minlength=3).tolist()}", flush=True)

    def checkpoint(entry, top, head_w):
        state = {f"encoder.layer.{split + i}.{k}": v.detach().clone() for i, layer in enumerate(top)
                 for k, v in layer.state_dict().items()}
        save(out / f"step-{entry['step']}", head_w, {"labels": list(S), "hidden": 256, "split_layer": split,
                                                     "history_entry": entry}, encoder=state)
        with open(out / "log.jsonl", "a") as log:
            log.write(json.dumps(entry) + "\n")

    t = time.time()
    top_state, head_w, hist = finetune_top(encoder, states, y, split, eval_states=ev_states, eval_labels=ev_y,
                                           epochs=epochs, lr=float(os.environ.get("LR", "1e-4")), score=score,
                                           seed=DEFAULT_SEED % 1000, checkpoint=checkpoint)
    print(f"trained in {time.time() - t:.0f}s: {hist[-3:]}", flush=True)
    save(out / "final", head_w, {"labels": list(S), "hidden": 256, "split_layer": split, "history": hist,
                                 "train_rows": int(len(y)), "epochs": epochs}, encoder=top_state)


if __name__ == "__main__":
    if sys.argv[1] == "cache":
        cache()
    else:
        train(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else None)
