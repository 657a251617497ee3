"""Hostile input at scale: 100,000 generated bad records (a few thousand in the quick run)
mixed into a real feed (the shared daily series) and produced through the real broker to one
worker process. Every bad record lands on ``deadletter`` with exactly the reason its case
declares (``internal_error`` fails), found by where it was produced; the good records give
exactly the reference outputs; the worker never restarts (same process, one assignment, no
task restored from its changelog, no traceback in its log).

The bad records are hypothesis cases (:mod:`tests.hostile`: every reason, the deep nestings
and the 400 KB record once each) and, for volume, seeded variants of the same shapes made
straight as bytes (the producer must not dominate the run)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.extra import produce_fast
from tests.faults.harness import FULL, compare, daily_bars, reference, report
from tests.hostile import bad_quotes, sample
from tests.kafka_harness import Namespace, Worker, consume_until

pytestmark = pytest.mark.faults

REASONS = ("invalid_json", "schema", "non_positive", "bad_timestamp", "key_mismatch")
NAMES = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv", "9988.HK.csv", "2097.HK.csv",
         "0179.HK.csv", "3690.HK.csv", "1810.HK.csv", "0981.HK.csv"]  # fmt: skip

Bad = tuple[bytes, bytes, str]  # key, value, the reason it must get


def variant(rng: random.Random, symbol: str) -> Bad:
    """One bad record of a random reason for ``symbol``'s key, the shape of a
    :mod:`tests.hostile` case with seeded numbers and text."""
    s = symbol.encode()
    reason = rng.choice(REASONS)
    n = rng.randrange(1, 10**9)
    if reason == "invalid_json":
        value = rng.choice([
            b"\xff" + rng.randbytes(rng.randrange(40)),
            b'{"symbol": "' + s + b'", "date": "2025-01-02", "close": %d' % n,  # cut short
            b"<quote>%d</quote>" % n,
            b'{"symbol": "' + s + b'", "ts": 1735689600000, "price": NaN}',
        ])  # fmt: skip
    elif reason == "schema":
        value = rng.choice([
            b"[%d, %d]" % (n, -n),
            b'{"symbol": "' + s + b'", "ts": 1735689600000, "price": "%d"}' % n,
            b'{"symbol": "' + s + b'", "volume": %d}' % n,  # neither a bar nor a tick
            b'{"symbol": "' + s + b'", "ts": [%d], "price": 10.0}' % n,
        ])  # fmt: skip
    elif reason == "non_positive":
        value = rng.choice([
            b'{"symbol": "' + s + b'", "ts": 1735689600000, "price": -%d.5}' % n,
            b'{"symbol": "' + s + b'", "date": "2025-01-02", "close": 0}',
            b'{"symbol": "' + s + b'", "date": "2025-01-02", "close": -%d}' % n,
        ])  # fmt: skip
    elif reason == "bad_timestamp":
        ts = rng.choice([-n, 4102444800000 + n])
        value = b'{"symbol": "' + s + b'", "ts": %d, "price": 10.0}' % ts
    else:  # key_mismatch: a valid bar of another symbol under this key
        value = b'{"symbol": "' + s + b'X%d", "date": "2025-01-02", "close": 5.0}' % n
    return s, value, reason


def bad_records(total: int, symbols: list[str], seed: int) -> list[Bad]:
    """``total`` bad records: every hypothesis case once (keyed HSTECH, as they are built),
    then seeded variants over ``symbols``."""
    cases = sample(bad_quotes, per_reason=40)
    assert {c.reason for c in cases} == set(REASONS)
    rng = random.Random(seed)
    out: list[Bad] = [(b"HSTECH", c.value, c.reason) for c in cases]
    out += [variant(rng, rng.choice(symbols)) for _ in range(total - len(out))]
    return out


def mix(
    good: list[tuple[bytes, bytes]], bad: list[Bad], seed: int
) -> list[tuple[bytes, bytes, str | None]]:
    """The good records in their order (reason None) with the bad ones at random places."""
    rng = random.Random(seed)
    where = sorted(rng.randrange(len(good) + 1) for _ in bad)
    out: list[tuple[bytes, bytes, str | None]] = []
    cases = iter(bad)
    at = 0
    for i, (key, value) in enumerate(good):
        while at < len(where) and where[at] == i:
            out.append(next(cases))
            at += 1
        out.append((key, value, None))
    out += list(cases)
    return out


async def test_100k_hostile_records_in_a_real_feed(ns: Namespace, tmp_path: Path) -> None:
    names, synthetic, total = (NAMES, 20, 100_000) if FULL else (NAMES[:2], 0, 3_000)
    good = daily_bars(names, synthetic)
    expected = reference(good)
    symbols = sorted({k.decode() for k, _ in good})
    bad = bad_records(total, symbols, seed=15)
    mixed = mix(good, bad, seed=16)
    topic = ns.topic("quotes.raw")
    worker = await asyncio.to_thread(Worker(ns, tmp_path / "worker").start)
    assert worker.proc is not None
    pid = worker.proc.pid
    try:
        began = time.monotonic()
        located = await produce_fast(ns.bootstrap, topic, [(k, v) for k, v, _ in mixed])
        produced_in = time.monotonic() - began
        dead = await consume_until(
            ns.bootstrap, ns.topic("deadletter"), len(bad) + len(expected["deadletter"]), 900
        )
        signals = await consume_until(
            ns.bootstrap, ns.topic("quotes.signals"), len(expected["quotes.signals"]), 300
        )
        alerts = await consume_until(ns.bootstrap, ns.topic("alerts"), len(expected["alerts"]))
        status, _ = await asyncio.to_thread(worker.get, "/readyz")
        metrics = (await asyncio.to_thread(worker.get, "/metrics"))[1].decode()
        alive = worker.proc.poll() is None
    finally:
        worker.stop()
    print(f"hostile_scale: {len(mixed)} records produced in {produced_in:.1f}s")
    log = worker.log.read_text(errors="replace")
    # the bad records' dead letters, by where each was produced; the good records' own
    # (a real series' days without a session) compared with the reference's
    want = {at: reason for at, (_, _, reason) in zip(located, mixed, strict=True) if reason}
    got_bad: dict[tuple[int, int], list[str]] = {}
    good_dead = []
    for _, v in dead:
        at = (v["source"]["partition"], v["source"]["offset"])
        if at in want:
            got_bad.setdefault(at, []).append(v["reason"])
        else:
            good_dead.append(v)
    wrong = Counter((want[at], tuple(got)) for at, got in got_bad.items() if got != [want[at]])
    lost = len(set(want) - set(got_bad))
    m_s, d_s = compare(expected["quotes.signals"], [v for _, v in signals], "quotes.signals")
    m_a, d_a = compare(expected["alerts"], [v for _, v in alerts], "alerts")
    m_d, d_d = compare(expected["deadletter"], good_dead, "deadletter")
    report(
        "hostile_input_scale", len(mixed), 0, m_s + m_a + m_d + lost,
        d_s + d_a + d_d + sum(len(g) - 1 for g in got_bad.values()), len(dead),
    )  # fmt: skip
    assert alive and worker.proc.pid == pid, f"the worker stopped:\n{worker.tail()}"
    assert status == 200
    assert "restoring it from the changelog" not in log and "Traceback" not in log, log[-3000:]
    assert log.count("tasks assigned") == 1, "the worker's tasks were reassigned"
    assert (m_s, d_s, m_a, d_a, m_d, d_d) == (0, 0, 0, 0, 0, 0)
    assert lost == 0 and not wrong, f"dead letters lost={lost}, wrong reasons: {wrong}"
    assert all(v["source"]["topic"] == topic for _, v in dead)
    assert "internal_error" not in {v["reason"] for _, v in dead}
    counted = {
        s.labels["reason"]: s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "windvane_deadletters_total" and s.labels["topic"] == topic and s.value
    }
    assert counted == Counter([r for _, _, r in bad] + [v["reason"] for v in good_dead])
