"""The task loop: one consumer in the group ``<app>-quotes``, its partitions as tasks, and a
loop that keeps fetching and processing while the previous commit is in flight.

A commit round starts when ``commit_interval`` has passed since the last one started and the
last one has finished (Kafka Streams' ``commit.interval.ms``); it takes each busy task's
open batch and changed state at that instant (:meth:`Task.take_commit`), so records
processed while it is in flight go to the next round. Between rounds, outputs go out as they
are processed (:meth:`Checkpoint.flow`), so a round adds only state and offsets. A task
whose commit fails is reset (state from the changelog, inputs from its committed offsets)
before it runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import logging
import time
from collections import defaultdict
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from streams import metrics
from streams.article_pipeline import ArticlePipeline
from streams.config import CLAIMS_BYSYMBOL, QUOTES_RAW, Settings
from streams.domain.alert_text import summary
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.domain.timeutil import utc_now_ms
from streams.pipeline import QuotePipeline
from streams.runtime.checkpoint import (
    AtLeastOnce,
    Checkpoint,
    ExactlyOnce,
    ExactlyOnceV2,
    Outcome,
)
from streams.runtime.clients import Clients
from streams.runtime.restore import restore
from streams.runtime.task import Commit, Task, TaskCorrupted

log = logging.getLogger("windvane.runtime")

Fetched = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]

STATE_STORE = "quote-state"
"""Each task's symbol states (and its input offsets); changelog ``<app>-quote-state-changelog``."""
DAYS_STORE = "quote-days"
"""Each task's final days and pending claims; changelog ``<app>-quote-days-changelog``."""


GC_THRESHOLDS = (50_000, 20, 100)
"""The cyclic collector's thresholds in a worker (CPython's are 700, 10, 10): a record's
objects live until its round commits, long enough to be promoted at 700 allocations and
scanned again by every older collection; at 50,000 most are gone by the first. With
``gc.freeze()`` after each assignment (restored state skipped by later collections), the
at-least-once quote path's latency at 5,000 bars/s went from p50 99 / p99 689 ms to 53 / 564
and its throughput 1.3x (medians of three runs each of ``bench/quotes.py --records 20000
--live-seconds 15``; full collections had paused the loop 50-150 ms every few seconds)."""


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
        # stateless: shared by every task
        self.quotes = QuotePipeline(engine, clock, settings.signal_shape)
        self.claims = claims
        self.max_records = max_records
        self.commit_interval = settings.commit_interval_ms / 1000
        self.max_open_records = 50_000  # outputs waiting for a commit before fetching pauses
        self.exactly_once = settings.processing_guarantee.startswith("exactly_once")
        self.clients = Clients(settings)
        self.group_id = self.clients.group_id
        self.quotes_topic = settings.topic(QUOTES_RAW)
        self.inputs = [self.quotes_topic, settings.topic(CLAIMS_BYSYMBOL)]
        # Kafka Streams' naming: <application id>-<store>-changelog
        self.state_changelog = f"{settings.app_id}-{STATE_STORE}-changelog"
        self.days_changelog = f"{settings.app_id}-{DAYS_STORE}-changelog"
        args = (self.clients, settings.topic, self.state_changelog, self.days_changelog)
        self.checkpoint: Checkpoint
        if settings.processing_guarantee == "exactly_once_v2":
            self.checkpoint = ExactlyOnceV2(*args, member=self._member)
        elif self.exactly_once:
            self.checkpoint = ExactlyOnce(*args)
        else:
            self.checkpoint = AtLeastOnce(*args, consumer=self._c)
        self.tasks: dict[int, Task] = {}
        self.suspended: dict[int, Task] = {}
        self.restoring = False
        self.started = False
        self._generation = 0
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        self._inflight: asyncio.Task[Outcome] | None = None
        self._last_commit = 0.0
        self._assigned_member: tuple[int, str] = (-1, "")

    def _c(self) -> AIOKafkaConsumer | None:
        return self._consumer

    def _member(self) -> tuple[int, str]:
        """The group generation and member id the tasks were assigned under, sent with a
        round's offsets under exactly_once_v2. Taken at assignment, not read at commit time:
        a zombie's consumer resets them to (-1, "") when it learns it was evicted, and the
        coordinator skips its check for those values, so the zombie's last commit (on revoke)
        would pass."""
        return self._assigned_member

    def _note_member(self) -> None:
        coordinator = getattr(self._consumer, "_coordinator", None)  # no public API for it
        if coordinator is not None:
            self._assigned_member = (coordinator.generation, coordinator.member_id)

    @property
    def changelogs(self) -> list[str]:
        return [self.state_changelog, self.days_changelog]

    @property
    def stores(self) -> dict[str, str]:
        """Each task's state stores, by name, with their changelogs."""
        return {STATE_STORE: self.state_changelog, DAYS_STORE: self.days_changelog}

    @property
    def sinks(self) -> list[str]:
        """The topics the tasks write to (deployed names): the quote pipeline's and the
        claim checks' (the steps :meth:`Task.process` runs)."""
        logical = dict.fromkeys([*QuotePipeline.SINKS, *ArticlePipeline.CHECK_SINKS])
        return [self.settings.topic(t) for t in logical]

    @property
    def guarantee(self) -> str:
        return self.settings.processing_guarantee

    def assignment(self) -> dict[str, list[int]]:
        """The partitions of each input assigned to this worker's consumer now."""
        assigned = self._consumer.assignment() if self._consumer is not None else set()
        return {t: sorted(tp.partition for tp in assigned if tp.topic == t) for t in self.inputs}

    def _task(self, partition: int) -> Task:
        s = self.settings
        return Task(partition, self.quotes, self.claims, s.day_retention_days, s.state_format)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        gc.set_threshold(*GC_THRESHOLDS)
        self._consumer = self.clients.consumer()
        await self.checkpoint.start()
        await self._consumer.start()
        self._consumer.subscribe(self.inputs, listener=self)
        self.started = True

    async def stop(self) -> None:
        self._stopping.set()
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._commit_everything()
            if self._consumer is not None:
                await self._consumer.stop()  # revokes: the listener commits and suspends
            for task in [*self.tasks.values(), *self.suspended.values()]:
                await self.checkpoint.close(task)
            self.tasks.clear()
            self.suspended.clear()
            await self.checkpoint.stop()

    @property
    def ready(self) -> bool:
        return self.started and not self.restoring and bool(self.tasks)

    async def run(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while not self._stopping.is_set():
            if self._inflight is not None and self._open_records() > self.max_open_records:
                await asyncio.wait({self._inflight})  # backpressure: let the commit land
            busy = self._inflight is not None or any(t.open for t in self.tasks.values())
            generation = self._generation
            fetched = await consumer.getmany(
                timeout_ms=5 if busy else 200, max_records=self.max_records
            )
            async with self._lock:
                if fetched:
                    if generation != self._generation:
                        # a rebalance came between: these records may predate its seeks,
                        # and the positions may be past them; drop them and read again
                        self._rewind()
                    else:
                        await self._process(fetched)
                        self._observe_lag(fetched)
                await self._maybe_commit()

    # -- processing ------------------------------------------------------------------------

    async def _process(self, fetched: Fetched) -> None:
        by_task: dict[int, list[ConsumerRecord[bytes, bytes]]] = defaultdict(list)
        for tp, records in fetched.items():
            by_task[tp.partition] += records
        for partition, records in by_task.items():
            task = self.tasks.get(partition)
            if task is None or task.failed:
                continue  # a failed task is reset (and re-read) before it runs again
            # aiokafka can hand out a range again after a seek to where it was already
            # reading (seen on resumed tasks): skip what the task has already processed
            done = task.position()
            records = [
                r for r in records if r.offset >= done.get(TopicPartition(r.topic, r.partition), 0)
            ]
            if not records:
                continue
            # two topics: each in offset order, interleaved by timestamp (a stable merge)
            quotes = [r for r in records if r.topic == self.quotes_topic]
            claims = [r for r in records if r.topic != self.quotes_topic]
            merged = heapq.merge(quotes, claims, key=lambda r: r.timestamp) if claims else quotes
            try:
                task.process(merged, self.quotes_topic)
            except TaskCorrupted as exc:
                log.error("task %s: %s; restoring it from the changelog", partition, exc)
                if exc.poison is not None:
                    task.poison.add(exc.poison)
                await self._drain()  # the commit in flight is valid: let it land first
                if task.open.sent and await self.checkpoint.abort():
                    # its outputs went out in the open transaction, with other tasks': all
                    # of them are dropped, so every task with open work starts over
                    busy = [t for t in self.tasks.values() if t.open]
                    log.warning(
                        "task %s: outputs already in the open transaction: aborted; tasks %s "
                        "start over from their last commit",
                        partition,
                        [t.partition for t in busy],
                    )
                    for other in busy:
                        other.failed = True
                        await self._reset(other)
                    # the rest of this fetch predates those resets: every task reads again
                    # from its position (a reset one from its last commit)
                    self._rewind()
                    return
                await self._reset(task)

    def _open_records(self) -> int:
        return sum(len(t.open.records) for t in self.tasks.values())

    # -- commits ---------------------------------------------------------------------------

    async def _maybe_commit(self) -> None:
        """Collect a finished round; start the next when the interval has passed."""
        if self._inflight is not None:
            if not self._inflight.done():
                return
            await self._settle()
        if time.monotonic() - self._last_commit < self.commit_interval:
            # between rounds: what was processed goes out now (into the round's transaction
            # under exactly_once_v2), so the round itself only adds state and offsets
            await self.checkpoint.flow(list(self.tasks.values()))
            return
        commits = self._take_commits()
        if commits:
            self._last_commit = time.monotonic()
            self._inflight = asyncio.create_task(self._commit(commits))

    def _take_commits(self) -> list[Commit]:
        return [t.take_commit() for t in self.tasks.values() if t.open and not t.failed]

    async def _commit(self, commits: list[Commit]) -> Outcome:
        outcome = await self.checkpoint.commit(commits)
        for commit in commits:
            if commit.task not in outcome.failed and commit.task not in outcome.fenced:
                self._announce(commit)
        return outcome

    async def _settle(self) -> None:
        """Take the result of the round in flight: reset the tasks whose commit failed."""
        inflight, self._inflight = self._inflight, None
        if inflight is None:
            return
        outcome = await inflight
        for task in outcome.fenced:
            await self._drop(task)
        for task in outcome.failed:
            task.failed = True
        for task in outcome.failed:
            if self.tasks.get(task.partition) is task:
                await self._reset(task)

    async def _drain(self) -> None:
        if self._inflight is not None:
            await asyncio.wait({self._inflight})
            await self._settle()

    async def _commit_everything(self) -> None:
        """Wait for the round in flight, then commit what is open now (revoke, stop)."""
        await self._drain()
        commits = self._take_commits()
        if commits:
            self._last_commit = time.monotonic()
            self._inflight = asyncio.create_task(self._commit(commits))
            await self._drain()

    def _announce(self, commit: Commit) -> None:
        for reason, source in commit.batch.dead:
            metrics.dead_lettered(reason, source.topic, source.partition, source.offset)
        for alert in commit.batch.alerts:
            metrics.ALERTS.labels(alert["rule"], alert["direction"]).inc()
            log.info(
                "alert %s %s %s %s",
                alert["id"][:12],
                alert["symbol"],
                alert["trading_day"],
                summary(alert),
            )

    def _observe_lag(self, fetched: Fetched) -> None:
        assert self._consumer is not None
        for tp, records in fetched.items():
            try:
                highwater = self._consumer.highwater(tp)
            except Exception:  # not assigned any more
                continue
            if highwater is not None and records:
                behind = max(0, highwater - records[-1].offset - 1)
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(behind)

    # -- tasks: assign, restore, revoke --------------------------------------------------------

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._lock:
            self._generation += 1
            # what the tasks processed is committed before another worker may take them
            await self._commit_everything()
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
            self._note_member()
            self.restoring = True
            try:
                await self._assign({tp.partition for tp in assigned})
            finally:
                self.restoring = False

    async def _assign(self, partitions: set[int]) -> None:
        assert self._consumer is not None
        for partition in list(self.suspended):
            if partition not in partitions:
                await self.checkpoint.close(self.suspended.pop(partition))
        fresh: list[Task] = []
        for partition in sorted(partitions):
            task = self.suspended.pop(partition, None)
            if task is None or task.failed:
                task = self._task(partition)
                fresh.append(task)
            self.tasks[partition] = task
        await asyncio.gather(*(self.checkpoint.open(t) for t in self.tasks.values()))
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
            self._seek(task)
        # the restored state lives as long as the tasks: out of the collector's way (a
        # full collection over it paused the loop 50-150 ms every few seconds, the p99)
        gc.collect()
        gc.freeze()
        log.info(
            "tasks assigned: %s (restored %s)",
            sorted(self.tasks),
            sorted(t.partition for t in fresh),
        )

    async def _drop(self, task: Task) -> None:
        """A task another worker owns now (its producer was fenced: this worker was a zombie,
        e.g. paused past its session timeout): close it without committing, forget its state,
        and rejoin the group, as Kafka Streams does with a migrated task."""
        if self.tasks.get(task.partition) is task:
            del self.tasks[task.partition]
        self.suspended.pop(task.partition, None)
        await self.checkpoint.close(task)
        assert self._consumer is not None
        with contextlib.suppress(Exception):
            self._consumer.pause(*[TopicPartition(t, task.partition) for t in self.inputs])
        metrics.TASKS_FENCED.inc()
        coordinator = getattr(self._consumer, "_coordinator", None)
        if coordinator is not None:  # aiokafka's rejoin request (no public API for it)
            coordinator.request_rejoin()

    async def _restore(self, tasks: list[Task]) -> None:
        await restore(
            tasks,
            self.clients,
            self.engine,
            self.state_changelog,
            self.days_changelog,
            # the last round's EndTxn returns before its markers are written: until they
            # are, a read_committed restore would miss that round and replay it (seen as
            # duplicates after a reset under per-task exactly-once)
            settle=self.exactly_once,
        )
        for task in tasks:
            task.failed = False

    def _seek(self, task: Task) -> None:
        """Position the task's inputs after what it has processed (its committed offsets and
        its open batch), or at offset 0 when it has none (below the log start, the consumer's
        reset policy "earliest" takes over).
        No broker call: aiokafka's seek_to_beginning()/beginning_offsets() here took ~0.5 s
        per partition and once never returned."""
        assert self._consumer is not None
        position = task.position()
        for t in self.inputs:
            tp = TopicPartition(t, task.partition)
            with contextlib.suppress(Exception):  # revoked meanwhile
                self._consumer.seek(tp, position.get(tp, 0))
        log.info(
            "task %s: inputs at %s", task.partition, {tp.topic: o for tp, o in position.items()}
        )

    def _rewind(self) -> None:
        for task in self.tasks.values():
            self._seek(task)

    async def _reset(self, task: Task) -> None:
        """Drop the task's uncommitted work: fresh state from the changelog, inputs from
        the committed offsets."""
        await self._restore([task])
        self._seek(task)

    # -- queries (dashboard) ---------------------------------------------------------------

    def symbol_state(self, symbol: bytes) -> SymbolState | None:
        return next((t.state[symbol] for t in self.tasks.values() if symbol in t.state), None)

    def day(self, key: bytes) -> bytes | None:
        return next((t.days[key] for t in self.tasks.values() if key in t.days), None)
