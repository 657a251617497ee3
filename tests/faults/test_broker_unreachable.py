"""The broker unreachable, at the worker's start and for a minute mid-run (10 s in the quick
run). At start the broker is down (stopped; its port refuses connections): the worker does
not exit, it logs that Kafka is unreachable, answers ``/readyz`` with 503 and reports
``windvane_broker_up 0``; once the broker is back (same port, same log dirs) it becomes
ready. Mid-run the broker process is frozen (SIGSTOP: connections open, nothing answers,
like a network partition) while the worker has a backlog: ``/readyz`` goes 503 and
``windvane_broker_up`` 0 within seconds; after SIGCONT the worker is ready again and the
outputs, read with read_committed, equal the reference: nothing missing, nothing duplicated.

The scenario stops and freezes the session's own broker (the conftest's; or one of its own
when ``KAFKA_TEST_BOOTSTRAP`` points elsewhere)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.tools.kafka_local import LocalBroker, free_port
from tests.faults.harness import FULL, check_outputs, daily_bars, read_outputs, reference
from tests.kafka_harness import REPO, Namespace, Worker, produce

pytestmark = pytest.mark.faults


@pytest.fixture
def broker(kafka_bootstrap: str) -> Iterator[LocalBroker]:
    """The local broker the session runs (a handle on the same home and ports)."""
    if os.environ.get("KAFKA_TEST_BOOTSTRAP"):
        own = LocalBroker(REPO / ".windvane" / "test-kafka-stall", free_port(), free_port())
        own.destroy()
        own.up(timeout=120)
        try:
            yield own
        finally:
            own.destroy()
        return
    port = int(os.environ.get("WINDVANE_TEST_KAFKA_PORT", "19092"))
    yield LocalBroker(REPO / ".windvane" / "test-kafka", port=port, controller_port=port + 1)


class Launched(Worker):
    """A worker started without waiting for it to be ready."""

    def wait_ready(self, timeout: float) -> None:
        if getattr(self, "waited", False):
            super().wait_ready(timeout)


def broker_up(worker: Worker) -> float | None:
    try:
        _, text = worker.get("/metrics")
    except OSError:
        return None
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name == "windvane_broker_up":
                return sample.value
    return None


def readyz(worker: Worker) -> tuple[int, dict]:
    try:
        status, body = worker.get("/readyz")
    except OSError:
        return 0, {}
    return status, orjson.loads(body)


async def until(check: Callable[[], bool], timeout: float, what: str, worker: Worker) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what} not seen in {timeout}s:\n{worker.tail()}")


def unready(worker: Worker) -> bool:
    status, body = readyz(worker)
    return status == 503 and body.get("broker_reachable") is False and broker_up(worker) == 0


async def test_broker_unreachable_at_start_and_mid_run(
    ns: Namespace, broker: LocalBroker, tmp_path: Path
) -> None:
    ns = Namespace(bootstrap=broker.bootstrap, root=tmp_path)
    names = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv"]
    inputs = daily_bars(names, 40 if FULL else 4)
    expected = reference(inputs)
    down_at_start, stall = (30.0, 60.0) if FULL else (5.0, 10.0)
    worker = Launched(ns, tmp_path / "w", WINDVANE_SESSION_TIMEOUT="10")
    assert await asyncio.to_thread(broker.down)
    try:
        # -- at start: nothing listens on the broker's port -------------------------------
        await asyncio.to_thread(worker.start)
        await until(lambda: unready(worker), 60, "/readyz 503 and broker_up 0 at start", worker)
        await asyncio.sleep(down_at_start)
        assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        assert "Kafka unreachable at" in worker.log.read_text(errors="replace")
        await asyncio.to_thread(broker.up, 120)
        worker.waited = True  # type: ignore[attr-defined]
        await asyncio.to_thread(worker.wait_ready, 180)
        assert broker_up(worker) == 1

        # -- mid-run: the broker frozen while the worker has a backlog ------------------------
        half = len(inputs) // 2
        await produce(ns.bootstrap, ns.topic("quotes.raw"), inputs[:half])
        await asyncio.sleep(1.0)
        pid = broker.pid()
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            frozen = time.monotonic()
            await until(lambda: unready(worker), stall, "/readyz 503 while frozen", worker)
            await asyncio.sleep(max(0.0, stall - (time.monotonic() - frozen)))
            assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        finally:
            os.kill(pid, signal.SIGCONT)
        await until(lambda: readyz(worker)[0] == 200, 180, "/readyz 200 after", worker)
        await produce(ns.bootstrap, ns.topic("quotes.raw"), inputs[half:])
        signals, alerts, dead = await read_outputs(ns, expected)
        log = worker.log.read_text(errors="replace")
    finally:
        worker.stop()
        if broker.pid() is None:
            broker.up(timeout=120)
    assert log.count("Kafka unreachable at") >= 2 and "Kafka reachable again" in log
    check_outputs("broker_unreachable", expected, signals, alerts, dead, len(inputs), 0)
