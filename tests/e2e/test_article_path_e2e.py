"""End to end, article path: a worker process, HSTECH replayed, the seed article published
twice with ``windvane publish``, and kcat reading ``articles.enriched`` and
``articles.claims``: the 60-day-line claim of 2025-10-17 is confirmed against the worker's
own quote state, and the republication is marked as a duplicate."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.test_quote_path_e2e import kcat_read
from tests.kafka_harness import Namespace, Worker
from tests.reference import closes, shared_path

pytestmark = pytest.mark.e2e


def wait_for(ns: Namespace, topic: str, count: int, timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    records: list[dict] = []
    while time.monotonic() < deadline:
        records = kcat_read(ns, topic)
        if len(records) >= count:
            return records
        time.sleep(1)
    return records


def test_seed_article_claim_confirmed_through_the_real_broker(ns: Namespace) -> None:
    csv = shared_path("quotes", "HSTECH.csv")
    article = shared_path("articles", "double11-hk.txt")
    worker = Worker(ns, ns.root / "worker").start()
    try:
        ns.windvane("replay", "quotes", str(csv), "--symbol", "HSTECH")
        assert len(wait_for(ns, "quotes.signals", len(closes(csv)))) >= len(closes(csv))
        for article_id in ("seed-1", "seed-2"):
            ns.windvane(
                "publish",
                "article",
                str(article),
                "--published-at",
                "2025-11-11",
                "--id",
                article_id,
            )
        enriched = [json.loads(e["payload"]) for e in wait_for(ns, "articles.enriched", 2)]
        claims = [json.loads(e["payload"]) for e in wait_for(ns, "articles.claims", 6)]
    finally:
        worker.stop()
    first, second = sorted(enriched, key=lambda r: r["id"])
    assert first["id"] == "seed-1" and len(first["metrics"]) >= 30 and first["duplicate_of"] is None
    assert second["duplicate_of"] == "seed-1" and second["metrics"] == []
    assert {e["symbol"] for e in first["entities"] if e["kind"] == "stock"} >= {
        "0700.HK",
        "2097.HK",
        "9988.HK",
    }
    assert len(claims) == 6  # each claim of the first article once; the duplicate has none
    cross = [c for c in claims if c["claim"]["type"] == "ma_cross"]
    assert len(cross) == 1
    assert cross[0]["claim"]["symbol"] == "HSTECH" and cross[0]["verdict"] == "confirmed"
    assert cross[0]["compared"]["close"] == pytest.approx(5760.38, abs=0.005)
    assert cross[0]["compared"]["sma60"] == pytest.approx(5877.94, abs=0.005)


def test_the_real_news_feed_through_a_worker(ns: Namespace) -> None:
    """The 99 real EventRegistry records, bytes as they come, through ``windvane publish``
    into a worker: every one enriched, none dead-lettered; both languages give metrics."""
    feed = shared_path("articles", "news-hk-2025-07-24_08-23.jsonl")
    worker = Worker(ns, ns.root / "worker").start()
    try:
        ns.windvane("publish", "article", str(feed))
        enriched = [json.loads(e["payload"]) for e in wait_for(ns, "articles.enriched", 99)]
        time.sleep(2)  # anything dead-lettered would be there by now
        dead = kcat_read(ns, "deadletter")
    finally:
        worker.stop()
    assert dead == []
    assert len(enriched) == 99 and len({r["id"] for r in enriched}) == 99
    langs = {lang: [r for r in enriched if r["lang"] == lang] for lang in ("en", "zh")}
    assert len(langs["en"]) == 41 and len(langs["zh"]) == 47
    for lang, records in langs.items():
        assert sum(len(r["metrics"]) for r in records) >= len(records), lang


def cross_claims(ns: Namespace, verdicts: set[str], timeout: float = 120) -> list[dict]:
    """The ``ma_cross`` records on ``articles.claims`` with one of ``verdicts``, once any."""
    deadline = time.monotonic() + timeout
    while True:
        claims = [json.loads(e["payload"]) for e in kcat_read(ns, "articles.claims")]
        found = [c for c in claims if c["claim"]["type"] == "ma_cross" and c["verdict"] in verdicts]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


def test_a_claim_that_arrives_before_its_data_is_pending_then_decided(ns: Namespace) -> None:
    """Article first, quotes after: the 60-day-line claim of 2025-10-17 is published
    ``pending``, kept by the quote task, and decided (same claim id, a later record) when
    HSTECH's bar of that day arrives."""
    csv = shared_path("quotes", "HSTECH.csv")
    article = shared_path("articles", "double11-hk.txt")
    worker = Worker(ns, ns.root / "worker").start()
    try:
        ns.windvane("publish", "article", str(article), "--published-at", "2025-11-11")
        pending = cross_claims(ns, {"pending", "unknown", "confirmed", "contradicted"})
        ns.windvane("replay", "quotes", str(csv), "--symbol", "HSTECH")
        decided = cross_claims(ns, {"confirmed", "contradicted", "unknown"})
    finally:
        worker.stop()
    assert len(pending) == 1 and pending[0]["verdict"] == "pending", pending
    (final,) = decided
    assert final["claim"]["claim_id"] == pending[0]["claim"]["claim_id"]
    assert final["verdict"] == "confirmed"
    assert final["compared"]["close"] == pytest.approx(5760.38, abs=0.005)
