"""``python tests/stub_cli.py --config X run``: the real sentimon CLI and daemon in their own
process, with the keyword classifier instead of the model, so daemon tests about storage and
HTTP start in a second instead of loading a transformer on a busy machine."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stubs import KeywordClassifier  # noqa: E402

from sentimon.app import App  # noqa: E402
from sentimon.cli import main  # noqa: E402

App.classifier = lambda self: KeywordClassifier()  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
