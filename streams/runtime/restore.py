"""Restoring tasks from their changelogs: each task's partitions of the state and day
changelogs, read (``read_committed``) from the beginning up to their end."""

from __future__ import annotations

import logging
import time

from aiokafka import TopicPartition

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
) -> None:
    """Give each of ``tasks`` exactly its committed state and input offsets."""
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
