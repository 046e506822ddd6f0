"""docs/alerts.md shows the phrases the program produces for its own example, not an ideal."""

from __future__ import annotations

import re
from pathlib import Path

from test_alerts_support import QUIET_TEXTS

from alerts.explain import unusual_phrases

DOC = Path(__file__).resolve().parent.parent / "docs" / "alerts.md"


def test_the_phrase_example_in_the_doc_is_what_the_program_lists():
    window = (["parcel arrived late, tracking never updated"] * 10
              + ["tracking never updated again"] * 5 + ["still no parcel"] * 4)
    produced = [(p["phrase"], p["window"]) for p in unusual_phrases(window, list(QUIET_TEXTS) * 20)]
    text = DOC.read_text(encoding="utf-8")
    example = text.split("<!-- phrases-example", 1)[1].split("-->", 1)[1].split(";", 1)[0]
    documented = [(phrase, int(n)) for phrase, n in re.findall(r'`"([^"]+)" in (\d+)`', example)]
    assert documented == produced
