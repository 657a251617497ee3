"""Crash and restart: while a feed is being produced, the worker is killed with SIGKILL at
random moments and restarted each time; the ``alerts`` and ``quotes.signals`` topics, read
with read_committed by an outside client, must equal the offline reference exactly: nothing
missing, nothing duplicated (exactly-once: per-partition Kafka transactions)."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest

from tests.faults.harness import FULL, check_outputs, daily_bars, feed, read_outputs, reference
from tests.kafka_harness import Namespace, Worker

pytestmark = pytest.mark.faults

NAMES = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv", "9988.HK.csv", "2097.HK.csv",
         "0179.HK.csv", "3690.HK.csv", "1810.HK.csv", "0981.HK.csv"]  # fmt: skip


async def test_sigkill_and_restart_loses_and_duplicates_nothing(
    ns: Namespace, tmp_path: Path
) -> None:
    names, synthetic, kills, seconds = (NAMES, 190, 6, 90.0) if FULL else (NAMES[:4], 8, 5, 20.0)
    inputs = daily_bars(names, synthetic)
    expected = reference(inputs)
    rng = random.Random(20251017)
    data = tmp_path / "worker-data"

    def start() -> Worker:
        return Worker(ns, data, WINDVANE_SESSION_TIMEOUT="6").start()

    worker = await asyncio.to_thread(start)
    feeding = asyncio.create_task(feed(ns, inputs, seconds))
    done = 0
    try:
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(0.5, 2.0 * seconds / kills))
            worker.stop(signal.SIGKILL)
            done += 1
            worker = await asyncio.to_thread(start)
        await feeding
        signals, alerts, dead = await read_outputs(ns, expected)
    finally:
        feeding.cancel()
        worker.stop()
    assert done == kills
    check_outputs("crash_restart", expected, signals, alerts, dead, len(inputs), done)
