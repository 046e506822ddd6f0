"""The language detector (py3langid), read from an uncompressed copy in the model cache.

Why: py3langid ships its model xz-compressed (4.6 MB) and decompresses it at each load, 0.4-0.5 s
of every start: a sixth of `sentimon classify "text"`. The first load writes the six arrays it
holds as ``.npy`` files (68 MB) under ``langid-<key>/`` in the cache folder (``models.topics.
cache_dir``); later loads map them (the class table is only touched where a text's features
are, ~0.05 s). The key is py3langid's version and its model file's size and modification time.
Anything unexpected (another py3langid layout, a damaged copy, a folder that cannot be written)
falls back to py3langid's own loader, so the answers are the same either way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import lzma
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from models.topics import cache_dir

log = logging.getLogger(__name__)

ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


def load_identifier(directory: Path | None = None) -> Any:
    """py3langid's ``LanguageIdentifier`` (normalised probabilities); ImportError without it."""
    from py3langid import langid

    folder = directory if directory is not None else cache_dir()
    if folder is not None:
        try:
            model = Path(langid.MODEL_DIR) / langid.MODEL_FILE
            copy = folder / f"langid-{_key(model)}"
            if not copy.is_dir():
                _unpack(model, copy)
                for stale in folder.glob("langid-*"):  # an earlier py3langid's copy
                    if stale != copy:
                        shutil.rmtree(stale, ignore_errors=True)
            return _from_copy(langid, copy)
        except (ImportError, OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
                lzma.LZMAError) as exc:
            log.debug("language model copy not used (%s): py3langid loads its own", exc)
    return langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)


def _key(model: Path) -> str:
    from importlib.metadata import version

    stat = model.stat()
    stamp = json.dumps([version("py3langid"), str(model), stat.st_size, stat.st_mtime_ns])
    return hashlib.blake2b(stamp.encode(), digest_size=12).hexdigest()


def _unpack(model: Path, copy: Path) -> None:
    """Decompress once into a temporary folder beside ``copy``, then rename it into place."""
    copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".langid-", dir=copy.parent))
    try:
        with lzma.open(model) as packed, (work / "model.npz").open("wb") as plain:
            shutil.copyfileobj(packed, plain, length=1 << 20)
        with np.load(work / "model.npz", allow_pickle=False) as arrays:
            for name in ARRAYS:
                np.save(work / f"{name}.npy", arrays[name], allow_pickle=False)
        (work / "model.npz").unlink()
        try:
            os.rename(work, copy)
        except OSError:
            if not copy.is_dir():  # not another process's identical copy that won the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _from_copy(langid: Any, copy: Path) -> Any:
    from py3langid.modelio import _to_array

    arrays = {name: np.load(copy / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS}
    ptc, pc, classes = arrays["ptc"], np.asarray(arrays["pc"]), np.asarray(arrays["classes"]).tolist()
    rows, outputs = arrays["nextmove_row"], arrays["out_feat"]
    if ptc.ndim != 2 or not ptc.shape[1] == len(pc) == len(classes) or len(rows) != len(outputs) or \
            len(arrays["nextmove"]) < 256 * (int(rows.max(initial=0)) + 1):
        raise ValueError(f"{copy} does not hold a consistent model")
    return langid.LanguageIdentifier(ptc, pc, classes, _to_array(arrays["nextmove"]), np.asarray(outputs).tolist(),
                                     norm_probs=True, tk_row=_to_array(rows))
