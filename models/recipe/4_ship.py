"""Copy a candidate into models/artifacts/bundled with its metadata (argv: candidate dir, backend)."""
import os, sys
sys.path.insert(0, os.getcwd())  # run from the repository root
D = os.path.join(os.environ.get("SENTIMON_SHARED", "../shared"), "data") + "/"
os.makedirs("scratch/models", exist_ok=True)
import json, shutil, sys, pathlib
src = pathlib.Path(sys.argv[1]); dst = pathlib.Path("models/artifacts/bundled")
meta = json.loads((src / "meta.json").read_text())
meta.update({"name": "sentimon-minilm", "version": "3", "auto_backend": sys.argv[2] if len(sys.argv) > 2 else "fp32",
             "languages": ["en"], "topic_threshold": 0.27, "topic_token_weight": 1.0,  # from 8_topic_threshold.py
             "topic_blend": 0.25, "topic_relative": 1.0,
             "topic_keyword_bonus": 0.1, "topic_temperature": 0.05,
             "trained_on": ["tweeteval_sentiment/train.jsonl (all 42,724 rows of the 90% split)",
                            "womens_ecommerce_clothing_reviews/train.jsonl (all 16,295 rows of the 90% split)"],
             "holdout": 0.1, "seed": 20261201, "max_length": 128, "epochs": 1.5, "lr": 1e-4})
meta.pop("history", None) if False else None
shutil.copy2(src / "head.safetensors", dst / "head.safetensors")
(dst / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
print(json.dumps(meta.get("scores"), indent=1))
