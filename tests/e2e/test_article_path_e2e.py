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
