"""Choose the aspect head's mix with the clause method, through the product's `model eval` path.

Needs `7_aspect_head.py --hold` first (a head trained without a seeded 10% of MAMS train). Scores
per-topic sentiment accuracy where the topic is found on those held-out MAMS sentences and on the
seeded 800-sentence SemEval-2014 subset that chose TOPIC_SENTIMENT_WEIGHTS, for each mix; the
mix with the best mean is the one to pass to 7_aspect_head.py.
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
import random, tomllib, pathlib, numpy as np, torch
torch.set_num_threads(2)
import models
from models import aspects
from models.data import read_jsonl
from models.evaluate import evaluate_topics
from models.taxonomy import TopicSpec


def taxonomy(path):
    raw = tomllib.load(open(path, "rb"))["topics"]
    return [TopicSpec(n, v.get("description", ""), tuple(v.get("examples", ()))) for n, v in raw.items()]


mams = read_jsonl(D + "absa_mams_acsa/train.jsonl", "topics")
held = np.random.default_rng(1).permutation(len(mams))[: len(mams) // 10]  # as 7_aspect_head.py --hold
semeval = read_jsonl(D + "absa_semeval2014_restaurants/train.jsonl", "topics")
random.Random(0).shuffle(semeval)  # the 800 rows 5_topic_sentiment_weight.py chose its weight on
head = aspects.load(pathlib.Path("scratch/models/aspect_hold"))
sets = []
for path, rows in (("models/taxonomies/mams.toml", [mams[i] for i in held]),
                   ("models/taxonomies/restaurants.toml", semeval[:800])):
    topics = taxonomy(path)
    classifier = models.load_classifier({}, topics)
    classifier.aspect_head = head
    sets.append((classifier, rows, topics))
print("| mix | MAMS train held-out | SemEval-2014 subset | mean |\n|---:|---:|---:|---:|")
for mix in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0):
    head.mix = mix
    acc = [evaluate_topics(c, rows, topics)["aspect_sentiment_accuracy"] for c, rows, topics in sets]
    print(f"| {mix} | {acc[0]:.4f} | {acc[1]:.4f} | {np.mean(acc):.4f} |", flush=True)
