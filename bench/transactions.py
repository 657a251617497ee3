"""What a commit round costs in Kafka transactions: N transactional producers each committing
one small transaction (16 records of 700 B and the input offsets, as a task's round does)
at once, round after round, against one producer committing all of it in one transaction.
The quote runtime's ``exactly_once`` is the first shape (a producer per task), its
``exactly_once_v2`` the second. Prints the rounds' p50/p90 and the ratio, measured in one run.

    .venv/bin/python bench/transactions.py [--tasks 8] [--rounds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from quotes import create_topics  # noqa: E402

from streams.tools.kafka_local import LocalBroker, free_port  # noqa: E402

VALUE = b"x" * 700


async def rounds(bootstrap: str, tasks: int, producers: int, count: int) -> list[float]:
    """``count`` rounds of ``tasks`` tasks' work over ``producers`` producers (1 or tasks)."""
    topic = f"txn-{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, [topic + "-in"], [topic])
    made = [
        AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            transactional_id=f"{topic}-{i}",
            acks="all",
            linger_ms=0,
            retry_backoff_ms=20,
        )
        for i in range(producers)
    ]
    for p in made:
        await p.start()

    async def commit(p: AIOKafkaProducer, mine: list[int], r: int) -> None:
        async with p.transaction():
            for task in mine:
                for k in range(16):
                    await p.send(topic, VALUE, key=f"{task}-{k}".encode(), partition=task % 8)
            offsets = {TopicPartition(topic + "-in", t % 8): OffsetAndMetadata(r, "") for t in mine}
            await p.send_offsets_to_transaction(offsets, f"{topic}-group")

    spent: list[float] = []
    try:
        for r in range(count):
            t = time.perf_counter()
            if producers == 1:
                await commit(made[0], list(range(tasks)), r)
            else:
                await asyncio.gather(*(commit(made[i], [i], r) for i in range(tasks)))
            spent.append(time.perf_counter() - t)
    finally:
        for p in made:
            await p.stop()
    return spent[3:]  # the first rounds find coordinators and partitions


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args()
    port = free_port()
    broker = LocalBroker(
        home=REPO / ".windvane" / "bench-txn-kafka", port=port, controller_port=free_port()
    )
    broker.up()
    try:
        bootstrap = broker.bootstrap
        result: dict[str, list[float]] = {}
        # ABAB: the machine's noise falls on both shapes alike
        for _ in range(2):
            for name, producers in (("per_task", args.tasks), ("per_worker", 1)):
                got = await rounds(bootstrap, args.tasks, producers, args.rounds)
                result.setdefault(name, []).extend(got)
    finally:
        broker.down()
    p50 = {k: statistics.median(v) * 1000 for k, v in result.items()}
    for name, values in result.items():
        values.sort()
        p90 = values[int(len(values) * 0.9)] * 1000
        print(f"{name:11} round p50 {p50[name]:6.1f} ms  p90 {p90:6.1f} ms  ({len(values)} rounds)")
    print(f"per_task / per_worker at p50: {p50['per_task'] / p50['per_worker']:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
