"""The quote path through a real Kafka broker and real worker processes."""

from __future__ import annotations

import shutil
import subprocess

import orjson
import pytest

from streams.signal_shapes import expand
from streams.tools.cli import offline_quote_lines
from streams.tools.sources import quote_records
from tests.kafka_harness import (
    Namespace,
    Worker,
    consume_until,
    partitions_of,
    produce,
    read_all,
    strip_volatile,
)
from tests.peers import require
from tests.reference import closes, shared_path

pytestmark = pytest.mark.integration

TOPICS = ["quotes.raw", "quotes.signals", "alerts", "deadletter"]


def bars(symbol: str, name: str) -> list[tuple[bytes, bytes]]:
    frame = closes(shared_path("quotes", name))
    return [
        (symbol.encode(), orjson.dumps({"symbol": symbol, "date": r.date, "close": r.close}))
        for r in frame.itertuples()
    ]


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once", "exactly_once_v2"])
async def test_topics_records_and_dead_letters_round_trip(ns: Namespace, guarantee: str) -> None:
    worker = Worker(ns, ns.root / "w1", PROCESSING_GUARANTEE=guarantee).start()
    try:
        parts = await partitions_of(ns.bootstrap, [ns.topic(t) for t in TOPICS])
        assert parts == {ns.topic(t): 8 for t in TOPICS}
        good = bars("HSTECH", "HSTECH.csv")[-300:] + bars("0700.HK", "0700.HK.csv")[-300:]
        bad = [(b"HSTECH", b"{nope"), (b"X", b'{"symbol":"X","ts":1735689600000,"price":-1}')]
        again = [good[299], good[-1]]  # each symbol's latest bar, re-sent: exact duplicates
        await produce(ns.bootstrap, ns.topic("quotes.raw"), bad + good + again)
        signals = await consume_until(ns.bootstrap, ns.topic("quotes.signals"), len(good))
        dead = await consume_until(ns.bootstrap, ns.topic("deadletter"), 2)
        status, metrics = worker.get("/metrics")
    finally:
        worker.stop()
    assert len(signals) == len(good)  # the re-sent bars are exact duplicates: ignored
    assert sorted(v["reason"] for _, v in dead) == ["invalid_json", "non_positive"]
    assert {k for k, _ in dead} == {b"HSTECH", b"X"}
    assert all(v["source"]["topic"] == ns.topic("quotes.raw") for _, v in dead)
    assert status == 200
    text = metrics.decode()
    promtool = require("promtool", "prometheus")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=metrics, capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    assert "windvane_consumer_lag_records{" in text
    assert "windvane_processing_lag_seconds_bucket" in text
    quotes_raw = ns.topic("quotes.raw")
    assert f'windvane_deadletters_total{{reason="invalid_json",topic="{quotes_raw}"}} 1.0' in text
    assert f'windvane_deadletters_total{{reason="non_positive",topic="{quotes_raw}"}} 1.0' in text
    assert f'windvane_duplicates_total{{topic="{ns.topic("quotes.raw")}"}} 2.0' in text


async def test_state_survives_a_restart_through_the_changelog(ns: Namespace, tmp_path) -> None:
    """Worker 1 takes the first half, stops, and its local store is deleted; worker 2
    rebuilds the SMA state from the changelog and the alerts equal an uninterrupted run."""
    records = bars("HSTECH", "HSTECH.csv")
    half = len(records) // 2
    first = Worker(ns, tmp_path / "w1").start()
    try:
        await produce(ns.bootstrap, ns.topic("quotes.raw"), records[:half])
        await consume_until(ns.bootstrap, ns.topic("quotes.signals"), half)
    finally:
        first.stop()
    shutil.rmtree(tmp_path / "w1")
    second = Worker(ns, tmp_path / "w2").start()
    try:
        await produce(ns.bootstrap, ns.topic("quotes.raw"), records[half:])
        signals = await consume_until(ns.bootstrap, ns.topic("quotes.signals"), len(records))
        expected = [
            line["value"]
            for line in offline_quote_lines(shared_path("quotes", "HSTECH.csv"), "HSTECH", None)
            if line["topic"] == "alerts"
        ]
        alerts = await consume_until(ns.bootstrap, ns.topic("alerts"), len(expected))
    finally:
        second.stop()
    assert len(signals) == len(records)
    assert [s["days"] for _, s in signals] == list(range(1, len(records) + 1))
    assert [strip_volatile(a) for _, a in alerts] == [strip_volatile(a) for a in expected]


async def test_compact_signals_expand_to_the_full_ones(ns: Namespace, tmp_path) -> None:
    """A worker with ``WINDVANE_SIGNAL_SHAPE=compact`` (the default guarantee): each signal
    on the topic has the compact type and schema in its headers, and expands to the bytes
    ``windvane offline`` writes in the full shape for the same quote; alerts are the same."""
    files = {"HSTECH": "HSTECH.csv", "9988.HK": "9988.HK.csv"}  # closes; real OHLC bars
    inputs = [
        r for sym, name in files.items() for r in quote_records(shared_path("quotes", name), sym)
    ]
    expected: dict[str, list[bytes]] = {}
    alerts_expected = []
    for sym, name in files.items():
        for line in offline_quote_lines(shared_path("quotes", name), sym, None):
            if line["topic"] == "quotes.signals":
                expected.setdefault(sym, []).append(orjson.dumps(line["value"]))
            elif line["topic"] == "alerts":
                alerts_expected.append(strip_volatile(line["value"]))
    count = sum(len(v) for v in expected.values())
    worker = Worker(ns, tmp_path / "w1", WINDVANE_SIGNAL_SHAPE="compact").start()
    try:
        await produce(ns.bootstrap, ns.topic("quotes.raw"), inputs)
        await consume_until(ns.bootstrap, ns.topic("quotes.signals"), count)
        records = await read_all(ns.bootstrap, ns.topic("quotes.signals"))
        alerts = await consume_until(ns.bootstrap, ns.topic("alerts"), len(alerts_expected))
    finally:
        worker.stop()
    got: dict[str, list[bytes]] = {}
    for record in records:
        headers = dict(record.headers)
        assert headers["ce_type"] == b"dev.windvane.signal.compact.v1"
        assert headers["ce_dataschema"] == b"https://windvane.dev/schemas/signal-compact/v1"
        value = orjson.loads(record.value)
        assert "distance_pct" not in value
        got.setdefault(record.key.decode(), []).append(orjson.dumps(expand(value)))
    assert got == expected
    key = lambda a: (a["symbol"], a["trading_day"], a["rule_name"], a["direction"])  # noqa: E731
    assert sorted((strip_volatile(a) for _, a in alerts), key=key) == sorted(
        alerts_expected, key=key
    )
