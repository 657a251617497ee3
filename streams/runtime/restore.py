"""Restoring tasks from their changelogs: each task's partitions of the state and day
changelogs, read (``read_committed``) from the beginning up to their end."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams import metrics
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.runtime.clients import Clients
from streams.runtime.task import OFFSETS_KEY, Task, offsets_from

log = logging.getLogger("windvane.runtime")


async def restore(
    tasks: list[Task],
    clients: Clients,
    engine: QuoteEngine,
    state_changelog: str,
    days_changelog: str,
    settle: bool = False,
) -> None:
    """Give each of ``tasks`` exactly its committed state and input offsets; with ``settle``
    (every exactly-once restore: a previous owner's transaction, or this worker's own last
    round, whose EndTxn returns before its markers are written) only once no transaction is
    open on their changelog partitions."""
    started = time.perf_counter()
    by_tp: dict[TopicPartition, Task] = {}
    for task in tasks:
        task.fresh_state()
        for name in (state_changelog, days_changelog):
            by_tp[TopicPartition(name, task.partition)] = task
    consumer = clients.restore_consumer()
    count = 0
    try:
        await consumer.start()
        if settle:
            await settled(list(by_tp), clients, consumer)
        consumer.assign(list(by_tp))
        # explicit seeks: seek_to_beginning() raced with the assignment's own offset reset
        starts = await consumer.beginning_offsets(list(by_tp))
        ends = await consumer.end_offsets(list(by_tp))
        for tp, start in starts.items():
            consumer.seek(tp, start)
        pending = {tp for tp, end in ends.items() if end > starts[tp]}
        while pending:
            fetched = await consumer.getmany(*pending, timeout_ms=500, max_records=20000)
            for tp, records in fetched.items():
                task = by_tp[tp]
                for rec in records:
                    if rec.offset >= ends[tp] or rec.key is None:
                        continue
                    count += 1
                    if tp.topic == days_changelog:
                        task.days.load(rec.key, rec.value)
                    elif rec.key == OFFSETS_KEY:
                        task.committed = offsets_from(rec.value, task.partition)
                    else:
                        raw = rec.value
                        state = None if raw is None else SymbolState.from_bytes(raw, engine)
                        task.state.load(rec.key, state)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    elapsed = time.perf_counter() - started
    metrics.RESTORE_SECONDS.observe(elapsed)
    log.info(
        "restored %s changelog records for tasks %s in %.3f s",
        count,
        sorted(t.partition for t in tasks),
        elapsed,
    )


async def settled(
    partitions: list[TopicPartition],
    clients: Clients,
    stable: AIOKafkaConsumer,
    limit: float = 120.0,
) -> None:
    """Wait until no transaction is open on ``partitions``: their committed ends (``stable``,
    a started read_committed consumer) equal their ends. A previous owner's round whose
    offsets were accepted is in the logs already (see
    :class:`~streams.runtime.checkpoint.ExactlyOnceV2`): restoring before its markers are
    written would miss it and replay what it committed. A dead owner's open transaction is
    aborted by the coordinator after the transaction timeout. Past ``limit`` seconds this
    fails loudly rather than restore a state that may be short of a commit."""
    started = time.monotonic()
    probe = clients.uncommitted_consumer()
    warned = started
    try:
        await probe.start()
        while True:
            ends, committed = await asyncio.gather(
                probe.end_offsets(partitions), stable.end_offsets(partitions)
            )
            open_ = sorted(str(tp) for tp in partitions if committed[tp] < ends[tp])
            if not open_:
                return
            now = time.monotonic()
            if now - started > limit:
                raise RuntimeError(f"transactions still open on {open_} after {limit:.0f} s")
            if now - warned > 5:
                warned = now
                log.warning("restore waits for open transactions on %s", open_)
            await asyncio.sleep(0.05)
    finally:
        await probe.stop()
