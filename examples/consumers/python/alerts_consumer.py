"""Read windvane's ``alerts`` topic and print one line per alert, with its CloudEvents
attributes (Kafka protocol binding, binary mode: ``ce_*`` headers, the value is the alert).

Needs only aiokafka (``pip install aiokafka``)::

    python alerts_consumer.py --bootstrap 127.0.0.1:9092 [--topic alerts] [--group my-app]
        [--from-beginning] [--until-idle SECONDS]

Transactions: windvane writes ``alerts`` in Kafka transactions under exactly-once, so the
consumer reads with ``isolation_level="read_committed"`` (never an aborted alert). Alert ids
are deterministic: dedupe on ``ce_id`` (the alert's ``id``).

Each line: ``alert ce_id=... ce_type=... ce_subject=... ce_time=... ce_source=...
ce_dataschema=... ce_specversion=... content-type=... partition=P offset=O value=<JSON>``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from aiokafka import AIOKafkaConsumer

ATTRIBUTES = (
    "ce_id",
    "ce_type",
    "ce_subject",
    "ce_time",
    "ce_source",
    "ce_dataschema",
    "ce_specversion",
    "content-type",
)


def cloudevent(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> dict[str, str]:
    """The CloudEvents attributes of a record's headers (``ce_`` prefix, and ``content-type``
    for ``datacontenttype``); header values are UTF-8 strings."""
    out: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower.startswith("ce_") or lower == "content-type":
            out[lower] = value.decode("utf-8")
    return out


def line(attributes: dict[str, str], partition: int, offset: int, value: bytes) -> str:
    """One alert: its attributes, where it was read, and the value (schemas/alert.json, named
    by ``ce_dataschema``; ``json.loads`` it to use its fields) as it came, one line of JSON."""
    fields = " ".join(f"{name}={attributes.get(name, '-')}" for name in ATTRIBUTES)
    return f"alert {fields} partition={partition} offset={offset} value={value.decode('utf-8')}"


async def consume(args: argparse.Namespace) -> int:
    consumer = AIOKafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        isolation_level="read_committed",
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        enable_auto_commit=args.group is not None,
    )
    await consumer.start()
    seen = 0
    last = time.monotonic()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    attributes = cloudevent(record.headers)
                    if record.value is None:
                        continue
                    print(line(attributes, record.partition, record.offset, record.value))
                    seen += 1
                    last = time.monotonic()
            sys.stdout.flush()
            if args.until_idle is not None and time.monotonic() - last > args.until_idle:
                return seen
    finally:
        await consumer.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--topic", default="alerts", help="with WINDVANE_TOPIC_PREFIX if set")
    ap.add_argument("--group", default=None, help="consumer group (none: no offsets kept)")
    ap.add_argument("--from-beginning", action="store_true", help="read the topic from the start")
    ap.add_argument(
        "--until-idle", type=float, default=None, help="exit after this many seconds without alerts"
    )
    seen = asyncio.run(consume(ap.parse_args()))
    print(f"{seen} alerts", file=sys.stderr)


if __name__ == "__main__":
    main()
