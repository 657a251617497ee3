"""A round the group refuses (``exactly_once_v2``: stale generation) is aborted on the broker,
so nothing of it is ever committed, not even by the next round.

aiokafka's transaction manager forgets a transaction's partitions when it enters its error
state, so an in-place ``abort_transaction()`` ends locally without an EndTxn: the broker's
transaction stays open and the next round's commit made the refused round's outputs visible
(the full crash_restart scenario saw alerts committed by two workers). Real broker, real
consumer group, the real checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.config import QUOTES_RAW, QUOTES_SIGNALS, Settings
from streams.pipeline import OutRecord
from streams.runtime.checkpoint import ExactlyOnceV2
from streams.runtime.clients import Clients
from streams.runtime.task import Batch, Commit, Task
from tests.kafka_harness import Namespace, consume_until

pytestmark = pytest.mark.integration


def commit(task: Task, value: bytes, offset: int, raw: str) -> Commit:
    tp = TopicPartition(raw, 0)
    batch = Batch(records=[OutRecord(QUOTES_SIGNALS, b"SYM", value)], offsets={tp: offset})
    return Commit(task, batch, [(b"SYM", value)], [], {tp: offset})


async def test_a_refused_round_is_never_committed(ns: Namespace, tmp_path: Path) -> None:
    settings = Settings(
        bootstrap_servers=ns.bootstrap, app_id=ns.app_id, topic_prefix=ns.prefix,
        data_dir=tmp_path,
    )  # fmt: skip
    raw, signals = settings.topic(QUOTES_RAW), settings.topic(QUOTES_SIGNALS)
    state, days = f"{ns.app_id}-quote-state-changelog", f"{ns.app_id}-quote-days-changelog"
    admin = AIOKafkaAdminClient(bootstrap_servers=ns.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 1, 1) for t in (raw, signals, state, days)])
    finally:
        await admin.close()
    clients = Clients(settings)
    member = clients.consumer()  # a real member of the quote group: a real generation
    await member.start()
    member.subscribe([raw])
    checkpoint: ExactlyOnceV2 | None = None
    try:
        while not member.assignment():
            await member.getmany(timeout_ms=200)
        coordinator = cast(Any, member)._coordinator
        current = (coordinator.generation, coordinator.member_id)
        stale = (current[0] - 1, current[1])
        metadata = [stale]
        checkpoint = ExactlyOnceV2(clients, settings.topic, state, days, member=lambda: metadata[0])
        await checkpoint.start()
        task = Task(0, cast(Any, None), cast(Any, None))

        refused = await checkpoint.commit([commit(task, b'{"round":"refused"}', 5, raw)])
        assert refused.fenced == [task], refused

        metadata[0] = current
        accepted = await checkpoint.commit([commit(task, b'{"round":"accepted"}', 7, raw)])
        assert accepted.fenced == [] and accepted.failed == [], accepted
    finally:
        if checkpoint is not None:
            await checkpoint.stop()
        await member.stop()
    seen = await consume_until(ns.bootstrap, signals, 1, timeout=30)
    assert [v for _, v in seen] == [{"round": "accepted"}]
    # and the group's offsets are the accepted round's
    reader = AIOKafkaConsumer(bootstrap_servers=ns.bootstrap, group_id=clients.group_id)
    await reader.start()
    try:
        assert await reader.committed(TopicPartition(raw, 0)) == 7
    finally:
        await reader.stop()
