"""Start-up of `sentimon classify "text"` (issue 19 item 3): where the seconds go, A/B in one run.

    python bench/startup.py                       # this tree: cold and warm topic cache, 5 rounds
    python bench/startup.py --before c5d3ec7      # and the same phases at an older commit
    python bench/startup.py --runs 3 --markdown   # a table for docs/BENCHMARKS.md

Each figure is the median over ``--runs`` fresh processes, the variants taken in turn within
each round so they share the machine's load (the load average is printed with the table).
Phases, each in a fresh child process: python start (``python -c pass``), importing the CLI,
importing torch, loading the model (artifact, encoder, topic index), classifying the first
text; then the total wall time of ``python -m sentimon.cli classify TEXT`` as a subprocess.
``--before REV`` checks REV out into a temporary git worktree and runs it the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = "My parcel arrived two weeks late and nobody answered my emails"
PHASES = ("python start", "CLI import", "torch import", "model load", "first text", "total wall")

# Runs in the child with the tree under test first on sys.path; prints one JSON line of seconds.
CHILD = """
import json, sys, time
started = time.perf_counter()
import sentimon.cli
cli = time.perf_counter()
import models
import torch
imported = time.perf_counter()
from models.taxonomy import DEFAULT_TOPICS
classifier = models.load_classifier({}, DEFAULT_TOPICS)
loaded = time.perf_counter()
classifier.classify([sys.argv[1]])
done = time.perf_counter()
print(json.dumps({"CLI import": cli - started, "torch import": imported - cli,
                  "model load": loaded - imported, "first text": done - loaded}))
"""


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def run_once(tree: Path, env: dict[str, str], text: str) -> dict[str, float]:
    """One round of every phase for one variant, each in a fresh process, cwd without a config."""
    with tempfile.TemporaryDirectory() as cwd:
        env = {**os.environ, **env, "PYTHONPATH": str(tree)}
        env.pop("SENTIMON_CONFIG", None)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env, cwd=cwd)
        row = {"python start": time.perf_counter() - started}
        child = subprocess.run([sys.executable, "-c", CHILD, text], check=True, env=env, cwd=cwd,
                               capture_output=True, text=True)
        row.update(json.loads(child.stdout.strip().splitlines()[-1]))
        started = time.perf_counter()
        answer = subprocess.run([sys.executable, "-m", "sentimon.cli", "classify", text], check=True, env=env,
                                cwd=cwd, capture_output=True, text=True)
        row["total wall"] = time.perf_counter() - started
        if "negative" not in answer.stdout and "positive" not in answer.stdout and "neutral" not in answer.stdout:
            raise SystemExit(f"no answer from {tree}: {answer.stdout!r} {answer.stderr[-500:]!r}")
        return row


def variants(before: str | None, scratch: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    """name -> (tree, environment). The warm cache is filled once before the rounds start."""
    warm = scratch / "warm-cache"
    out: dict[str, tuple[Path, dict[str, str]]] = {}
    if before:
        tree = scratch / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), before], check=True)
        out[f"before ({before})"] = (tree, {"SENTIMON_CACHE_DIR": str(scratch / "before-cache")})
    out["now, cold cache"] = (ROOT, {"SENTIMON_CACHE_DIR": "off"})
    out["now, warm cache"] = (ROOT, {"SENTIMON_CACHE_DIR": str(warm)})
    out["now, warm, spinning OpenMP"] = (ROOT, {"SENTIMON_CACHE_DIR": str(warm), "OMP_WAIT_POLICY": "ACTIVE"})
    return out


def table(results: dict[str, list[dict[str, float]]], markdown: bool) -> str:
    names = list(results)
    medians = {n: {p: statistics.median(r[p] for r in results[n]) for p in PHASES} for n in names}
    if markdown:
        lines = ["| phase (median, s) | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        lines += [f"| {p} | " + " | ".join(f"{medians[n][p]:.2f}" for n in names) + " |" for p in PHASES]
        return "\n".join(lines)
    width = max(len(n) for n in names) + 2
    lines = ["phase (median, s)".ljust(16) + "".join(n.rjust(width) for n in names)]
    lines += [p.ljust(16) + "".join(f"{medians[n][p]:.2f}".rjust(width) for n in names) for p in PHASES]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", help="a git revision to measure beside this tree")
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sentimon-startup-") as name:
        scratch = Path(name)
        try:
            chosen = variants(args.before, scratch)
            for tree, env in chosen.values():  # fill the warm caches; imports leave the disk warm
                run_once(tree, env, args.text)
            print(f"load average before: {load_average()}", file=sys.stderr)
            results: dict[str, list[dict[str, float]]] = {n: [] for n in chosen}
            for round_ in range(args.runs):
                for variant, (tree, env) in chosen.items():
                    results[variant].append(run_once(tree, env, args.text))
                print(f"round {round_ + 1}/{args.runs} done, load {load_average()}", file=sys.stderr)
        finally:
            if args.before:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(scratch / "before")],
                               check=False)
    print(table(results, args.markdown))
    print(f"\nload average after: {load_average()}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
