"""Broker loss: a local 3-node KRaft cluster (every node broker and controller, replication
factor 3, min.insync.replicas 2, acks=all). While a feed is produced, a node chosen at
random (seeded, printed) is killed (SIGKILL) and brought back, twice (once in the quick
version); the last kill takes the active KRaft controller if no earlier one did (the
leader named with the highest epoch in the nodes' ``quorum-state`` files). A second
scenario stalls a node with SIGSTOP for longer than the session timeouts (the worker's and
the broker's), as a network partition would, then resumes it. In both the outputs, read
with read_committed, equal the offline reference."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.tools.kafka_local import LocalBroker, LocalCluster, port_open
from tests.faults.clock import say
from tests.faults.harness import FULL, check_outputs, daily_bars, feed, read_outputs, reference
from tests.kafka_harness import REPO, Namespace, Worker

pytestmark = pytest.mark.faults

NAMES = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv"]
SEED = 20251127


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


def active_controller(cluster: LocalCluster) -> int:
    """The KRaft leader's node id: each voter persists the leader it knows of with its epoch
    (``__cluster_metadata-0/quorum-state``); the highest epoch is the current one. (The
    leader's own log agrees: :func:`said_active`.)"""
    known: list[tuple[int, int]] = []
    for node in cluster.nodes:
        path = node.data / "__cluster_metadata-0" / "quorum-state"
        try:
            state = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        if state.get("leaderId", -1) >= 0:
            known.append((state["leaderEpoch"], state["leaderId"]))
    assert known, "no node knows a KRaft leader"
    return max(known)[1]


def said_active(node: LocalBroker) -> bool:
    """The node's log says it became the active controller at the epoch of the quorum-state
    it last wrote."""
    state = orjson.loads((node.data / "__cluster_metadata-0" / "quorum-state").read_bytes())
    line = f"Becoming the active controller at epoch {state['leaderEpoch']},"
    log = (node.logs / "server.log").read_text(errors="replace")
    return state["leaderId"] == node.node_id and line in log


async def wait_controller(cluster: LocalCluster, timeout: float = 60) -> int:
    """The active controller once one of the running nodes is it (after an election)."""
    deadline = time.monotonic() + timeout
    while True:
        leader = active_controller(cluster)
        if cluster.nodes[leader - 1].pid() is not None or time.monotonic() > deadline:
            return leader
        await asyncio.sleep(0.5)


async def wait_in_sync(bootstrap: str, timeout: float = 180) -> None:
    """Until every partition of every topic has all its replicas in sync again (a node just
    back has caught up), so the next fault starts from a whole cluster."""
    deadline = time.monotonic() + timeout
    lagging: list[str] = []
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            topics = await admin.list_topics()
            described = await admin.describe_topics(topics)
            lagging = [
                f"{t['topic']}-{p['partition']}"
                for t in described
                for p in t["partitions"]
                if len(p["isr"]) < len(p["replicas"])
            ]
            if not lagging:
                return
        except Exception as exc:  # a node still coming back
            lagging = [repr(exc)]
        finally:
            await admin.close()
        await asyncio.sleep(1)
    raise AssertionError(f"replicas still out of sync after {timeout}s: {lagging[:10]}")


def start_worker(ns: Namespace, path: Path) -> Worker:
    return Worker(ns, path, WINDVANE_REPLICATION_FACTOR="3", WINDVANE_SESSION_TIMEOUT="10")


async def test_random_nodes_killed_twice_the_controller_included(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    ns = Namespace(bootstrap=cluster.bootstrap, root=tmp_path)
    inputs = daily_bars(NAMES if FULL else NAMES[::3], 40 if FULL else 4)
    seconds, kills = (80.0, 2) if FULL else (15.0, 1)
    expected = reference(inputs)
    rng = random.Random(SEED)
    worker = start_worker(ns, tmp_path / "w")
    await asyncio.to_thread(worker.start, 180)
    say("worker ready")
    feeding = asyncio.create_task(feed(ns, inputs, seconds))
    victims: list[str] = []
    controller_killed = False
    try:
        for round_ in range(kills):
            await asyncio.sleep(rng.uniform(seconds / 10, seconds / 5))
            leader = await wait_controller(cluster)
            victim: LocalBroker = rng.choice(cluster.nodes)
            if round_ == kills - 1 and not controller_killed:  # the controller at least once
                victim = cluster.nodes[leader - 1]
            controller_killed |= victim.node_id == leader
            role = "the active controller" if victim.node_id == leader else "a follower"
            victims.append(f"node {victim.node_id} ({role})")
            say(f"broker_loss: seed {SEED}, kill {round_ + 1}: node {victim.node_id}, {role}")
            assert victim.down(sig=signal.SIGKILL)
            if victim.node_id == leader:
                assert said_active(victim), "the quorum-state and the node's log disagree"
            await asyncio.sleep(rng.uniform(seconds / 10, seconds / 5))
            await asyncio.to_thread(victim.up, 120)
            say(f"node {victim.node_id} is back")
            await wait_in_sync(cluster.bootstrap)
            say("every replica in sync")
        await feeding
        say("fed")
        signals, alerts, dead = await read_outputs(ns, expected)
        say("outputs read")
        alive = worker.proc is not None and worker.proc.poll() is None
    finally:
        feeding.cancel()
        worker.stop()
    assert controller_killed, victims
    assert alive, f"the worker exited:\n{worker.tail()}"
    check_outputs(
        "broker_loss", expected, signals, alerts, dead, len(inputs), kills, 1,
        victims="+".join(v.split()[1] + ("c" if "controller" in v else "") for v in victims),
    )  # fmt: skip


async def test_a_broker_stalled_past_the_session_timeout(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    ns = Namespace(bootstrap=cluster.bootstrap, root=tmp_path)
    inputs = daily_bars(NAMES if FULL else NAMES[::3], 40 if FULL else 4)
    seconds = 60.0 if FULL else 15.0
    # longer than the worker's session timeout (10 s) and the broker's (9 s, KRaft default)
    stall = 25.0 if FULL else 13.0
    expected = reference(inputs)
    rng = random.Random(SEED + 1)
    await wait_in_sync(cluster.bootstrap)
    worker = start_worker(ns, tmp_path / "w")
    await asyncio.to_thread(worker.start, 180)
    say("worker ready")
    feeding = asyncio.create_task(feed(ns, inputs, seconds))
    victim = rng.choice(cluster.nodes)
    pid = victim.pid()
    assert pid is not None
    try:
        await asyncio.sleep(seconds / 5)
        leader = active_controller(cluster)
        role = "the active controller" if victim.node_id == leader else "a follower"
        say(f"broker_stall: seed {SEED + 1}, node {victim.node_id} ({role}) stopped {stall} s")
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(stall)
        finally:
            os.kill(pid, signal.SIGCONT)
        say("resumed")
        await feeding
        say("fed")
        signals, alerts, dead = await read_outputs(ns, expected)
        say("outputs read")
        alive = worker.proc is not None and worker.proc.poll() is None
        await wait_in_sync(cluster.bootstrap)  # the stalled node rejoined
        say("every replica in sync")
    finally:
        feeding.cancel()
        worker.stop()
    assert alive, f"the worker exited:\n{worker.tail()}"
    check_outputs(
        "broker_stall", expected, signals, alerts, dead, len(inputs), 0, 1,
        stalled=f"{victim.node_id}{'c' if victim.node_id == leader else ''}:{stall:.0f}s",
    )  # fmt: skip
