"""Hostile input through the real broker: a worker process takes hypothesis-generated bad
records mixed into a real series; it never stops, every bad record lands on ``deadletter``
with a reason, and the good records give exactly the reference outputs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.faults.harness import compare, reference, report
from tests.hostile import bad_quote_values
from tests.kafka_harness import Namespace, Worker, consume_until, produce
from tests.reference import closes, shared_path

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@settings(max_examples=1, phases=[Phase.generate], deadline=None, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(
    bad=st.lists(bad_quote_values, min_size=40, max_size=40),
    where=st.randoms(use_true_random=False),
)
def test_worker_survives_hostile_input(
    ns: Namespace, tmp_path: Path, bad: list[bytes], where
) -> None:
    good = [
        (b"HSTECH", orjson.dumps({"symbol": "HSTECH", "date": r.date, "close": r.close}))
        for r in closes(shared_path("quotes", "HSTECH.csv")).itertuples()
    ]
    mixed: list[tuple[bytes | None, bytes]] = list(good)
    for value in bad:
        mixed.insert(where.randrange(len(mixed) + 1), (b"HSTECH", value))
    expected = reference(good)
    worker = Worker(ns, tmp_path / "worker").start()
    try:
        asyncio.run(produce(ns.bootstrap, ns.topic("quotes.raw"), mixed))
        signals = asyncio.run(
            consume_until(ns.bootstrap, ns.topic("quotes.signals"), len(expected["quotes.signals"]))
        )
        alerts = asyncio.run(
            consume_until(ns.bootstrap, ns.topic("alerts"), len(expected["alerts"]))
        )
        dead = asyncio.run(consume_until(ns.bootstrap, ns.topic("deadletter"), len(bad)))
        assert worker.proc is not None and worker.proc.poll() is None, "the worker stopped"
        status, _ = worker.get("/healthz")
    finally:
        worker.stop()
    assert status == 200
    m_s, d_s = compare(expected["quotes.signals"], [v for _, v in signals], "quotes.signals")
    m_a, d_a = compare(expected["alerts"], [v for _, v in alerts], "alerts")
    report("hostile_input", len(mixed), 0, m_s + m_a, d_s + d_a, len(dead))
    assert (m_s, d_s, m_a, d_a) == (0, 0, 0, 0)
    assert len(dead) == len(bad) and all(v["reason"] for _, v in dead)
