"""What `sentimon classify "text"` pays before its answer (issue 19 item 3): no model code at CLI
import, OpenMP threads that sleep rather than spin on shared cores, the language model read from
an unpacked copy (same answers as py3langid's own loader), and the bench that times it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
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


SAMPLES = ["My parcel arrived two weeks late and nobody answered my emails",
           "Das Paket kam zwei Wochen zu spät an und niemand hat geantwortet",
           "Le colis est arrivé avec deux semaines de retard",
           "El paquete llegó dos semanas tarde", "ok", ""]


@pytest.fixture(scope="module")
def reference() -> list[tuple[str, float]]:
    """py3langid's own loader (decompressing its model), as before the cache."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return [identifier.classify(text) for text in SAMPLES]


def test_the_language_model_is_unpacked_once_and_answers_the_same(tmp_path, monkeypatch, reference):
    from models import langid

    assert [langid.load_identifier(tmp_path).classify(t) for t in SAMPLES] == reference
    (copy,) = tmp_path.glob("langid-*")

    def no_decompression(*args: object, **kwargs: object) -> None:
        raise AssertionError("decompressed again")

    monkeypatch.setattr(langid.lzma, "open", no_decompression)
    assert [langid.load_identifier(tmp_path).classify(t) for t in SAMPLES] == reference


def test_a_damaged_or_unwritable_copy_falls_back_to_py3langid(tmp_path, reference):
    from models import langid

    langid.load_identifier(tmp_path)
    (copy,) = tmp_path.glob("langid-*")
    (copy / "nextmove.npy").write_bytes((copy / "nextmove.npy").read_bytes()[:1000])
    assert [langid.load_identifier(tmp_path).classify(t) for t in SAMPLES] == reference
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    assert [langid.load_identifier(blocked).classify(t) for t in SAMPLES] == reference


def test_detect_language_reads_the_copy_in_the_cache_folder(tmp_path, monkeypatch):
    from models import text

    monkeypatch.setenv("SENTIMON_CACHE_DIR", str(tmp_path))
    text._identifier.cache_clear()
    try:
        assert text.detect_language("Das Paket kam zwei Wochen zu spät an") == "de"
        assert list(tmp_path.glob("langid-*/ptc.npy"))
    finally:
        text._identifier.cache_clear()


def test_the_command_line_freezes_its_objects_before_python_shuts_down():
    """So the collections run at shutdown skip torch's objects (0.3-0.4 s after the answer)."""
    code = ("import gc, sys, sentimon.cli\nsys.argv = ['sentimon', '--version']\n"
            "try:\n    sentimon.cli.main()\nexcept SystemExit:\n    pass\nprint(gc.get_freeze_count() > 0)")
    assert python(code).splitlines()[-1] == "True"
