"""Fine-tune top layers on cached layer-4 states; save a candidate artifact.

argv: epochs lr out_dir [n_reviews]; env TWEETS names the tweet cache (2_cache_tweet_subset.py).
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
os.makedirs("scratch/models", exist_ok=True)
import sys, json, time, torch, numpy as np, logging
torch.set_num_threads(2)
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
from models.encoder import Encoder
from models.finetune import finetune_top, predict, pooled_features
from models.data import read_jsonl, split
from models.train import DEFAULT_SEED, prior_correction
from models.heads import SentimentHead, save
from models.metrics import sentiment_report
from sentimon.mention import SENTIMENTS as S
epochs = float(sys.argv[1]); lr = float(sys.argv[2]); out = sys.argv[3]
def idx_split(rows, frac=0.1):
    pos = {id(r): i for i, r in enumerate(rows)}
    tr, he = split(rows, frac, DEFAULT_SEED)
    return [pos[id(r)] for r in tr], [pos[id(r)] for r in he]
rv_rows = read_jsonl(D + "womens_ecommerce_clothing_reviews/train.jsonl"); tt_rows = read_jsonl(D + "tweeteval_sentiment/train.jsonl")
tv_rows = read_jsonl(D + "tweeteval_sentiment/validation.jsonl")
R = torch.load("scratch/models/h4_review.pt"); T = torch.load(os.environ.get("TWEETS", "scratch/models/h4_tweet_sub.pt")); TV = torch.load("scratch/models/h4_tweet_val.pt")
yr = np.array([S.index(r.label) for r in rv_rows]); yt = np.array([S.index(r.label) for r in tt_rows]); ytv = np.array([S.index(r.label) for r in tv_rows])
rtr, rhe = idx_split(rv_rows)
rng = np.random.default_rng(0)
n_rev = int(sys.argv[4]) if len(sys.argv) > 4 else 8000
rtr = sorted(rng.choice(rtr, min(n_rev, len(rtr)), replace=False).tolist())
tidx = T["idx"]; nt = len(tidx) - 1500
st = T["states"][:nt] + [R[i] for i in rtr]
y = np.concatenate([yt[tidx[:nt]], yr[rtr]])
hs_t = T["states"][nt:]; hy_t = yt[tidx[nt:]]
hs_r = [R[i] for i in rhe]; hy_r = yr[rhe]
sub = rng.choice(len(hs_t), 600, replace=False); subr = rng.choice(len(hs_r), 600, replace=False)
ev_s = [hs_t[i] for i in sub] + [hs_r[i] for i in subr]; ev_y = np.concatenate([hy_t[sub], hy_r[subr]])
print("train rows", len(st), flush=True)
def score(p, g): return sentiment_report([S[i] for i in g], [S[i] for i in p.argmax(1)])["macro_f1"]
enc = Encoder()
t0 = time.time()
top_state, head_w, hist = finetune_top(enc, st, y, 4, eval_states=ev_s, eval_labels=ev_y, epochs=epochs, lr=lr, score=score)
print("train s", time.time() - t0, hist[-3:], flush=True)
# rebuild top for eval
import copy
top = torch.nn.ModuleList([copy.deepcopy(enc.model.encoder.layer[i]) for i in (4, 5)])
for j, i in enumerate((4, 5)):
    pre = f"encoder.layer.{i}."
    top[j].load_state_dict({k[len(pre):]: v for k, v in top_state.items() if k.startswith(pre)})
head = SentimentHead(head_w, {})
pt, pr = head.probs(pooled_features(top, hs_t)), head.probs(pooled_features(top, hs_r))
corr = prior_correction([pt, pr], [hy_t, hy_r])
pv = head.probs(pooled_features(top, TV))
res = {}
for c in ([1, 1, 1], corr):
    cc = np.array(c, dtype=np.float32)
    for nm, p, g in [("tweet_heldout", pt, hy_t), ("review_heldout", pr, hy_r), ("tweet_val", pv, ytv)]:
        r = sentiment_report([S[i] for i in g], [S[i] for i in (p * cc).argmax(1)])
        res[f"{nm}{'' if c == [1,1,1] else '_corr'}"] = {k: r[k] for k in ("macro_f1", "macro_recall", "accuracy")}
print(json.dumps({"epochs": epochs, "lr": lr, "corr": corr, **res}), flush=True)
save(__import__("pathlib").Path(out), head_w, {"name": "sentimon-minilm", "version": "2", "labels": list(S), "prior_correction": corr, "features": "mean-tuned-top2", "hidden": 256, "split_layer": 4, "history": hist, "scores": res}, encoder=top_state)
