"""Fault scenarios: inputs, the offline reference, and the comparison that counts what is
missing and what is duplicated on the output topics (read with read_committed)."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from typing import Any

import orjson

from streams.config import QUOTES_RAW
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.domain.rules import RuleBook
from streams.pipeline import QuotePipeline, SourceRecord
from tests.faults.clock import STARTED
from tests.kafka_harness import REPO, Namespace, consume_until, produce
from tests.reference import QUOTES, closes

FULL = os.environ.get("FAULTS_FULL") == "1"
REPORT = REPO / "test-output" / "faults.txt"


def daily_bars(names: list[str], synthetic: int = 0, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """Daily bars of real series, plus ``synthetic`` symbols made from them by scaling,
    interleaved by date as a feed would deliver them."""
    rng = random.Random(seed)
    series: list[tuple[str, list[tuple[str, float]]]] = []
    for name in names:
        frame = closes(QUOTES / name)
        series.append(
            (name.removesuffix(".csv"), list(zip(frame["date"], frame["close"], strict=True)))
        )
    for i in range(synthetic):
        base_name, base = series[i % len(names)]
        factor = round(rng.uniform(0.2, 5.0), 3)
        series.append((f"SYN{i:03d}.{base_name}", [(d, round(c * factor, 4)) for d, c in base]))
    rows = [(day, symbol, close) for symbol, points in series for day, close in points]
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(s.encode(), orjson.dumps({"symbol": s, "date": d, "close": c})) for d, s, c in rows]


def reference(inputs: list[tuple[bytes | None, bytes]]) -> dict[str, list[dict[str, Any]]]:
    """What the processor must publish, computed offline by the same domain code."""
    pipeline = QuotePipeline(QuoteEngine(RuleBook.default(), Registry.load(None)), clock=lambda: 0)
    store: dict[bytes, SymbolState] = {}
    out: dict[str, list[dict[str, Any]]] = {"quotes.signals": [], "alerts": [], "deadletter": []}
    for i, (key, value) in enumerate(inputs):
        for rec in pipeline.process(key, value, SourceRecord(QUOTES_RAW, None, i), store).records:
            out[rec.topic].append(orjson.loads(rec.value))
    return out


def canonical(value: dict[str, Any], topic: str) -> bytes:
    volatile = {"alerts": ("emitted_at",), "deadletter": ("failed_at", "source")}.get(topic, ())
    return orjson.dumps(
        {k: v for k, v in value.items() if k not in volatile}, option=orjson.OPT_SORT_KEYS
    )


def compare(
    expected: list[dict[str, Any]], got: list[dict[str, Any]], topic: str
) -> tuple[int, int]:
    """(missing, duplicated): expected records absent, and records beyond the expected count."""
    want = Counter(canonical(v, topic) for v in expected)
    have = Counter(canonical(v, topic) for v in got)
    missing = sum((want - have).values())
    duplicated = sum((have - want).values())
    return missing, duplicated


def report(
    scenario: str,
    inputs: int,
    kills: int,
    missing: int,
    duplicated: int,
    deadlettered: int,
    workers: int = 1,
    **extra: object,
) -> str:
    """Print and append the scenario's line; ``extra`` adds ``key=value`` fields before the
    wall time (the test's, from its start to this line)."""
    fields = "".join(f" {k}={v}" for k, v in extra.items())
    wall = time.monotonic() - STARTED[0]
    line = (
        f"faults: {scenario} inputs={inputs} kills={kills} missing={missing} "
        f"duplicated={duplicated} deadlettered={deadlettered} workers={workers}{fields} "
        f"wall={wall:.1f}s"
    )
    print(line)
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a") as fh:
        fh.write(line + "\n")
    return line


def check_outputs(
    scenario: str,
    expected: dict[str, list[dict[str, Any]]],
    signals: list[tuple[bytes | None, Any]],
    alerts: list[tuple[bytes | None, Any]],
    dead: list[tuple[bytes | None, Any]],
    inputs: int,
    kills: int,
    workers: int = 1,
    **extra: object,
) -> None:
    """Report the scenario's summary line, then assert nothing missing or duplicated on the
    outputs and the dead letters the reference expects (the real series' rows for days their
    exchange had no session, e.g. six of 0700.HK: `closed_session`)."""
    m_a, d_a = compare(expected["alerts"], [v for _, v in alerts], "alerts")
    m_s, d_s = compare(expected["quotes.signals"], [v for _, v in signals], "quotes.signals")
    m_d, d_d = compare(expected["deadletter"], [v for _, v in dead], "deadletter")
    report(scenario, inputs, kills, m_a + m_s, d_a + d_s, len(dead), workers, **extra)
    assert (m_a, d_a) == (0, 0), f"alerts: missing={m_a} duplicated={d_a}"
    assert (m_s, d_s) == (0, 0), f"signals: missing={m_s} duplicated={d_s}"
    assert (m_d, d_d) == (0, 0), f"dead letters: missing={m_d} unexpected={d_d}"


Outputs = tuple[list[tuple[bytes | None, Any]], ...]


async def read_outputs(ns: Namespace, expected: dict[str, list[dict[str, Any]]]) -> Outputs:
    """``quotes.signals``, ``alerts`` and ``deadletter`` as an outside read_committed client
    sees them once the expected counts arrived (and a little longer, to catch duplicates)."""
    signals = await consume_until(
        ns.bootstrap, ns.topic("quotes.signals"), len(expected["quotes.signals"]), timeout=600
    )
    alerts = await consume_until(ns.bootstrap, ns.topic("alerts"), len(expected["alerts"]), 60)
    dead = await consume_until(
        ns.bootstrap, ns.topic("deadletter"), len(expected["deadletter"]), 60
    )
    return signals, alerts, dead


async def feed(ns: Namespace, inputs: list[tuple[bytes | None, bytes]], seconds: float) -> None:
    """Produce ``inputs`` in order, spread over ``seconds``, as a live feed would."""
    chunks = 40
    size = -(-len(inputs) // chunks)
    for start in range(0, len(inputs), size):
        await produce(ns.bootstrap, ns.topic("quotes.raw"), inputs[start : start + size])
        await asyncio.sleep(seconds / chunks)
