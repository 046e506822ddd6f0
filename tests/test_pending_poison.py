"""A pushed text the model cannot read must not hold up the pending queue behind it (issue 19).

Before, a batch whose classification raised was retried whole every 30 s, so one such text
left every mention pushed after it pending for good.
"""

from __future__ import annotations

import logging

from polling import wait_until
from pushserver import push, rows, settle, start  # noqa: F401
from stubs import KeywordClassifier


class Poisoned(KeywordClassifier):
    """Raises on any batch holding a text with "POISON" in it, as a model bug on one odd
    input would; counts the texts it was asked to read."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def classify(self, texts):
        self.read.extend(texts)
        if any("POISON" in t for t in texts):
            raise ValueError("index out of range in self")
        return super().classify(texts)


class Broken(KeywordClassifier):
    """A model that reads nothing at all (not one text's fault)."""

    def classify(self, texts):
        raise RuntimeError("weights missing")


def test_one_unreadable_text_stays_pending_and_the_rest_are_classified(start, caplog):
    url, app = start()
    model = app._classifier = Poisoned()
    caplog.set_level(logging.ERROR, logger="sentimon.pending")
    reply = push(url, [{"id": "ok-1", "text": "Parcel late"}, {"id": "bad", "text": "POISON x"},
                       {"id": "ok-2", "text": "Lovely shoes"}])
    assert reply.status_code == 202
    settle(start)
    assert rows(app, "SELECT external_id, sentiment FROM mentions ORDER BY id") == [
        ("ok-1", "negative"), ("bad", None), ("ok-2", "positive")]
    [bad_id] = [i for (i,) in rows(app, "SELECT id FROM mentions WHERE external_id = 'bad'")]
    worker = start.servers[0].worker
    assert list(worker.unreadable) == [bad_id]
    logged = caplog.text
    assert f"mention {bad_id}" in logged and "ValueError" in logged
    assert "POISON" not in logged  # the text is the internet's, not the log's

    # Later pushes are classified, and the unreadable text is not tried again on each sweep.
    model.read.clear()
    assert push(url, {"id": "ok-3", "text": "late again"}).status_code == 202
    settle(start)
    assert rows(app, "SELECT sentiment FROM mentions WHERE external_id = 'ok-3'") == [("negative",)]
    assert not any("POISON" in t for t in model.read)
    assert caplog.text.count(f"mention {bad_id}") == 1  # said once, not every 30 s


def test_a_model_that_reads_nothing_is_retried_not_blamed_on_the_texts(start, caplog):
    url, app = start()
    app._classifier = Broken()
    worker = start.servers[0].worker
    worker.retry_after = 0.1
    caplog.set_level(logging.ERROR, logger="sentimon.pending")
    assert push(url, [{"id": "a", "text": "late"}, {"id": "b", "text": "fine"}]).status_code == 202
    wait_until(lambda: "retrying" in caplog.text, timeout=30)
    assert worker.unreadable == {}  # nothing set aside: once the model works, all are read
    app._classifier = KeywordClassifier()
    wait_until(lambda: rows(app, "SELECT COUNT(*) FROM mentions WHERE sentiment IS NULL") == [(0,)],
               timeout=30)
    assert rows(app, "SELECT external_id, sentiment FROM mentions ORDER BY id") == [
        ("a", "negative"), ("b", "positive")]
