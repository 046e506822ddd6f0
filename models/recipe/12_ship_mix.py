"""Ship a 10_cx_mix.py checkpoint as the bundled artifact: class weights, anchors, metadata.

argv: checkpoint folder (e.g. scratch/v5_s2/final), then the version to write (default 5; v4
was scratch/final_s4/final with version 4). Run 11_multilingual_head.py before
it (it writes multilingual.safetensors and scratch/ml/report.json) and 7_aspect_head.py after
it (the aspect head reads these tuned layers' token states).
- Class weights (``prior_correction``) are chosen on the validation splits, as the issue allows:
  the grid of models.train.prior_correction, maximising mean macro-F1 + macro-recall over sets.
- Anchors (models.heads.VectorStats) are the tuned vectors of a seeded 6,000 training rows.
- Topic settings are kept from v3: topics read the base layers, which v4 and v5 do not change.
"""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
import importlib.util, json, pathlib, shutil
import numpy as np, torch
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
from models import heads
from models.encoder import Encoder
from models.finetune import predict, pooled_features
from models.metrics import sentiment_report
from models.train import prior_correction, load_net
from sentimon.mention import SENTIMENTS as S

spec = importlib.util.spec_from_file_location("mix", "models/recipe/10_cx_mix.py")
mix = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mix)
src = pathlib.Path(sys.argv[1])
version = sys.argv[2] if len(sys.argv) > 2 else "5"
dst = heads.BUNDLED
candidate = heads.load(src)
encoder = Encoder(overrides=candidate.encoder)
split = encoder.split
top = encoder.tuned.float()
head = load_net(candidate.head.weights).eval()
names = [name for name, _, _ in mix.MIX]
probs, golds, scores = [], [], {}
for name in names:
    v = torch.load(mix.CACHE / f"valid_{name}.pt", weights_only=False)
    p = predict(top, head, mix.lift(encoder, v["states"], split))
    probs.append(p)
    golds.append(v["y"])
correction = prior_correction(probs, golds)
for name, p, g in zip(names, probs, golds):
    r = sentiment_report([S[i] for i in g], [S[i] for i in (p * np.array(correction)).argmax(1)])
    scores[name] = {k: r[k] for k in ("macro_f1", "macro_recall", "accuracy")} | {
        "negative_recall": r["per_class"]["negative"]["recall"]}
print(json.dumps({"prior_correction": correction, "validation": scores}, indent=1), flush=True)

rng = np.random.default_rng(1)
parts = [torch.load(mix.CACHE / f"train_{name}.pt", weights_only=False)["states"] for name in names]
pool = [s for part in parts for s in part]
sample = [pool[i] for i in rng.choice(len(pool), 6000, replace=False)]
stats = heads.VectorStats.fit(pooled_features(top, mix.lift(encoder, sample, split)))

meta = json.loads((heads.BUNDLED / "meta.json").read_text())  # v3's topic settings carry over
for key in ("history", "scores", "prior_correction", "trained_on", "epochs", "lr", "features"):
    meta.pop(key, None)
ml_report = json.loads(pathlib.Path("scratch/ml/report.json").read_text())
cmeta = json.loads((src / "meta.json").read_text())
meta.update({
    "name": "sentimon-minilm", "version": version, "split_layer": split, "features": f"mean-tuned-top{6 - split}",
    "prior_correction": correction, "validation_scores": scores, "checkpoint": str(src),
    "history": cmeta.get("history") or [cmeta.get("history_entry")],
    "trained_on": [f"{name}: {len(part)} rows of train.jsonl" for name, part in zip(names, parts)],
    "holdout_note": "clothing reviews: the seeded 10% of train.jsonl is held out (validation)",
    "epochs": 1.0, "lr": 1e-4, "max_length": 128, "seed": 20261201,
    "languages": ["en"],
    "multilingual": {"name": "use-m3", "languages": ["de", "fr", "es", "it", "pt", "ar"],
                     "prior_correction": ml_report["prior_correction"],
                     "validation": ml_report["validation"]},
})
heads.save(dst, candidate.head.weights, meta, encoder=candidate.encoder, stats=stats)
print("wrote", dst, "- now run 7_aspect_head.py", flush=True)
