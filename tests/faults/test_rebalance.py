"""Rebalance: a second worker joins the consumer group mid-stream and leaves again (a clean
stop); table state moves with its partitions and the outputs equal the reference."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.faults.harness import FULL, check_outputs, daily_bars, reference
from tests.kafka_harness import Namespace, Worker, consume_until, produce

pytestmark = pytest.mark.faults


async def test_worker_joins_and_leaves_mid_stream(ns: Namespace, tmp_path: Path) -> None:
    names = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv"]
    inputs = daily_bars(names, 40 if FULL else 8)
    expected = reference(inputs)
    await produce(ns.bootstrap, ns.topic("quotes.raw"), inputs)
    first = Worker(ns, tmp_path / "a", WINDVANE_SESSION_TIMEOUT="6").start()
    second = Worker(ns, tmp_path / "b", WINDVANE_SESSION_TIMEOUT="6")
    try:
        await asyncio.sleep(2)
        second.start()
        await asyncio.sleep(4)
        second.stop()
        signals = await consume_until(
            ns.bootstrap, ns.topic("quotes.signals"), len(expected["quotes.signals"]), timeout=600
        )
        alerts = await consume_until(
            ns.bootstrap, ns.topic("alerts"), len(expected["alerts"]), timeout=60
        )
    finally:
        second.stop()
        first.stop()
    check_outputs("rebalance", expected, signals, alerts, len(inputs), 0)
