"""Exactly-once for agents' outputs and state.

Faust's transaction manager picks a record's transactional producer from the *output*
partition and topic group. Topics an app only writes to belong to no group, so their
records bypassed transactions altogether (found by the SIGKILL test: outputs missing and
duplicated after restarts). Kafka Streams instead writes every output of a task through the
task's producer: the one whose transaction also commits the task's input offsets. This
manager does the same: a record sent while an event is being processed goes through the
producer of that event's source partition.

Second, Faust commits in a background task while agents run, so a transaction could commit
an event's changelog writes but not its offset (it was not acked yet), or the reverse; after
a crash the restored state was then ahead of the input (late dead letters, missing alerts).
Here an agent processes each event, sends and acks it inside :func:`processing_lock`, and the
consumer commits only while holding it, after draining the buffer of changelog writes: every
transaction holds whole events, like Kafka Streams' commit between records of a task.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from faust.streams import current_event
from faust.transport.consumer import TransactionManager
from faust.transport.drivers.aiokafka import Consumer

_LOCKS: dict[int, asyncio.Lock] = {}


def processing_lock() -> asyncio.Lock:
    """One lock per event loop (a worker has one; tests make several)."""
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(id(loop))
    if lock is None:
        lock = _LOCKS[id(loop)] = asyncio.Lock()
    return lock


async def drain_changelog(app: Any) -> None:
    """Hand this event's table writes to the transactional producer now.

    Faust queues changelog records (a table's ``__setitem__`` is synchronous) and a
    background task sends them later, possibly after the next commit. Called right after
    the synchronous domain step, before any ``await``, this takes every queued record, so
    they join the transaction of the event that wrote them."""
    buffer = app.producer.buffer
    pending: list[Any] = []
    while True:
        try:
            pending.append(buffer.pending.get_nowait())
        except asyncio.QueueEmpty:
            break
    for fut in pending:
        await buffer._send_pending(fut)
    if pending:
        buffer.message_sent.set()


@asynccontextmanager
async def whole_event(event: Any, exactly_once: bool) -> AsyncIterator[None]:
    """Process, send and ack one event with no commit in between (exactly-once only)."""
    if not exactly_once:
        yield
        return
    async with processing_lock():
        yield
        event.ack()


class WholeEventConsumer(Consumer):
    async def commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        async with processing_lock():
            await self.app.producer.buffer.flush()  # changelog writes of acked events
            return bool(await super().commit(topics, start_new_transaction=start_new_transaction))


class SourcePartitionTransactions(TransactionManager):
    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Any:
        event = current_event()
        if event is not None:
            tp = event.message.tp
            try:
                group = self.app.assignor.group_for_topic(tp.topic)
            except KeyError:
                group = None
            if group is not None:
                return await self.producer.send(
                    topic,
                    key,
                    value,
                    partition,
                    timestamp,
                    headers,
                    transactional_id=f"{self.app.conf.id}-{group}-{tp.partition}",
                )
        return await super().send(
            topic, key, value, partition, timestamp, headers, transactional_id=transactional_id
        )
