"""Broker loss: a local 3-node KRaft cluster (replication factor 3, min.insync.replicas 2,
acks=all); while a feed is produced, one node is killed (SIGKILL) and brought back; the
outputs, read with read_committed, equal the offline reference exactly."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.tools.kafka_local import LocalCluster, port_open
from tests.faults.harness import FULL, check_outputs, daily_bars, feed, read_outputs, reference
from tests.kafka_harness import REPO, Namespace, Worker

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    base = int(os.environ.get("WINDVANE_TEST_CLUSTER_PORT", "21092"))
    taken = [p for p in range(base, base + 6) if port_open("127.0.0.1", p)]
    assert not taken, f"ports {taken} are taken: set WINDVANE_TEST_CLUSTER_PORT"
    cluster = LocalCluster(home=REPO / ".windvane" / "test-cluster", base_port=base)
    cluster.destroy()  # a clean log every run
    cluster.up(timeout=180)
    try:
        yield cluster
    finally:
        cluster.destroy()


async def test_a_broker_killed_and_restarted_mid_stream(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    ns = Namespace(bootstrap=cluster.bootstrap, root=tmp_path)
    names = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv"]
    inputs = daily_bars(names, 40 if FULL else 8)
    seconds = 40.0 if FULL else 20.0
    expected = reference(inputs)
    worker = Worker(ns, tmp_path / "w", WINDVANE_REPLICATION_FACTOR="3",
                    WINDVANE_SESSION_TIMEOUT="10")  # fmt: skip
    await asyncio.to_thread(worker.start, 180)
    victim = cluster.nodes[0]
    feeding = asyncio.create_task(feed(ns, inputs, seconds))
    try:
        await asyncio.sleep(seconds / 4)
        assert victim.down(sig=signal.SIGKILL)
        await asyncio.sleep(seconds / 4)
        await asyncio.to_thread(victim.up, 120)
        await feeding
        signals, alerts, dead = await read_outputs(ns, expected)
    finally:
        feeding.cancel()
        worker.stop()
    check_outputs("broker_loss", expected, signals, alerts, dead, len(inputs), 1)
