"""Rebalance: while a feed is being produced, a second worker joins the consumer group and
leaves again (a clean stop); each task's state moves with its partition through the
changelog and the outputs equal the reference exactly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.faults.harness import FULL, check_outputs, daily_bars, feed, read_outputs, reference
from tests.kafka_harness import Namespace, Worker

pytestmark = pytest.mark.faults


async def test_worker_joins_and_leaves_mid_stream(ns: Namespace, tmp_path: Path) -> None:
    names = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv"]
    inputs = daily_bars(names, 40 if FULL else 8)
    seconds = 40.0 if FULL else 16.0
    expected = reference(inputs)
    first = await asyncio.to_thread(Worker(ns, tmp_path / "a", WINDVANE_SESSION_TIMEOUT="6").start)
    second = Worker(ns, tmp_path / "b", WINDVANE_SESSION_TIMEOUT="6")
    feeding = asyncio.create_task(feed(ns, inputs, seconds))
    try:
        await asyncio.sleep(seconds / 4)
        await asyncio.to_thread(second.start)
        await asyncio.sleep(seconds / 4)
        second.stop()
        await feeding
        signals, alerts, dead = await read_outputs(ns, expected)
        joined = "tasks assigned" in second.log.read_text()
    finally:
        feeding.cancel()
        second.stop()
        first.stop()
    assert joined, "the second worker never got tasks: no rebalance was tested"
    check_outputs("rebalance", expected, signals, alerts, dead, len(inputs), 0)
