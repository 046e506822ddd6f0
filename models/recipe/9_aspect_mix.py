"""Choose the aspect head's mix and the whole-text prior, through the product's `model eval` path.

Needs `7_aspect_head.py --hold` first (a head trained without a seeded 10% of MAMS train). For
each (mix, prior) it scores per-topic sentiment accuracy where the topic is found on those
held-out MAMS sentences and on the seeded 800-sentence SemEval-2014 subset that chose
TOPIC_SENTIMENT_WEIGHTS, and two CX checks on the offline demo's mentions (no per-topic gold
there): negative mentions given a positive topic, and topic verdicts against a review's stars.
argv: mixes, then `--prior` and priors (defaults below).
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
import json, random, pathlib, numpy as np, torch
torch.set_num_threads(2)
import models
from models import aspects
from models.data import read_jsonl
from models.evaluate import evaluate_topics
from sentimon.config import load_config


args = sys.argv[1:]
cut = args.index("--prior") if "--prior" in args else len(args)
mixes = [float(a) for a in args[:cut]] or [0.0, 0.4, 0.6, 0.8, 1.0]
priors = [float(a) for a in args[cut + 1:]] or [0.0, 0.2, 0.3, 0.4]
mams = read_jsonl(D + "absa_mams_acsa/train.jsonl", "topics")
held = np.random.default_rng(1).permutation(len(mams))[: len(mams) // 10]  # as 7_aspect_head.py --hold
semeval = read_jsonl(D + "absa_semeval2014_restaurants/train.jsonl", "topics")
random.Random(0).shuffle(semeval)  # the 800 rows 5_topic_sentiment_weight.py chose its weight on
head = aspects.load(pathlib.Path("scratch/models/aspect_hold"))
demo = [json.loads(line) for line in pathlib.Path("sentimon/demo/mentions.jsonl").read_text(encoding="utf-8").splitlines()]
demo_texts = [f"{r['title']}. {r['text']}" if r.get("title") else r["text"] for r in demo]
sets = []
for path, rows in (("models/taxonomies/mams.toml", [mams[i] for i in held]),
                   ("models/taxonomies/restaurants.toml", semeval[:800])):
    topics = load_config(path).topics
    sets.append((models.load_classifier({}, topics), rows, topics))
cx = models.load_classifier({}, models.DEFAULT_TOPICS)
for classifier in [c for c, _, _ in sets] + [cx]:
    classifier.aspect_head = head
print("| mix | whole-text prior | MAMS train held-out | SemEval-2014 subset | mean | demo: negative with a positive topic | demo: verdicts against the stars |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for prior in priors:
    for mix in mixes:
        head.mix = mix
        for classifier in [c for c, _, _ in sets] + [cx]:
            classifier.whole_text_prior = prior
        acc = [evaluate_topics(c, rows, topics)["aspect_sentiment_accuracy"] for c, rows, topics in sets]
        results = cx.classify(demo_texts)
        negative = [r for r in results if r.sentiment == "negative"]
        praised = sum(any(t.sentiment == "positive" for t in r.topics) for r in negative)
        verdicts = [(row["rating"], t.sentiment) for row, r in zip(demo, results) if row.get("rating") in (1, 2, 4, 5)
                    for t in r.topics]
        against = sum(s == ("positive" if rating <= 2 else "negative") for rating, s in verdicts)
        print(f"| {mix} | {prior} | {acc[0]:.4f} | {acc[1]:.4f} | {np.mean(acc):.4f} | {praised} of {len(negative)} | "
              f"{against / len(verdicts):.1%} |", flush=True)
