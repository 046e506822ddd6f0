"""Cache layer-4 hidden states for fine-tuning experiments."""
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
def idx_split(rows, frac=0.1):
    pos = {id(r): i for i, r in enumerate(rows)}
    tr, he = split(rows, frac, DEFAULT_SEED)
    return [pos[id(r)] for r in tr], [pos[id(r)] for r in he]
for name, path in [("tweet_val", "tweeteval_sentiment/validation.jsonl"),
                   ("review", "womens_ecommerce_clothing_reviews/train.jsonl")]:
    rows = read_jsonl(D + path)
    t = time.time()
    states = hidden_at(enc, [unescape(r.text) for r in rows], 4, max_length=128)
    torch.save(states, f"scratch/models/h4_{name}.pt")
    print(name, len(states), f"{len(rows)/(time.time()-t):.0f}/s", flush=True)
