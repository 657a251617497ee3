"""A task: partition ``p`` of the co-partitioned inputs, the state of the symbols hashed to
``p``, and the work it has done since its last commit."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition

from streams import metrics
from streams.article_pipeline import ArticlePipeline
from streams.domain.quotes import SymbolState
from streams.domain.reasons import INTERNAL_ERROR
from streams.domain.timeutil import utc_now_ms
from streams.pipeline import Origin, OutRecord, QuotePipeline, SourceRecord, dead_letter
from streams.runtime.store import ChangelogStore, DayStore

OFFSETS_KEY = b""
"""Key of a task's input offsets in its state changelog (symbols are never empty)."""


def offsets_value(offsets: dict[TopicPartition, int]) -> bytes:
    return orjson.dumps({tp.topic: offset for tp, offset in offsets.items()})


def offsets_from(raw: bytes | None, partition: int) -> dict[TopicPartition, int]:
    if not raw:
        return {}
    return {TopicPartition(t, partition): int(o) for t, o in orjson.loads(raw).items()}


class TaskCorrupted(Exception):
    """The task's in-memory state may differ from its committed state: restore it."""

    def __init__(self, poison: tuple[str, int] | None) -> None:
        super().__init__(f"task corrupted at {poison}")
        self.poison = poison


@dataclass
class Batch:
    """What a task has produced since its last commit, ready to commit."""

    records: list[OutRecord] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)  # next offset to read
    alerts: list[dict[str, Any]] = field(default_factory=list)
    # (reason, source) of each dead letter: counted once the batch is committed, like the
    # alerts (a batch that is discarded and replayed must not count its dead letters twice)
    dead: list[tuple[str | None, Origin]] = field(default_factory=list)
    # records[:sent] were handed to the producer already, ahead of the commit (the
    # checkpoint's flow: in the open transaction, or at-least-once straight out)
    sent: int = 0

    def __bool__(self) -> bool:
        return bool(self.offsets)


@dataclass
class Commit:
    """One task's unit of commit: its outputs, the changelog entries of the state they came
    from, and the input offsets after them (all or nothing under exactly-once)."""

    task: Task
    batch: Batch
    states: list[tuple[bytes, bytes | None]]
    days: list[tuple[bytes, bytes | None]]
    offsets: dict[TopicPartition, int]  # every input of the task, after this commit


@dataclass
class Task:
    """Partition ``partition`` of the co-partitioned inputs, with its state."""

    partition: int
    quotes: QuotePipeline
    claims: ArticlePipeline
    day_retention: int = 0
    state_format: int = 2  # of the state records written (WINDVANE_STATE_FORMAT)
    state: ChangelogStore[SymbolState] = field(default_factory=ChangelogStore)
    days: DayStore = field(init=False)  # with the task's retention (__post_init__)
    producer: AIOKafkaProducer | None = None
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    poison: set[tuple[str, int]] = field(default_factory=set)
    open: Batch = field(default_factory=Batch)
    failed: bool = False  # a commit of this task failed: reset it before it runs again

    def __post_init__(self) -> None:
        self.days = DayStore(self.day_retention)

    def fresh_state(self) -> None:
        """Empty state and no committed offsets: what a restore starts from."""
        self.state, self.days = ChangelogStore(), DayStore(self.day_retention)
        self.committed = {}
        self.open = Batch()

    def process(self, records: Iterable[ConsumerRecord[bytes, bytes]], quotes_topic: str) -> None:
        """Run the pipelines over ``records`` (one partition's, in offset order) into the open
        batch. Raises :class:`TaskCorrupted` on a bug in the domain.

        Metrics are counted once per call, not once per record: records in and duplicates by
        count, the processing time as the call's mean per record (one observation per
        record), the processing lag of each record against one clock read."""
        batch = self.open
        out, alerts, dead = batch.records, batch.alerts, batch.dead
        quotes, recheck = self.quotes.process, self.claims.recheck
        state, days, latest, poison = self.state, self.days, self.latest, self.poison
        counts: dict[str, list[int]] = {}  # topic -> [records, duplicates]
        events: list[int] = []  # event times (ms) of the quote records processed
        last: dict[str, ConsumerRecord[bytes, bytes]] = {}  # topic -> its last record here
        started = time.perf_counter()
        try:
            for rec in records:
                topic = rec.topic
                raw = rec.value if rec.value is not None else b""
                if poison and (topic, rec.offset) in poison:
                    detail = "the domain raised an unexpected error on this record (see the log)"
                    result = dead_letter(rec.key, raw, rec, INTERNAL_ERROR, detail, utc_now_ms())
                else:
                    if topic == quotes_topic:
                        result = quotes(rec.key, raw, rec, state, days)
                        if result.status == "ok" and rec.key is not None:
                            # a new final day may decide claims that were waiting for it
                            result.records += recheck(rec.key, days, latest)
                    else:
                        source = SourceRecord(topic, rec.partition, rec.offset, rec.timestamp)
                        result = self.claims.check(rec.key, raw, source, days, latest)
                    if result.reason == INTERNAL_ERROR:
                        raise TaskCorrupted((topic, rec.offset))
                status = result.status
                if status == "ok":
                    if result.event_ms is not None:
                        events.append(result.event_ms)
                elif status == "deadletter":
                    dead.append((result.reason, rec))
                out += result.records
                if result.alerts:
                    alerts += result.alerts
                last[topic] = rec
                count = counts.get(topic)
                if count is None:
                    count = counts[topic] = [0, 0]
                count[0] += 1
                if status == "duplicate":
                    count[1] += 1
        finally:
            for topic, rec in last.items():
                batch.offsets[TopicPartition(topic, rec.partition)] = rec.offset + 1
            _count(counts, quotes_topic, events, time.perf_counter() - started)

    def take_commit(self) -> Commit:
        """The open batch and the state it changed, as a :class:`Commit`; a new batch opens.
        Values are encoded now: later records cannot leak into this commit."""
        batch, self.open = self.open, Batch()
        version = self.state_format
        states = [
            (k, None if v is None else v.to_bytes(version)) for k, v in self.state.take_changes()
        ]
        return Commit(
            self,
            batch,
            states,
            self.days.take_changes(),
            {
                **self.committed,
                **batch.offsets,
            },
        )

    def position(self) -> dict[TopicPartition, int]:
        """The next offset to process of each input: committed, then the open batch."""
        return {**self.committed, **self.open.offsets}

    def latest(self, symbol: str) -> str | None:
        """The latest trading day whose close is final in ``symbol``'s state."""
        state = self.state.get(symbol.encode("utf-8"))
        return state.last_final_day if state is not None else None


class _TopicMetrics:
    """The labelled metric children of one input topic, looked up once (hot path)."""

    def __init__(self, topic: str) -> None:
        self.records_in = metrics.RECORDS_IN.labels(topic)
        self.duplicates = metrics.DUPLICATES.labels(topic)
        self.lag = metrics.PROCESSING_LAG.labels(topic)
        self.seconds = metrics.PROCESSING_SECONDS.labels(topic)


_TOPIC_METRICS: dict[str, _TopicMetrics] = {}


def _topic_metrics(topic: str) -> _TopicMetrics:
    m = _TOPIC_METRICS.get(topic)
    if m is None:
        m = _TOPIC_METRICS[topic] = _TopicMetrics(topic)
    return m


def _count(
    counts: dict[str, list[int]], quotes_topic: str, events: list[int], elapsed: float
) -> None:
    """One call's metrics: ``counts`` (topic -> [records, duplicates]), the event times of
    its quote records (lag against one clock read) and its time (the mean per record)."""
    total = sum(n for n, _ in counts.values())
    if not total:
        return
    per_record = elapsed / total
    for topic, (n, duplicates) in counts.items():
        m = _topic_metrics(topic)
        m.records_in.inc(n)
        if duplicates:
            m.duplicates.inc(duplicates)
        metrics.observe_many(m.seconds, per_record, n)
    if events:
        now = utc_now_ms()
        lags = [max(0, now - e) / 1000 for e in events]
        metrics.observe_all(_topic_metrics(quotes_topic).lag, lags)
