"""Sweep the per-topic neutral weight: python models/recipe/5_topic_sentiment_weight.py semeval|mams W..."""
import sys, json, random, numpy as np, torch
torch.set_num_threads(2)
sys.path.insert(0, ".")
import models, tomllib
from models.data import read_jsonl
from models.evaluate import evaluate_topics
from models.taxonomy import TopicSpec
from models import TOPIC_SETTINGS
from sentimon.settings import validate
def topics_of(path):
    raw = tomllib.loads(open(path).read())["topics"]
    out = []
    for name, spec in raw.items():
        v = validate(spec, TOPIC_SETTINGS, name); v["examples"] = tuple(v.get("examples") or ())
        out.append(models.TopicSpec(name=name, **v))
    return out
which = sys.argv[1]
if which == "semeval":
    rows = read_jsonl("../shared/data/absa_semeval2014_restaurants/train.jsonl", "topics")
    random.Random(0).shuffle(rows); rows = rows[:800]; tax = "models/taxonomies/restaurants.toml"
else:
    rows = read_jsonl("../shared/data/absa_mams_acsa/validation.jsonl", "topics"); tax = "models/taxonomies/mams.toml"
topics = topics_of(tax)
c = models.load_classifier({}, topics)
for w in [float(x) for x in sys.argv[2:]]:
    c.topic_sentiment_weights = np.asarray([1.0, w, 1.0], dtype=np.float32)
    r = evaluate_topics(c, rows, topics, lambda n: None)
    print(which, w, round(r["aspect_sentiment_accuracy"], 4), round(r["micro_f1"], 4), flush=True)
