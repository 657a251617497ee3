"""Quote-path throughput against the raw Kafka pipe, on the same broker in the same run.

Workload: N daily bars over S symbols made from the real series in ../shared/data/quotes by
scaling (fixed seed), preloaded into ``quotes.raw`` (8 partitions). Contenders:

1. raw pipe: an aiokafka consumer that reads ``quotes.raw`` and produces every record
   unchanged to an output topic: the ceiling for a Python consumer on this machine;
2. windvane: a ``windvane worker`` process (at-least-once, and exactly-once with --eos).

Throughput = records / seconds from the first to the last output record. Reported with the
ratio windvane / raw pipe. (Quix Streams and Kafka Streams, issue 6, are not here yet.)

    .venv/bin/python bench/quotes.py [--records 100000] [--symbols 100] [--eos]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streams.kafka_local import LocalBroker, free_port  # noqa: E402
from tests.reference import QUOTES, closes  # noqa: E402

NAMES = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv", "9988.HK.csv"]


def workload(records: int, symbols: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    bases = [
        list(zip(f["date"], f["close"], strict=True)) for f in (closes(QUOTES / n) for n in NAMES)
    ]
    per_symbol = max(1, records // symbols)
    rows: list[tuple[str, str, float]] = []
    for s in range(symbols):
        base = bases[s % len(bases)]
        factor = rng.uniform(0.2, 5.0)
        for day, close in base[-per_symbol:]:
            rows.append((day, f"SYM{s:04d}", round(close * factor, 4)))
    rows.sort()
    return [
        (sym.encode(), orjson.dumps({"symbol": sym, "date": d, "close": c}))
        for d, sym, c in rows[:records]
    ]


async def create(bootstrap: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 8, 1) for t in topics])
    finally:
        await admin.close()


async def preload(bootstrap: str, topic: str, data: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        batch = [await producer.send(topic, value=v, key=k) for k, v in data]
        await asyncio.gather(*batch)
    finally:
        await producer.stop()


async def end_offsets(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(8)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


async def raw_pipe(bootstrap: str, source: str, sink: str, n: int) -> float:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"raw-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", enable_auto_commit=True, max_partition_fetch_bytes=4 << 20)  # fmt: skip
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=5, max_batch_size=512 * 1024
    )
    await consumer.start()
    await producer.start()
    done, first = 0, None
    try:
        while done < n:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            futures = []
            for records in batch.values():
                for r in records:
                    futures.append(await producer.send(sink, value=r.value, key=r.key))
            if futures:
                first = first or time.perf_counter()
                await asyncio.gather(*futures)
                done += len(futures)
        return n / (time.perf_counter() - (first or time.perf_counter()))
    finally:
        await consumer.stop()
        await producer.stop()


async def windvane(bootstrap: str, prefix: str, n: int, guarantee: str, tmp: Path) -> float:
    port = free_port()
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, WINDVANE_TOPIC_PREFIX=prefix,
               WINDVANE_APP_ID=f"{prefix}{guarantee}", WINDVANE_WEB_PORT=str(port),
               WINDVANE_DATA_DIR=str(tmp / guarantee), PROCESSING_GUARANTEE=guarantee)  # fmt: skip
    out_topic = f"{prefix}quotes.signals"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "windvane"), "worker", "-l", "warn"], env=env,
                            stdout=(tmp / f"worker-{guarantee}.log").open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    try:
        first = None
        start_count = 0
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited; see {tmp / f'worker-{guarantee}.log'}")
            try:
                count = await asyncio.wait_for(end_offsets(bootstrap, out_topic), 10)
            except Exception:  # the worker has not created its topics yet
                count = 0
            if count > start_count and first is None:
                first, start_count = time.perf_counter(), count
            if count >= n:
                return (n - start_count) / (time.perf_counter() - first) if first else 0.0
            await asyncio.sleep(0.2)
        raise RuntimeError("windvane did not finish")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--eos", action="store_true", help="also run windvane with exactly-once")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "quotes.json")
    args = ap.parse_args()
    broker = LocalBroker(home=REPO / ".windvane" / "bench-kafka", port=29092, controller_port=29093)
    broker.up()
    bootstrap = broker.bootstrap
    prefix = f"b{uuid.uuid4().hex[:6]}."
    data = workload(args.records, args.symbols)
    n = len(data)
    await create(bootstrap, [f"{prefix}quotes.raw", f"{prefix}raw.out"])
    await preload(bootstrap, f"{prefix}quotes.raw", data)
    tmp = REPO / ".windvane" / "bench-work"
    tmp.mkdir(parents=True, exist_ok=True)
    results = {"raw_pipe": await raw_pipe(bootstrap, f"{prefix}quotes.raw", f"{prefix}raw.out", n)}
    results["windvane_at_least_once"] = await windvane(bootstrap, prefix, n, "at_least_once", tmp)
    if args.eos:
        results["windvane_exactly_once"] = await windvane(
            bootstrap, prefix + "e.", n, "exactly_once", tmp
        )
    report = {
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "command": " ".join(["bench/quotes.py", *sys.argv[1:]]),
        "records": n,
        "symbols": args.symbols,
        "records_per_second": results,
        "ratio_vs_raw_pipe": {k: v / results["raw_pipe"] for k, v in results.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"{n} daily bars over {args.symbols} symbols, 8 partitions")
    for name, rate in results.items():
        print(f"  {name:<26} {rate:>10.0f} records/s   {rate / results['raw_pipe']:.3f} x raw pipe")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
