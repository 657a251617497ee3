"""Hostile input through the real broker: a worker process takes hypothesis-generated bad
records mixed into a real series; it never stops, every bad record lands on ``deadletter``
with exactly the reason its case declares (``internal_error`` fails) and is counted under
that reason and its source topic, and the good records give exactly the reference outputs."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.harness import compare, reference, report
from tests.hostile import bad_quotes, sample
from tests.kafka_harness import Namespace, Worker, consume_until, produce
from tests.reference import closes, shared_path

pytestmark = [pytest.mark.integration, pytest.mark.faults]
REASONS = {"invalid_json", "schema", "non_positive", "bad_timestamp", "key_mismatch"}


def test_worker_survives_hostile_input(ns: Namespace, tmp_path: Path) -> None:
    bad = sample(bad_quotes, per_reason=8)  # 40 generated cases, 8 of each reason
    assert {case.reason for case in bad} == REASONS and len(bad) == 40
    where = random.Random(7)
    good = [
        (b"HSTECH", orjson.dumps({"symbol": "HSTECH", "date": r.date, "close": r.close}))
        for r in closes(shared_path("quotes", "HSTECH.csv")).itertuples()
    ]
    mixed: list[tuple[bytes | None, bytes, str | None]] = [(k, v, None) for k, v in good]
    for case in bad:
        mixed.insert(where.randrange(len(mixed) + 1), (b"HSTECH", case.value, case.reason))
    expected = reference(good)
    topic = ns.topic("quotes.raw")
    worker = Worker(ns, tmp_path / "worker").start()
    try:
        located = asyncio.run(produce(ns.bootstrap, topic, [(k, v) for k, v, _ in mixed]))
        signals = asyncio.run(
            consume_until(ns.bootstrap, ns.topic("quotes.signals"), len(expected["quotes.signals"]))
        )
        alerts = asyncio.run(
            consume_until(ns.bootstrap, ns.topic("alerts"), len(expected["alerts"]))
        )
        dead = asyncio.run(consume_until(ns.bootstrap, ns.topic("deadletter"), len(bad)))
        assert worker.proc is not None and worker.proc.poll() is None, "the worker stopped"
        status, _ = worker.get("/healthz")
        metrics = worker.get("/metrics")[1].decode()
    finally:
        worker.stop()
    assert status == 200
    m_s, d_s = compare(expected["quotes.signals"], [v for _, v in signals], "quotes.signals")
    m_a, d_a = compare(expected["alerts"], [v for _, v in alerts], "alerts")
    report("hostile_input", len(mixed), 0, m_s + m_a, d_s + d_a, len(dead))
    assert (m_s, d_s, m_a, d_a) == (0, 0, 0, 0)
    # every bad record's dead letter, found by where it was produced, has exactly its reason
    want = {at: reason for at, (_, _, reason) in zip(located, mixed, strict=True) if reason}
    got = {(v["source"]["partition"], v["source"]["offset"]): v["reason"] for _, v in dead}
    assert len(dead) == len(bad) and got == want
    assert all(v["source"]["topic"] == topic for _, v in dead)
    counted = {
        s.labels["reason"]: s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "windvane_deadletters_total" and s.labels["topic"] == topic and s.value
    }
    assert counted == Counter(case.reason for case in bad)
