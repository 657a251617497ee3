"""The raw pipe of bench/quotes.py: an aiokafka consumer that reads the input and produces
every record unchanged to an output topic, committing as it goes. The ceiling for a Python
consumer on this machine, run as its own process like every other contender.

    python bench/contenders/raw_pipe.py BOOTSTRAP INPUT OUTPUT GROUP
"""

from __future__ import annotations

import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def main() -> None:
    bootstrap, source, sink, group = sys.argv[1:5]
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=512 * 1024
    )
    await consumer.start()
    await producer.start()
    print("raw: started", flush=True)
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            futures = [
                await producer.send(sink, value=r.value, key=r.key)
                for records in batch.values()
                for r in records
            ]
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main())
