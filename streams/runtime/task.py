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
from streams.pipeline import OutRecord, QuotePipeline, Result, SourceRecord, dead_letter
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
    dead: list[tuple[str | None, SourceRecord]] = field(default_factory=list)

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
    state: ChangelogStore[SymbolState] = field(default_factory=ChangelogStore)
    days: DayStore = field(default_factory=DayStore)
    producer: AIOKafkaProducer | None = None
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    poison: set[tuple[str, int]] = field(default_factory=set)
    open: Batch = field(default_factory=Batch)
    failed: bool = False  # a commit of this task failed: reset it before it runs again

    def __post_init__(self) -> None:
        self.days.retention_days = self.day_retention

    def fresh_state(self) -> None:
        """Empty state and no committed offsets: what a restore starts from."""
        self.state, self.days = ChangelogStore(), DayStore(self.day_retention)
        self.committed = {}
        self.open = Batch()

    def process(self, records: Iterable[ConsumerRecord[bytes, bytes]], quotes_topic: str) -> None:
        """Run the pipelines over ``records`` (one partition's, in offset order) into the open
        batch. Raises :class:`TaskCorrupted` on a bug in the domain."""
        batch = self.open
        for rec in records:
            started = time.perf_counter()
            source = SourceRecord(rec.topic, rec.partition, rec.offset, rec.timestamp)
            raw = rec.value if rec.value is not None else b""
            if (rec.topic, rec.offset) in self.poison:
                detail = "the domain raised an unexpected error on this record (see the log)"
                result = dead_letter(rec.key, raw, source, INTERNAL_ERROR, detail, utc_now_ms())
            else:
                if rec.topic == quotes_topic:
                    result = self.quotes.process(rec.key, raw, source, self.state, self.days)
                    if result.status == "ok" and rec.key is not None:
                        # a new final day may decide claims that were waiting for it
                        result.records += self.claims.recheck(rec.key, self.days, self.latest)
                else:
                    result = self.claims.check(rec.key, raw, source, self.days, self.latest)
                if result.reason == INTERNAL_ERROR:
                    raise TaskCorrupted((rec.topic, rec.offset))
            batch.records += result.records
            batch.alerts += result.alerts
            if result.status == "deadletter":
                batch.dead.append((result.reason, source))
            batch.offsets[TopicPartition(rec.topic, rec.partition)] = rec.offset + 1
            _count(result, source, started)

    def take_commit(self) -> Commit:
        """The open batch and the state it changed, as a :class:`Commit`; a new batch opens.
        Values are encoded now: later records cannot leak into this commit."""
        batch, self.open = self.open, Batch()
        states = [(k, None if v is None else v.to_bytes()) for k, v in self.state.take_changes()]
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


def _count(result: Result, source: SourceRecord, started: float) -> None:
    m = _TOPIC_METRICS.get(source.topic)
    if m is None:
        m = _TOPIC_METRICS[source.topic] = _TopicMetrics(source.topic)
    m.records_in.inc()
    if result.status == "duplicate":
        m.duplicates.inc()
    if result.event_ms is not None:
        m.lag.observe(max(0.0, utc_now_ms() - result.event_ms) / 1000)
    m.seconds.observe(time.perf_counter() - started)
