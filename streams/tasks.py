"""The quote path's runtime: Kafka Streams' task model on aiokafka.

Partition ``p`` of every co-partitioned input (``quotes.raw``, ``claims.bysymbol``) is one
*task*. A task owns the live state of the symbols hashed to ``p`` (in memory) and two
compacted changelogs (partition ``p`` of each) that make that state durable. The loop reads a
batch, runs the pure pipeline over each task's records, then commits the task's batch:

* **exactly_once** (default): one transactional producer per task (transactional id
  ``<app>-quotes-<p>``: a restarted or new owner fences the old one and aborts its open
  transaction). The outputs, the changelog entries of the states the batch touched and the
  input offsets go into one transaction. Nothing of a batch is visible to a
  ``read_committed`` reader unless all of it is, and state restored from the changelog is
  always exactly the state after the committed offset.
* **at_least_once**: one idempotent producer; outputs and changelog are flushed, then the
  offsets committed. A crash replays at most the last batch (duplicates, never losses).

Why not Faust's agents for this path: faust-streaming 0.15.3's exactly-once loses and
duplicates outputs across SIGKILL restarts and crashes with ``ConsistencyError`` on a
rebalance (see the README's Reliability section), and its per-event machinery costs ~1 ms of
CPU per record. The article path stays on Faust agents (at-least-once, deduplicated by
content hash); this runtime runs inside the same Faust worker as a service.

A record that raises an unexpected error inside the domain (a bug) may have half-changed its
symbol's state; the task then discards its uncommitted batch, restores its state from the
changelog and replays, dead-lettering that one record (Kafka Streams' "task corrupted").
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import ProducerFenced

from streams import metrics
from streams.article_pipeline import ArticlePipeline
from streams.config import CLAIMS_BYSYMBOL, QUOTES_RAW, Settings
from streams.domain.alert_text import summary
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.domain.reasons import INTERNAL_ERROR
from streams.domain.timeutil import utc_now_ms
from streams.pipeline import OutRecord, QuotePipeline, Result, SourceRecord, dead_letter

log = logging.getLogger("windvane.tasks")

V = TypeVar("V")

OFFSETS_KEY = b""
"""Key of a task's input offsets in its state changelog (symbols are never empty)."""


def _offsets_value(offsets: dict[TopicPartition, int]) -> bytes:
    return orjson.dumps({tp.topic: offset for tp, offset in offsets.items()})


def _offsets_from(raw: bytes | None, partition: int) -> dict[TopicPartition, int]:
    if not raw:
        return {}
    return {TopicPartition(t, partition): int(o) for t, o in orjson.loads(raw).items()}


class Tracked(dict[bytes, V]):
    """A dict that remembers which keys were written since :meth:`take_dirty`."""

    def __init__(self) -> None:
        super().__init__()
        self.dirty: set[bytes] = set()

    def __setitem__(self, key: bytes, value: V) -> None:
        super().__setitem__(key, value)
        self.dirty.add(key)

    def take_dirty(self) -> set[bytes]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    def load(self, key: bytes, value: V | None) -> None:
        """Apply a restored changelog record (None: a tombstone); not dirty."""
        if value is None:
            super().pop(key, None)
        else:
            super().__setitem__(key, value)


class TaskCorrupted(Exception):
    """The task's in-memory state may differ from its committed state: restore it."""

    def __init__(self, poison: tuple[str, int] | None) -> None:
        super().__init__(f"task corrupted at {poison}")
        self.poison = poison


@dataclass
class Batch:
    """What one task's batch produced, ready to commit."""

    records: list[OutRecord] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)  # next offset to read
    alerts: list[dict[str, Any]] = field(default_factory=list)
    # (reason, source) of each dead letter: counted once the batch is committed, like the
    # alerts (a batch that is discarded and replayed must not count its dead letters twice)
    dead: list[tuple[str | None, SourceRecord]] = field(default_factory=list)


@dataclass
class Task:
    """Partition ``partition`` of the co-partitioned inputs, with its state."""

    partition: int
    quotes: QuotePipeline
    claims: ArticlePipeline
    state: Tracked[SymbolState] = field(default_factory=Tracked)
    days: Tracked[bytes] = field(default_factory=Tracked)
    producer: AIOKafkaProducer | None = None
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    poison: set[tuple[str, int]] = field(default_factory=set)

    def process(self, records: Iterable[ConsumerRecord[bytes, bytes]], quotes_topic: str) -> Batch:
        """Run the pipelines over ``records`` (one partition's, in offset order). Pure but
        for the task's state; raises :class:`TaskCorrupted` on a bug in the domain."""
        batch = Batch()
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
        return batch

    def latest(self, symbol: str) -> str | None:
        """The latest trading day whose close is final in ``symbol``'s state."""
        state = self.state.get(symbol.encode("utf-8"))
        return state.last_final_day if state is not None else None

    def changelog(self) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
        """The latest value of every state and day written since the last commit."""
        states = [(k, self.state[k].to_bytes()) for k in self.state.take_dirty()]
        days = [(k, self.days[k]) for k in self.days.take_dirty()]
        return states, days


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


class QuoteTasks(ConsumerRebalanceListener):
    """Consumes the quote path's inputs in its own consumer group and runs its tasks."""

    def __init__(
        self,
        settings: Settings,
        engine: QuoteEngine,
        claims: ArticlePipeline,
        clock: Callable[[], int] = utc_now_ms,
        max_records: int = 4000,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.quotes = QuotePipeline(engine, clock)  # stateless: shared by every task
        self.claims = claims
        self.max_records = max_records
        self.exactly_once = settings.processing_guarantee == "exactly_once"
        self.group_id = f"{settings.app_id}-quotes"
        self.quotes_topic = settings.topic(QUOTES_RAW)
        self.inputs = [self.quotes_topic, settings.topic(CLAIMS_BYSYMBOL)]
        self.state_changelog = f"{settings.app_id}-quote-state-changelog"
        self.days_changelog = f"{settings.app_id}-quote-days-changelog"
        self.tasks: dict[int, Task] = {}
        self.suspended: dict[int, Task] = {}
        self.restoring = False
        self.started = False
        self._generation = 0
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None  # at-least-once only
        self._stopping = asyncio.Event()

    @property
    def changelogs(self) -> list[str]:
        return [self.state_changelog, self.days_changelog]

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self.settings.client_kwargs(),
            group_id=self.group_id,
            client_id=f"{self.group_id}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            # co-partitioned inputs: partition p of both topics goes to the same worker
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=int(self.settings.session_timeout * 1000),
            heartbeat_interval_ms=int(min(3.0, self.settings.session_timeout / 4) * 1000),
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        if not self.exactly_once:
            self._producer = self._new_producer(None)
            await self._producer.start()
        await self._consumer.start()
        self._consumer.subscribe(self.inputs, listener=self)
        self.started = True

    async def stop(self) -> None:
        self._stopping.set()
        async with self._lock:
            if self._consumer is not None:
                await self._consumer.stop()  # revokes: the listener closes the tasks
            for task in [*self.tasks.values(), *self.suspended.values()]:
                await self._close(task)
            self.tasks.clear()
            self.suspended.clear()
            if self._producer is not None:
                await self._producer.stop()

    @property
    def ready(self) -> bool:
        return self.started and not self.restoring and bool(self.tasks)

    async def run(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while not self._stopping.is_set():
            generation = self._generation
            fetched = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
            if not fetched:
                continue
            async with self._lock:
                if generation != self._generation:
                    # a rebalance came between: these records may predate its seeks, and
                    # the positions may be past them; drop them and read again
                    self._rewind()
                    continue
                by_task: dict[int, list[ConsumerRecord[bytes, bytes]]] = defaultdict(list)
                for tp, records in fetched.items():
                    by_task[tp.partition] += records
                # tasks commit concurrently: under exactly-once each has its own producer and
                # transaction; under at-least-once one offset commit follows all their sends
                runs = [
                    self._run_batch(self.tasks[partition], records)
                    for partition, records in by_task.items()
                    if partition in self.tasks
                ]
                done = [offsets for offsets in await asyncio.gather(*runs) if offsets]
                if done and not self.exactly_once:
                    await consumer.commit({tp: o for offsets in done for tp, o in offsets.items()})
                self._observe_lag(fetched)

    # -- one batch -------------------------------------------------------------------------

    async def _run_batch(
        self, task: Task, records: list[ConsumerRecord[bytes, bytes]]
    ) -> dict[TopicPartition, int] | None:
        """Process and commit one task's records; the offsets it committed, or None."""
        # aiokafka can hand out a range again after a seek to where it was already reading
        # (seen on resumed tasks); the task knows what it has committed: skip what is below
        done = task.committed
        records = [
            r for r in records if r.offset >= done.get(TopicPartition(r.topic, r.partition), 0)
        ]
        if not records:
            return None
        # two topics: each in offset order, interleaved by timestamp (a stable merge)
        quotes = [r for r in records if r.topic == self.quotes_topic]
        claims = [r for r in records if r.topic != self.quotes_topic]
        merged = heapq.merge(quotes, claims, key=lambda r: r.timestamp) if claims else quotes
        try:
            batch = task.process(merged, self.quotes_topic)
            await self._commit(task, batch)
        except ProducerFenced:
            log.error("task %s: producer fenced by a newer owner; stopping", task.partition)
            raise
        except TaskCorrupted as exc:
            log.error("task %s: %s; restoring it from the changelog", task.partition, exc)
            if exc.poison is not None:
                task.poison.add(exc.poison)
            await self._reset(task)
            return None
        except Exception:
            log.exception("task %s: commit failed; restoring it from the changelog", task.partition)
            await self._reset(task)
            return None
        for reason, source in batch.dead:
            metrics.dead_lettered(reason, source.topic, source.partition, source.offset)
        for alert in batch.alerts:
            metrics.ALERTS.labels(alert["rule"], alert["direction"]).inc()
            log.info(
                "alert %s %s %s %s",
                alert["id"][:12],
                alert["symbol"],
                alert["trading_day"],
                summary(alert),
            )
        return batch.offsets

    async def _commit(self, task: Task, batch: Batch) -> None:
        states, days = task.changelog()
        # the task's input offsets go into its state changelog, in the same transaction as
        # the states: a restore reads both from one partition, consistent by construction
        offsets = {**task.committed, **batch.offsets}
        states.append((OFFSETS_KEY, _offsets_value(offsets)))
        if task.producer is not None:  # exactly-once
            producer = task.producer
            async with producer.transaction():  # aborts on an exception
                await self._send_all(producer, task, batch, states, days)
                await producer.send_offsets_to_transaction(batch.offsets, self.group_id)
        else:  # at-least-once: the run loop commits the group offsets after every task's sends
            assert self._producer is not None
            futures = await self._send_all(self._producer, task, batch, states, days)
            await asyncio.gather(*futures)
        task.committed = offsets
        for logical, n in Counter(rec.topic for rec in batch.records).items():
            metrics.RECORDS_OUT.labels(self.settings.topic(logical)).inc(n)

    async def _send_all(
        self,
        producer: AIOKafkaProducer,
        task: Task,
        batch: Batch,
        states: list[tuple[bytes, bytes]],
        days: list[tuple[bytes, bytes]],
    ) -> list[asyncio.Future[Any]]:
        topic = self.settings.topic
        futures = [
            await producer.send(topic(rec.topic), value=rec.value, key=rec.key)
            for rec in batch.records
        ]
        for name, entries in ((self.state_changelog, states), (self.days_changelog, days)):
            for key, value in entries:
                futures.append(
                    await producer.send(name, value=value, key=key, partition=task.partition)
                )
        return futures

    def _observe_lag(self, fetched: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> None:
        assert self._consumer is not None
        for tp, records in fetched.items():
            try:
                highwater = self._consumer.highwater(tp)
            except Exception:  # not assigned any more
                continue
            if highwater is not None and records:
                behind = max(0, highwater - records[-1].offset - 1)
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(behind)

    # -- tasks: create, restore, close ------------------------------------------------------

    def _new_producer(self, partition: int | None) -> AIOKafkaProducer:
        common: dict[str, Any] = {
            **self.settings.client_kwargs(),
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 5,
            "max_batch_size": 256 * 1024,
        }
        if partition is None:
            return AIOKafkaProducer(client_id=f"{self.group_id}-producer", **common)
        return AIOKafkaProducer(
            client_id=f"{self.group_id}-{partition}",
            transactional_id=f"{self.settings.app_id}-quotes-{partition}",
            transaction_timeout_ms=60000,
            # a transaction right after the previous one's commit is refused with
            # CONCURRENT_TRANSACTIONS until its markers are written; retry soon, as the
            # Java client does (its 20 ms special case), not after the default 100 ms
            retry_backoff_ms=20,
            **common,
        )

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._lock:
            self._generation += 1
            for tp in revoked:  # its lag is another worker's to report now
                with contextlib.suppress(KeyError):
                    metrics.CONSUMER_LAG.remove(tp.topic, str(tp.partition))
            for partition in {tp.partition for tp in revoked}:
                task = self.tasks.pop(partition, None)
                if task is not None:
                    self.suspended[partition] = task  # kept if it comes back to us

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        async with self._lock:
            self._generation += 1
            self.restoring = True
            try:
                await self._assign({tp.partition for tp in assigned})
            finally:
                self.restoring = False

    async def _assign(self, partitions: set[int]) -> None:
        assert self._consumer is not None
        for partition in list(self.suspended):
            if partition not in partitions:
                await self._close(self.suspended.pop(partition))
        fresh: list[Task] = []
        for partition in sorted(partitions):
            task = self.suspended.pop(partition, None)
            if task is None:
                task = Task(partition, self.quotes, self.claims)
                fresh.append(task)
            self.tasks[partition] = task
        # A new transactional producer for every task, resumed ones too: its initialisation
        # fences any other owner and returns only once that id's last transaction is
        # complete, markers written; only then are the committed offsets read below stable
        # (aiokafka's OffsetFetch has no require_stable).
        for task in self.tasks.values():
            await self._close(task)
        producers = [self._start_producer(t.partition) for t in self.tasks.values()]
        for task, producer in zip(
            self.tasks.values(), await asyncio.gather(*producers), strict=True
        ):
            task.producer = producer
        # A resumed task keeps its state unless someone else committed past it meanwhile.
        for task in self.tasks.values():
            if task in fresh:
                continue
            tps = [TopicPartition(t, task.partition) for t in self.inputs]
            committed = {tp: await self._consumer.committed(tp) for tp in tps}
            if any((committed[tp] or 0) > task.committed.get(tp, 0) for tp in tps):
                log.warning(
                    "task %s: committed offsets %s are past the task's own %s: restoring it",
                    task.partition,
                    {tp.topic: committed[tp] for tp in tps},
                    {tp.topic: task.committed.get(tp) for tp in tps},
                )
                fresh.append(task)
        if fresh:
            await self._restore(fresh)
        for task in self.tasks.values():
            self._seek_committed(task)
        log.info(
            "tasks assigned: %s (restored %s)",
            sorted(self.tasks),
            sorted(t.partition for t in fresh),
        )

    async def _start_producer(self, partition: int) -> AIOKafkaProducer | None:
        if not self.exactly_once:
            return None
        producer = self._new_producer(partition)
        await producer.start()  # init_transactions: fences the previous owner
        return producer

    async def _close(self, task: Task) -> None:
        if task.producer is not None:
            await task.producer.stop()
            task.producer = None

    def _seek_committed(self, task: Task) -> None:
        """Position the task's inputs at its committed offsets, or at offset 0 when it has
        none (below the log start, the consumer's reset policy "earliest" takes over).
        No broker call: aiokafka's seek_to_beginning()/beginning_offsets() here took ~0.5 s
        per partition and once never returned."""
        assert self._consumer is not None
        for t in self.inputs:
            tp = TopicPartition(t, task.partition)
            self._consumer.seek(tp, task.committed.get(tp, 0))
        log.info(
            "task %s: inputs at %s",
            task.partition,
            {tp.topic: o for tp, o in task.committed.items()},
        )

    def _rewind(self) -> None:
        for task in self.tasks.values():
            self._seek_committed(task)

    async def _reset(self, task: Task) -> None:
        """Drop the task's uncommitted changes: fresh state from the changelog, inputs from
        the committed offsets."""
        self._seek_committed(task)
        await self._restore([task])

    async def _restore(self, tasks: list[Task]) -> None:
        """Read each task's changelog partitions up to their end (read_committed)."""
        started = time.perf_counter()
        by_tp: dict[TopicPartition, Task] = {}
        for task in tasks:
            task.state, task.days = Tracked(), Tracked()
            task.committed = {}
            for name in self.changelogs:
                by_tp[TopicPartition(name, task.partition)] = task
        consumer = AIOKafkaConsumer(
            **self.settings.client_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            client_id=f"{self.group_id}-restore",
        )
        await consumer.start()
        count = 0
        try:
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
                        if tp.topic == self.days_changelog:
                            task.days.load(rec.key, rec.value)
                        elif rec.key == OFFSETS_KEY:
                            task.committed = _offsets_from(rec.value, task.partition)
                        else:
                            raw = rec.value
                            state = (
                                None if raw is None else SymbolState.from_bytes(raw, self.engine)
                            )
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

    # -- queries (dashboard) ---------------------------------------------------------------

    def symbol_state(self, symbol: bytes) -> SymbolState | None:
        return next((t.state[symbol] for t in self.tasks.values() if symbol in t.state), None)

    def day(self, key: bytes) -> bytes | None:
        return next((t.days[key] for t in self.tasks.values() if key in t.days), None)
