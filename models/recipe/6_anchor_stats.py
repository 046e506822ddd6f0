"""Write models/artifacts/bundled/anchors.safetensors: the mean and covariance of the bundled
head's input vectors over a seeded 6,000 of the rows it was trained on (the 22,000 tweets and
8,000 reviews that 2_cache_tweet_subset.py and 3_finetune_top.py pick; with argv `all`, every
row of both training parts, as the v3 artifact was trained), so `model train` can
adapt the head to corrections without forgetting that distribution (models.heads.VectorStats).
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
import time, numpy as np, torch
torch.set_num_threads(2)
from models import heads
from models.data import read_jsonl, split, unescape
from models.encoder import Encoder
from models.train import DEFAULT_SEED

def training_part(rows):
    pos = {id(r): i for i, r in enumerate(rows)}
    return [pos[id(r)] for r in split(rows, 0.1, DEFAULT_SEED)[0]]
tweets = read_jsonl(D + "tweeteval_sentiment/train.jsonl")
reviews = read_jsonl(D + "womens_ecommerce_clothing_reviews/train.jsonl")
if "all" in sys.argv[1:]:  # the v3 artifact: every row of both training parts
    tweet_idx, review_idx = np.array(training_part(tweets)), np.array(training_part(reviews))
else:
    tweet_idx = np.random.default_rng(0).choice(training_part(tweets), 22000, replace=False)   # as 2_cache_tweet_subset.py
    review_idx = np.random.default_rng(0).choice(training_part(reviews), 8000, replace=False)  # as 3_finetune_top.py
texts = [tweets[i].text for i in tweet_idx] + [reviews[i].text for i in review_idx]
pick = np.random.default_rng(1).choice(len(texts), 6000, replace=False)
artifact = heads.load(heads.BUNDLED)
encoder = Encoder(overrides=artifact.encoder)
t = time.time()
x = np.concatenate([encoder.embed_both([unescape(texts[i]) for i in pick[s : s + 256]])[0]
                    for s in range(0, len(pick), 256)])
print(f"embedded {len(x)} rows in {time.time() - t:.0f}s", flush=True)
heads.save_stats(heads.BUNDLED, heads.VectorStats.fit(x))
print("wrote", heads.BUNDLED / heads.STATS_FILE)
