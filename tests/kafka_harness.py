"""Real parts for integration and end-to-end tests: the broker, worker processes, clients."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.tools.kafka_local import free_port

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@dataclass
class Namespace:
    """A unique topic prefix and app id per test, so tests never see each other's data."""

    bootstrap: str
    root: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}.")

    @property
    def app_id(self) -> str:
        return self.prefix.rstrip(".") + "-app"

    def topic(self, logical: str) -> str:
        return self.prefix + logical

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WINDVANE_", "KAFKA_"))}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            WINDVANE_TOPIC_PREFIX=self.prefix,
            WINDVANE_APP_ID=self.app_id,
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def windvane(
        self, *args: str, timeout: float = 120, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(VENV_BIN / "windvane"), *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            check=False,
        )
        assert proc.returncode == 0, (
            f"windvane {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
        )
        return proc


class Worker:
    """``windvane worker`` as a real process, with its own web port and data dir."""

    def __init__(self, ns: Namespace, data_dir: Path, **extra: str) -> None:
        self.ns = ns
        self.port = free_port()
        self.data_dir = data_dir
        self.log = ns.root / f"worker-{self.port}.log"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> Worker:
        self.spawn()
        self.wait_ready(timeout)
        return self

    def spawn(self) -> Worker:
        """Start the process without waiting for it to be ready."""
        env = self.ns.env(
            WINDVANE_WEB_PORT=str(self.port), WINDVANE_DATA_DIR=str(self.data_dir), **self.extra
        )
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "windvane"), "worker", "-l", "info"],
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=3) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.tail()}")
            try:
                status, _ = self.get("/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"worker not ready in {timeout}s:\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def tail(self, lines: int = 60) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def produce(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes | None, bytes]],
    headers: list[tuple[str, bytes]] | None = None,
) -> list[tuple[int, int]]:
    """Send ``records`` in order (each with ``headers``, if given); the (partition, offset)
    each landed at."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k, headers=headers) for k, v in records]
        return [(meta.partition, meta.offset) for meta in await asyncio.gather(*futures)]
    finally:
        await producer.stop()


async def consume_until(
    bootstrap: str, topic: str, count: int, timeout: float = 90
) -> list[tuple[bytes | None, Any]]:
    """Read ``topic`` from the start (read_committed) until ``count`` records or timeout."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    out: list[tuple[bytes | None, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out += [(r.key, orjson.loads(r.value)) for r in records]
        # linger briefly: anything beyond `count` is a duplicate the test must see
        batch = await consumer.getmany(timeout_ms=1500)
        for records in batch.values():
            out += [(r.key, orjson.loads(r.value)) for r in records]
    finally:
        await consumer.stop()
    return out


async def partitions_of(bootstrap: str, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
        return {t["topic"]: len(t["partitions"]) for t in described}
    finally:
        await admin.close()


def strip_volatile(alert: dict[str, Any]) -> dict[str, Any]:
    """An alert without its wall-clock emit time (the only field that differs by run)."""
    return {k: v for k, v in alert.items() if k != "emitted_at"}


def lines(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.strip():
            yield orjson.loads(line)


async def read_all(bootstrap: str, topic: str, timeout: float = 60) -> list[Any]:
    """Every committed record of ``topic`` (read_committed, every partition, up to the end
    offsets as of now), as aiokafka's ConsumerRecords: headers included."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        count = (await partitions_of(bootstrap, [topic]))[topic]
        parts = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)  # read_committed: the last stable offsets
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while any([await consumer.position(tp) < ends[tp] for tp in parts]):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: not read to its end offsets {ends} in {timeout}s")
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out += records
        return out
    finally:
        await consumer.stop()
