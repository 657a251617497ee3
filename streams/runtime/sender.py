"""Outputs to Kafka as whole batches: one :class:`BatchBuilder` per topic-partition and one
``send_batch`` per full builder, instead of one ``send()`` coroutine per record. Keys go to
the partition the Java client (and Kafka Streams, and ``send()``) would choose: murmur2 of
the key, positive, modulo the partition count."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

Entry = tuple[str, int | None, bytes | None, bytes | None, list[tuple[str, bytes]] | None]
"""(topic, partition or None to partition by key, key, value or None for a tombstone,
headers or None)."""


class Partitioner:
    """The default partitioner's choice, cached per (key, partition count): the symbols of a
    stream repeat, and murmur2 is pure Python in aiokafka."""

    def __init__(self, limit: int = 200_000) -> None:
        self._counts: dict[str, int] = {}
        self._cache: dict[tuple[bytes, int], int] = {}
        self._limit = limit
        self._spread = itertools.count()

    async def learn(self, producer: AIOKafkaProducer, topics: Iterable[str]) -> None:
        """Partition counts of ``topics`` (one metadata wait per topic, once)."""
        for topic in topics:
            if topic not in self._counts:
                self._counts[topic] = len(await producer.partitions_for(topic))

    def known(self, topic: str) -> bool:
        return topic in self._counts

    def partition(self, topic: str, key: bytes | None) -> int:
        n = self._counts[topic]
        if key is None:  # keyless (a dead letter of a keyless record): spread them
            return next(self._spread) % n
        found = self._cache.get((key, n))
        if found is None:
            found = (murmur2(key) & 0x7FFFFFFF) % n
            if len(self._cache) < self._limit:
                self._cache[(key, n)] = found
        return found


async def send_batches(
    producer: AIOKafkaProducer, partitioner: Partitioner, entries: Iterable[Entry]
) -> list[asyncio.Future[Any]]:
    """Append ``entries`` to one builder per topic-partition, in order, and hand each full
    builder to the producer; the futures resolve when the broker has acknowledged each batch.
    Per-partition order is the order of ``entries``."""
    entries = list(entries)
    await partitioner.learn(producer, {e[0] for e in entries if e[1] is None})
    builders: dict[tuple[str, int], Any] = {}
    futures: list[asyncio.Future[Any]] = []
    for topic, partition, key, value, headers in entries:
        if partition is None:
            partition = partitioner.partition(topic, key)
        tp = (topic, partition)
        builder = builders.get(tp)
        if builder is None:
            builder = builders[tp] = producer.create_batch()
        if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
            futures.append(await producer.send_batch(builder, topic, partition=partition))
            builder = builders[tp] = producer.create_batch()
            if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                raise ValueError(f"a record of {len(value or b'')} bytes exceeds the batch size")
    for (topic, partition), builder in builders.items():
        if builder.record_count():
            futures.append(await producer.send_batch(builder, topic, partition=partition))
    return futures
