"""Helpers of the scenarios at scale and of the article path: fast producing (pre-encoded
values, large client batches)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer


async def produce_fast(
    bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes]], chunk: int = 20_000
) -> list[tuple[int, int]]:
    """Send ``records`` in order (per key) in large batches; the (partition, offset) of each.
    One idempotent producer (acks=all), several chunks in flight at once."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 << 10,
        max_request_size=1 << 20,
    )
    await producer.start()
    located: list[tuple[int, int]] = []
    try:
        for start in range(0, len(records), chunk):
            send = producer.send
            futures = [await send(topic, value=v, key=k) for k, v in records[start : start + chunk]]
            located += [(m.partition, m.offset) for m in await asyncio.gather(*futures)]
    finally:
        await producer.stop()
    return located
