"""Cache layer-4 states for a seeded subset of tweets train (not-heldout part) + 1,500 held-out.

argv: [N | all] [output path]; default 22000 rows into scratch/models/h4_tweet_sub.pt (the v2
artifact); `all 'scratch/models/h4_tweet_all.pt'` caches the whole training part (v3).
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
os.makedirs("scratch/models", exist_ok=True)
import time, torch, numpy as np
torch.set_num_threads(2)
from models.encoder import Encoder
from models.finetune import hidden_at
from models.data import read_jsonl, split, unescape
from models.train import DEFAULT_SEED
enc = Encoder()
rows = read_jsonl(D + "tweeteval_sentiment/train.jsonl")
pos = {id(r): i for i, r in enumerate(rows)}
tr, he = split(rows, 0.1, DEFAULT_SEED)
tr_idx = [pos[id(r)] for r in tr]; he_idx = [pos[id(r)] for r in he]
rng = np.random.default_rng(0)
n = sys.argv[1] if len(sys.argv) > 1 else "22000"
out = sys.argv[2] if len(sys.argv) > 2 else "scratch/models/h4_tweet_sub.pt"
subset = rng.choice(tr_idx, 22000 if n == "all" else int(n), replace=False)  # drawn either way: same held-out rows
keep = sorted(tr_idx if n == "all" else subset.tolist()) + sorted(rng.choice(he_idx, 1500, replace=False).tolist())
t = time.time()
states = hidden_at(enc, [unescape(rows[i].text) for i in keep], 4, max_length=96)
torch.save({"idx": keep, "states": states}, out)
print("tweets", len(states), f"{len(keep)/(time.time()-t):.0f}/s", flush=True)
