"""Calibrate the bundled zero-shot topic threshold on 1,000 MAMS-ACSA *train* sentences.

argv: token_weight (weight of the best single token's similarity, models.topics.token_scores).
Writes topic_token_weight and topic_threshold (the micro-F1-best global threshold,
models.calibrate.best_thresholds) into models/artifacts/bundled/meta.json. Topic scores read
the base encoder only, so this does not depend on the tuned layers.
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
import json, numpy as np, torch
torch.set_num_threads(2)
import models
from models import heads
from models.calibrate import best_thresholds
from models.data import read_jsonl
from models.evaluate import gold_topics
from sentimon.config import load_config

weight = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
meta_file = heads.BUNDLED / "meta.json"
meta = json.loads(meta_file.read_text())
meta["topic_token_weight"] = weight
meta_file.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")  # the classifier below reads it
topics = load_config("models/taxonomies/mams.toml").topics
rows = read_jsonl(D + "absa_mams_acsa/train.jsonl", "topics")[:1000]
classifier = models.load_classifier({}, topics)
sim = classifier.topic_similarity([r.text for r in rows])
gold = np.array([[t.name in g for t in topics] for g in gold_topics(rows, [t.name for t in topics])])
threshold, _ = best_thresholds(sim, gold)
meta["topic_threshold"] = threshold
meta_file.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
print(json.dumps({"topic_token_weight": weight, "topic_threshold": threshold}))
