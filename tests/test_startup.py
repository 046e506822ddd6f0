"""What `sentimon classify "text"` pays before its answer (issue 19 item 3): no model code at CLI
import, OpenMP threads that sleep rather than spin on shared cores, and the bench that times it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchscripts import load_bench

HEAVY = ("torch", "models.classifier", "models.encoder", "tokenizers", "transformers", "py3langid")


def python(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**environment, **env})
    return run.stdout.strip()


def test_importing_the_cli_loads_no_model_code():
    loaded = json.loads(python(f"import json, sys, sentimon.cli; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"))
    assert loaded == []


def test_openmp_threads_sleep_unless_the_environment_says_otherwise():
    """Set by ``import models``, before anything there imports torch (libgomp reads it once)."""
    assert python("import os, models; print(os.environ['OMP_WAIT_POLICY'])") == "PASSIVE"
    assert python("import os, models; print(os.environ['OMP_WAIT_POLICY'])", OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"


def test_the_startup_bench_prints_every_phase():
    bench = load_bench("startup")
    rows = [{phase: 0.5 + i for i, phase in enumerate(bench.PHASES)}] * 3
    text = bench.table({"before": rows, "now": rows}, markdown=True)
    assert all(f"| {phase} | " in text for phase in bench.PHASES)
    assert "| total wall | 5.50 | 5.50 |" in text
