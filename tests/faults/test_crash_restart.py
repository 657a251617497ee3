"""Crash and restart: the worker is killed with SIGKILL at random moments and restarted on
its own local state each time; the ``alerts`` and ``quotes.signals`` topics, read with
read_committed by an outside client, must equal the offline reference exactly: nothing
missing, nothing duplicated (exactly-once, Kafka transactions through Faust)."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest

from tests.faults.harness import FULL, check_outputs, daily_bars, reference
from tests.kafka_harness import Namespace, Worker, consume_until, produce

pytestmark = pytest.mark.faults

NAMES = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv", "9988.HK.csv", "2097.HK.csv",
         "0179.HK.csv", "3690.HK.csv", "1810.HK.csv", "0981.HK.csv"]  # fmt: skip


async def test_sigkill_and_restart_loses_and_duplicates_nothing(
    ns: Namespace, tmp_path: Path
) -> None:
    names, synthetic, kills = (NAMES, 90, 6) if FULL else (NAMES[:3], 0, 3)
    inputs = daily_bars(names, synthetic)
    expected = reference(inputs)
    await produce(ns.bootstrap, ns.topic("quotes.raw"), inputs)
    rng = random.Random(20251017)
    data = tmp_path / "worker-data"
    worker = Worker(ns, data, WINDVANE_SESSION_TIMEOUT="6").start()
    done = 0
    try:
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            worker.stop(signal.SIGKILL)
            done += 1
            worker = Worker(ns, data, WINDVANE_SESSION_TIMEOUT="6").start()
        signals = await consume_until(
            ns.bootstrap, ns.topic("quotes.signals"), len(expected["quotes.signals"]), timeout=600
        )
        alerts = await consume_until(
            ns.bootstrap, ns.topic("alerts"), len(expected["alerts"]), timeout=60
        )
    finally:
        worker.stop()
    assert done == kills
    check_outputs("crash_restart", expected, signals, alerts, len(inputs), done)
