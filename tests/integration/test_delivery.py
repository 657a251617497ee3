"""Alert delivery through real peers: ``windvane deliver`` as a process reads ``alerts`` from
the real broker and delivers to a real Alertmanager (listed back through its own API), to a
signed webhook that fails the first tries on purpose, to a Slack-format webhook, and to a
webhook that is down for good (-> ``alerts.undeliverable``). A receiver that hangs holds no
other sink, and a restart redelivers exactly what some sink had not finished."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.config import Settings
from streams.delivery.config import load_sinks
from streams.delivery.service import AlertDelivery
from streams.tools.cli import offline_quote_lines
from streams.tools.kafka_local import free_port
from tests.kafka_harness import VENV_BIN, Namespace, consume_until, produce
from tests.peers import Alertmanager, Receiver, wait_until
from tests.reference import shared_path
from tests.schemas import validator

pytestmark = pytest.mark.integration
SECRET = "s3cr3t-for-tests"


def hstech_alerts(since: str, until: str) -> list[dict]:
    lines = offline_quote_lines(shared_path("quotes", "HSTECH.csv"), "HSTECH", None)
    return [
        x["value"]
        for x in lines
        if x["topic"] == "alerts" and since <= x["value"]["trading_day"] <= until
    ]


async def test_deliver_to_alertmanager_and_webhooks(ns: Namespace, tmp_path: Path) -> None:
    alerts = hstech_alerts("2025-10-01", "2025-11-30")
    assert [a["trading_day"] for a in alerts] == ["2025-10-17", "2025-10-20", "2025-10-31"]
    am = Alertmanager(tmp_path).start()
    receiver = await Receiver(SECRET).start()
    config = tmp_path / "delivery.toml"
    config.write_text(
        f"""
[[sinks]]
name = "alertmanager"
type = "alertmanager"
url = "{am.url}"

[[sinks]]
name = "signed"
type = "webhook"
url = "{receiver.url("/flaky")}"
secret_env = "TEST_WEBHOOK_SECRET"
max_attempts = 4
backoff_initial = 0.05
backoff_max = 0.2

[[sinks]]
name = "slack"
type = "webhook"
format = "slack"
url = "{receiver.url("/slack")}"
[sinks.match]
symbols = ["HST*"]
min_severity = "warning"

[[sinks]]
name = "broken"
type = "webhook"
url = "{receiver.url("/broken")}"
max_attempts = 3
backoff_initial = 0.01
backoff_max = 0.05
[sinks.match]
rules = ["ma_cross"]
"""
    )
    metrics_port = free_port()
    env = ns.env(TEST_WEBHOOK_SECRET=SECRET, WINDVANE_DASHBOARD_URL="http://127.0.0.1:6066")
    await produce(
        ns.bootstrap, ns.topic("alerts"), [(a["symbol"].encode(), orjson.dumps(a)) for a in alerts]
    )
    proc = subprocess.Popen(
        [str(VENV_BIN / "windvane"), "deliver", "--config", str(config), "--metrics-port", str(metrics_port)],
        env=env, stdout=(tmp_path / "deliver.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        await wait_until(
            lambda: len(receiver.accepted) == 3 and len(receiver.slack) == 3, 90, "webhooks"
        )
        undeliverable = await consume_until(ns.bootstrap, ns.topic("alerts.undeliverable"), 3)
        await wait_until(lambda: len(am.alerts()) == 3, 30, "alertmanager")
        listed = am.alerts()
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(30)
        await receiver.stop()
        am.stop()
    log = (tmp_path / "deliver.log").read_text()
    assert proc.returncode == 0, log
    assert SECRET not in log

    # Alertmanager: its own API lists every alert, with our labels and the summary line
    by_day = {a["labels"]["trading_day"]: a for a in listed}
    oct17 = by_day["2025-10-17"]
    assert oct17["labels"] | {} == {
        "alertname": "WindvaneMaCross", "symbol": "HSTECH", "rule": "ma_cross", "direction": "below",
        "rule_name": "ma_cross:hysteresis=0.0,trigger=close,window=60",
        "severity": "warning", "confirmation": "close", "trading_day": "2025-10-17",
    }  # fmt: skip
    assert oct17["annotations"]["summary"] == "HSTECH closed 5760.38, below its 60-day SMA 5877.94"
    assert oct17["generatorURL"].startswith("http://127.0.0.1:6066/dashboard?symbol=HSTECH")
    assert oct17["startsAt"].startswith("2025-10-17T08:00:00")

    # signed webhook: every alert tried 3 times (2 failures on purpose), all signatures valid
    assert receiver.bad_signatures == 0
    assert dict(receiver.tries) == {a["id"]: 3 for a in alerts}
    assert sorted(x["id"] for x in receiver.accepted) == sorted(a["id"] for a in alerts)
    assert receiver.accepted[0] == next(a for a in alerts if a["id"] == receiver.accepted[0]["id"])

    # Slack format
    assert any("below its 60-day SMA 5877.94" in m["text"] for m in receiver.slack)

    # the sink that is down for good: each alert on alerts.undeliverable after 3 tries
    assert sorted(v["alert"]["id"] for _, v in undeliverable) == sorted(a["id"] for a in alerts)
    assert {(v["sink"], v["attempts"]) for _, v in undeliverable} == {("broken", 3)}
    assert "HTTP 500" in undeliverable[0][1]["error"]
    for key, value in undeliverable:  # the topic's schema, as asyncapi.yaml points to it
        validator("undeliverable").validate(value)
        assert key == value["alert"]["id"].encode()

    assert 'windvane_deliveries_total{outcome="retried",sink="signed"} 6.0' in metrics
    assert 'windvane_deliveries_total{outcome="undeliverable",sink="broken"} 3.0' in metrics
    assert 'windvane_deliveries_total{outcome="delivered",sink="alertmanager"} 3.0' in metrics


@dataclass
class HangingReceiver:
    """``POST /<sink>`` records the alert id and its arrival time, then answers 200 — except
    on ``/stuck`` for the ids in ``hang`` (all ids when ``hang`` is ``None``), where it never
    answers until :meth:`stop` (the end of the test)."""

    hang: set[str] | None = None
    port: int = field(default_factory=free_port)
    arrivals: dict[str, list[tuple[str, float]]] = field(default_factory=lambda: defaultdict(list))
    release: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    def url(self, sink: str) -> str:
        return f"http://127.0.0.1:{self.port}/{sink}"

    def ids(self, sink: str) -> list[str]:
        return [key for key, _ in self.arrivals[sink]]

    async def _post(self, request: web.Request) -> web.Response:
        await request.read()
        key, sink = request.headers["Idempotency-Key"], request.match_info["sink"]
        self.arrivals[sink].append((key, time.monotonic()))
        if sink == "stuck" and (self.hang is None or key in self.hang):
            await self.release.wait()
        return web.Response(status=200)

    async def start(self) -> HangingReceiver:
        app = web.Application()
        app.router.add_post("/{sink}", self._post)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@functools.cache
def _one_real_alert() -> bytes:
    (alert,) = hstech_alerts("2025-10-17", "2025-10-17")
    return orjson.dumps(alert)


def alert_named(alert_id: str) -> dict[str, Any]:
    """The real HSTECH alert of 2025-10-17 under another id."""
    return {**orjson.loads(_one_real_alert()), "id": alert_id}


def stuck_and_working(receiver: HangingReceiver, working_in_flight: int = 8) -> str:
    return f"""
[[sinks]]
name = "stuck"
type = "webhook"
url = "{receiver.url("stuck")}"
timeout = 600          # longer than the test: the request hangs until the test ends
max_attempts = 1

[[sinks]]
name = "working"
type = "webhook"
url = "{receiver.url("working")}"
max_in_flight = {working_in_flight}
"""


def start_deliver(ns: Namespace, config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(VENV_BIN / "windvane"), "deliver", "--config", str(config), "--metrics-port", "0"],
        env=ns.env(WINDVANE_SESSION_TIMEOUT="6"), stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop_deliver(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"windvane deliver did not stop on signal {sig} in 30 s") from None


async def test_a_hanging_sink_holds_no_other_sink(ns: Namespace, tmp_path: Path) -> None:
    receiver = await HangingReceiver(hang=None).start()
    config = tmp_path / "delivery.toml"
    config.write_text(stuck_and_working(receiver))
    log = tmp_path / "deliver.log"
    proc = start_deliver(ns, config, log)
    topic = ns.topic("alerts")
    try:
        # a first alert: the service is consuming, and the stuck sink is hanging on it
        await produce(ns.bootstrap, topic, [(b"HSTECH", orjson.dumps(alert_named("first")))])
        await wait_until(
            lambda: receiver.ids("working") == ["first"] and receiver.ids("stuck") == ["first"],
            90,
            "the first alert at both sinks",
        )
        batch = [alert_named(f"next-{i}") for i in range(5)]
        producer = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, acks="all")
        await producer.start()
        try:
            sent_at = time.monotonic()
            for alert in batch:
                await producer.send(topic, orjson.dumps(alert), key=b"HSTECH")
            await producer.flush()
        finally:
            await producer.stop()
        await wait_until(lambda: len(receiver.ids("working")) == 6, 30, "the working sink")
        latest = max(at for key, at in receiver.arrivals["working"] if key.startswith("next-"))
        # all five are hanging at the stuck sink too (8 in flight), none answered
        await wait_until(lambda: len(receiver.ids("stuck")) == 6, 30, "the stuck sink's tries")
    finally:
        code = stop_deliver(proc)  # before the hanging requests are released
        await receiver.stop()
    assert code == 0, log.read_text()
    assert sorted(receiver.ids("working")) == sorted(["first", *(a["id"] for a in batch)])
    assert latest - sent_at < 1.0, f"the working sink waited {latest - sent_at:.2f}s"


async def send(ns: Namespace, partition: int, ids: list[str]) -> None:
    """Alerts of these ids to one partition of ``alerts``, in this order."""
    producer = AIOKafkaProducer(bootstrap_servers=ns.bootstrap, acks="all")
    await producer.start()
    try:
        for alert_id in ids:
            await producer.send_and_wait(
                ns.topic("alerts"), orjson.dumps(alert_named(alert_id)), partition=partition
            )
    finally:
        await producer.stop()


async def committed(ns: Namespace) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=ns.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(f"{ns.app_id}-delivery")
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def wait_committed(ns: Namespace, expected: dict[int, int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen: dict[int, int] = {}
    while time.monotonic() < deadline:
        seen = await committed(ns)
        if seen == expected:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"committed offsets {seen}, expected {expected}")


async def test_restart_redelivers_exactly_what_a_sink_had_not_finished(
    ns: Namespace, tmp_path: Path
) -> None:
    """Partition 0 holds a0 a1 a2, partition 1 holds b0 b1; the stuck sink hangs on a1 only.
    The working sink takes one alert at a time (max_in_flight = 1), in the order read."""
    topic = ns.topic("alerts")
    admin = AIOKafkaAdminClient(bootstrap_servers=ns.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    p0, p1 = ["a0", "a1", "a2"], ["b0", "b1"]
    receiver = await HangingReceiver(hang={"a1"}).start()
    config = tmp_path / "delivery.toml"
    config.write_text(stuck_and_working(receiver, working_in_flight=1))
    log = tmp_path / "deliver.log"

    procs: list[subprocess.Popen[bytes]] = []
    try:
        first = start_deliver(ns, config, log)
        procs.append(first)
        await send(ns, 0, p0)
        await send(ns, 1, p1)
        await wait_until(lambda: len(receiver.ids("working")) == 5, 90, "the working sink")
        await wait_until(lambda: len(receiver.ids("stuck")) == 5, 30, "the stuck sink")
        # a1 holds partition 0 at its offset; a2 is done by both sinks but behind it;
        # partition 1 is done by both sinks
        await wait_committed(ns, {0: 1, 1: 2})
        assert stop_deliver(first, signal.SIGKILL) == -signal.SIGKILL
        receiver.hang = set()
        before = {sink: len(receiver.ids(sink)) for sink in ("stuck", "working")}
        # one more alert per partition: the working sink's strict order puts every
        # redelivery of a partition before its new alert
        await send(ns, 0, ["c0"])
        await send(ns, 1, ["c1"])
        second = start_deliver(ns, config, log)
        procs.append(second)
        await wait_until(
            lambda: {"c0", "c1"} <= set(receiver.ids("working")[before["working"] :]),
            90,
            "the new alerts after the restart",
        )
        await wait_until(
            lambda: len(receiver.ids("stuck")) >= before["stuck"] + 4, 30, "the stuck sink"
        )
        await wait_committed(ns, {0: 4, 1: 3})
        assert stop_deliver(second) == 0, log.read_text()
    finally:
        for proc in procs:
            stop_deliver(proc, signal.SIGKILL)
        await receiver.stop()

    working = receiver.ids("working")
    first_run, second_run = working[: before["working"]], working[before["working"] :]
    assert [x for x in first_run if x in p0] == p0 and [x for x in first_run if x in p1] == p1
    # nothing finished by both sinks comes again; a1 (unfinished) and a2 (behind it) do
    assert [x for x in second_run if x.startswith("a") or x == "c0"] == ["a1", "a2", "c0"]
    assert [x for x in second_run if x.startswith("b") or x == "c1"] == ["c1"]
    assert sorted(receiver.ids("stuck")[before["stuck"] :]) == ["a1", "a2", "c0", "c1"]


async def test_reading_pauses_while_max_uncommitted_alerts_wait_on_a_sink(
    ns: Namespace, tmp_path: Path
) -> None:
    """The service class in this process, with a bound of 3: the stuck sink holds 3 alerts,
    so the working sink gets those 3 and no more until the stuck one answers."""
    receiver = await HangingReceiver(hang=None).start()
    config = tmp_path / "delivery.toml"
    config.write_text(stuck_and_working(receiver))
    settings = Settings(
        bootstrap_servers=ns.bootstrap, app_id=ns.app_id, topic_prefix=ns.prefix, session_timeout=6
    )
    service = AlertDelivery(settings, load_sinks(config), "http://d", max_uncommitted=3)
    ids = [f"alert-{i}" for i in range(6)]
    await send(ns, 0, ids)
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    try:
        await wait_until(
            lambda: len(receiver.ids("stuck")) >= 3 and len(receiver.ids("working")) >= 3,
            90,
            "the first alerts",
        )
        assert sorted(receiver.ids("working")) == ids[:3] and service.uncommitted() == 3
        assert sorted(receiver.ids("stuck")) == ids[:3]
        receiver.release.set()  # the stuck sink answers: reading resumes
        await wait_until(
            lambda: len(receiver.ids("working")) == 6 and len(receiver.ids("stuck")) == 6,
            30,
            "the rest",
        )
        await wait_until(lambda: service.uncommitted() == 0, 30, "every alert finished")
        await wait_committed(ns, {0: 6})
    finally:
        stop.set()
        await running
        await receiver.stop()
    assert sorted(receiver.ids("working")) == ids
