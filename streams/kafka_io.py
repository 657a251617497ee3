"""Plain aiokafka clients for the command line: topic setup, producing, tailing."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.config import TOPICS, Settings


async def ensure_topics(
    settings: Settings, logical: Iterable[str] = TOPICS, compacted: Iterable[str] = ()
) -> None:
    """Create the topics (with the configured partitions) that do not exist yet; the
    ``compacted`` ones (full names: table changelogs) with ``cleanup.policy=compact``."""
    admin = AIOKafkaAdminClient(**settings.client_kwargs())
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(settings.topic(name), settings.partitions, settings.replication_factor)
            for name in logical
            if settings.topic(name) not in existing
        ]
        wanted += [
            NewTopic(
                name,
                settings.partitions,
                settings.replication_factor,
                topic_configs={"cleanup.policy": "compact"},
            )
            for name in compacted
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


def producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **settings.client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


@dataclass(frozen=True)
class TailedRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


async def tail(
    settings: Settings,
    topic: str,
    from_beginning: bool,
    idle_timeout: float,
    read_committed: bool = True,
) -> AsyncIterator[TailedRecord]:
    """Records of ``topic`` until none arrives for ``idle_timeout`` seconds."""
    consumer = AIOKafkaConsumer(
        topic,
        **settings.client_kwargs(),
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
        group_id=None,
        isolation_level="read_committed" if read_committed else "read_uncommitted",
    )
    loop = asyncio.get_running_loop()
    last_seen = loop.time()
    try:
        await consumer.start()  # inside: a failed start is stopped too (no unclosed client)
        while loop.time() - last_seen < idle_timeout:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    last_seen = loop.time()
                    yield TailedRecord(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value)
    finally:
        await consumer.stop()


async def produce_records(
    settings: Settings, topic: str, records: list[tuple[bytes | None, bytes]]
) -> int:
    """Create our topics if needed, then produce ``records`` to ``topic`` (a progress bar on
    a terminal); the number sent."""
    from rich.progress import Progress

    await ensure_topics(settings, TOPICS)
    prod = producer(settings)
    try:
        await prod.start()
        with Progress(transient=not sys.stderr.isatty(), disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task(f"→ {topic}", total=len(records))
            pending = []
            for key, value in records:
                pending.append(await prod.send(topic, value=value, key=key))
                if len(pending) >= 1000:
                    await asyncio.gather(*pending)
                    bar.advance(task, len(pending))
                    pending.clear()
            await asyncio.gather(*pending)
            bar.advance(task, len(pending))
    finally:
        await prod.stop()
    return len(records)
