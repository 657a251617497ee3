"""Committing the tasks' work: exactly-once (a transaction per task, or one per worker and
round: ``exactly_once_v2``) or at-least-once (flush, then commit the group's offsets). The runner calls :meth:`Checkpoint.commit` with one
:class:`~streams.runtime.task.Commit` per task that did work since its last commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import ProducerFenced

from streams import metrics
from streams.cloudevents import CloudEvents
from streams.pipeline import OutRecord
from streams.runtime import group_offsets
from streams.runtime.clients import Clients
from streams.runtime.group_offsets import GroupMetadata
from streams.runtime.process_id import ProcessId, claim
from streams.runtime.sender import Entry, Partitioner, send_batches
from streams.runtime.task import OFFSETS_KEY, Commit, Task, offsets_value

log = logging.getLogger("windvane.runtime")


@dataclass
class Outcome:
    """What a commit round did not commit: tasks to reset, tasks another worker owns now."""

    failed: list[Task] = field(default_factory=list)
    fenced: list[Task] = field(default_factory=list)


def retrieve(futures: list[asyncio.Future[Any]]) -> None:
    """Mark the failures of send futures as seen (an aborted transaction fails them all; the
    round already reports why), so asyncio does not log each as never retrieved."""
    for future in futures:
        if future.done():
            if not future.cancelled():
                future.exception()
        else:
            future.add_done_callback(lambda f: None if f.cancelled() else f.exception())


class Ahead:
    """Outputs sent ahead of their round (:meth:`Checkpoint.flow`): the sends since the last
    round (which waits for them), those of the last flow (the next one waits until they are
    acknowledged: Nagle's rule, so outputs leave as one batch per partition per request
    rather than queueing as many small batches, which the producer sends one per partition
    per request), and the failure of a flow, which fails the next round."""

    def __init__(self) -> None:
        self.pending: list[asyncio.Future[Any]] = []
        self.last: list[asyncio.Future[Any]] = []
        self.broken: Exception | None = None

    @property
    def ready(self) -> bool:
        return self.broken is None and all(f.done() for f in self.last)

    async def send(self, producer: AIOKafkaProducer, partitioner: Partitioner,
                   entries: list[Entry]) -> None:  # fmt: skip
        try:
            self.last = await send_batches(producer, partitioner, entries)
            self.pending += self.last
        except Exception as exc:  # the round fails with it, and its tasks reset
            self.broken = exc

    def take(self) -> tuple[list[asyncio.Future[Any]], Exception | None]:
        """For a round: the sends to wait for and a flow's failure; empty again."""
        out = (self.pending, self.broken)
        self.pending, self.last, self.broken = [], [], None
        return out


class Checkpoint:
    """How a round of task commits reaches Kafka (the hooks do nothing unless overridden)."""

    def __init__(
        self,
        clients: Clients,
        topic: Callable[[str], str],
        state_changelog: str,
        days_changelog: str,
    ) -> None:
        self.clients = clients
        self.topic = topic  # logical -> deployed topic name
        self.state_changelog = state_changelog
        self.days_changelog = days_changelog
        self.partitioner = Partitioner()
        self.cloudevents = CloudEvents(clients.settings.app_id)

    async def open(self, task: Task) -> None:
        """Before a task (new or resumed) runs."""

    async def close(self, task: Task) -> None:
        """When a task is closed or about to be reopened."""

    async def start(self) -> None:
        """Once, when the runtime starts."""

    async def stop(self) -> None:
        """Once, when the runtime stops."""

    async def commit(self, commits: list[Commit]) -> Outcome:
        """Commit every one of ``commits``; say which tasks failed (their state is ahead of
        what is committed: the runner resets them) and which were fenced (another worker
        owns them now: the runner drops them)."""
        raise NotImplementedError

    async def flow(self, tasks: list[Task]) -> None:
        """Between commit rounds: send the outputs the tasks produced since the last call
        now rather than at their commit (by default they wait for it). Outputs sent are
        counted in each open batch's ``sent``; a failure here fails the next round."""

    async def abort(self) -> bool:
        """Drop what :meth:`flow` sent that no round committed yet, if the guarantee can: True
        if it did (every task with open work must then be reset), False if those outputs
        stay out (at-least-once: a reset task's replay may repeat them)."""
        return False

    def outputs(self, records: list[OutRecord]) -> list[Entry]:
        """Output records as entries, with their CloudEvents headers."""
        topic, headers = self.topic, self.cloudevents.headers
        return [(topic(r.topic), None, r.key, r.value, headers(r.topic, r.event)) for r in records]

    def unsent(self, tasks: list[Task]) -> list[Entry]:
        """The outputs of the tasks' open batches not sent yet, marked sent."""
        out: list[Entry] = []
        for task in tasks:
            batch = task.open
            if not task.failed and len(batch.records) > batch.sent:
                out += self.outputs(batch.records[batch.sent :])
                batch.sent = len(batch.records)
        return out

    def entries(self, commit: Commit) -> list[Entry]:
        """The outputs not sent yet (with their CloudEvents headers), then the changelog
        entries (with the input offsets, no headers), of a commit."""
        p = commit.task.partition
        out = self.outputs(commit.batch.records[commit.batch.sent :])
        out += [(self.state_changelog, p, k, v, None) for k, v in commit.states]
        # the input offsets go to the state changelog with the states: a restore reads both
        # from one partition, consistent by construction
        out.append((self.state_changelog, p, OFFSETS_KEY, offsets_value(commit.offsets), None))
        out += [(self.days_changelog, p, k, v, None) for k, v in commit.days]
        return out

    def done(self, commit: Commit) -> None:
        commit.task.committed = commit.offsets
        for logical, n in Counter(r.topic for r in commit.batch.records).items():
            metrics.RECORDS_OUT.labels(self.topic(logical)).inc(n)


class ExactlyOnce(Checkpoint):
    """One transactional producer per task (``<app>-quotes-<p>``: a new owner fences the old
    one and aborts its open transaction). A commit is one transaction holding the outputs,
    the changelog entries and the input offsets: a ``read_committed`` reader sees all of it
    or none, and a restore is exactly the state after the committed offsets."""

    async def open(self, task: Task) -> None:
        # A new producer for every task, resumed ones too: its initialisation fences any
        # other owner and returns only once that id's last transaction is complete, markers
        # written; only then are the committed offsets read after it stable.
        await self.close(task)
        producer = self.clients.producer(task.partition)
        await producer.start()  # init_transactions
        task.producer = producer

    async def close(self, task: Task) -> None:
        if task.producer is not None:
            await task.producer.stop()
            task.producer = None

    async def commit(self, commits: list[Commit]) -> Outcome:
        results = await asyncio.gather(*(self._one(c) for c in commits), return_exceptions=True)
        out = Outcome()
        for commit, result in zip(commits, results, strict=True):
            if isinstance(result, ProducerFenced):
                log.warning(
                    "task %s: fenced: a newer owner has it; its uncommitted work is dropped",
                    commit.task.partition,
                )
                out.fenced.append(commit.task)
            elif isinstance(result, BaseException):
                log.error("task %s: commit failed: %r", commit.task.partition, result)
                out.failed.append(commit.task)
            else:
                self.done(commit)
        return out

    async def _one(self, commit: Commit) -> None:
        producer = commit.task.producer
        if producer is None:  # closed meanwhile (revoked, fenced)
            raise ProducerFenced()
        futures: list[asyncio.Future[Any]] = []
        try:
            async with producer.transaction():  # aborts on an exception
                futures = await send_batches(producer, self.partitioner, self.entries(commit))
                await producer.send_offsets_to_transaction(
                    commit.batch.offsets, self.clients.group_id
                )
        finally:
            retrieve(futures)


class ExactlyOnceV2(Checkpoint):
    """One transactional producer for the whole worker (Kafka Streams' ``exactly_once_v2``,
    KIP-447): a round is one transaction holding every task's outputs, changelog entries and
    input offsets, instead of one per task (a transaction costs the same five broker round
    trips whatever it holds: eight tasks' rounds took 4-5x as long as one transaction's).
    Outputs are sent as they are produced (:meth:`flow`), into the transaction the first of
    them begins; the round adds the changelog entries and offsets, and commits.

    Zombies are fenced by the group, not by transactional ids: the offsets go with the
    consumer's generation and member id (:mod:`streams.runtime.group_offsets`), so a worker
    that lost its partitions in a rebalance it has not seen has its whole round refused and
    aborted; the runner then drops its tasks and rejoins. The outputs are acknowledged before
    the offsets are sent: once the coordinator has accepted a round's offsets its records are
    in the logs, so a new owner that waits until no transaction is open on a task's changelog
    partitions (:func:`streams.runtime.restore.restore`) restores exactly what was committed.

    The transactional id is the worker's own and survives its restarts
    (``<app>-quotes-<data dir id>-<slot>``, :mod:`streams.runtime.process_id`): a worker
    killed mid-transaction and started again aborts that transaction when its producer
    initialises, instead of the partitions' readers and restores waiting for the
    coordinator's timeout. A failed round's producer is discarded and the next round starts
    one with the same id, whose initialisation aborts what is open (a broker that does not
    answer then fails the rounds, and the tasks reset, until it does)."""

    def __init__(self, *args: Any, member: Callable[[], GroupMetadata]) -> None:
        super().__init__(*args)
        self._member = member
        self._producer: AIOKafkaProducer | None = None
        self._opening = asyncio.Lock()
        self._id: ProcessId | None = None
        self._ahead = Ahead()  # outputs in the open round's transaction

    @property
    def transactional_id(self) -> str:
        if self._id is None:  # claimed at the first start, held until stop
            settings = self.clients.settings
            directory = settings.data_dir / settings.app_id / "quotes-process"
            self._id = claim(directory, self.clients.group_id)
        return self._id.value

    async def start(self) -> None:
        producer = self.clients.worker_producer(self.transactional_id)
        group_offsets.install(producer, self._member)
        await producer.start()
        self._producer = producer

    async def _discard(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def stop(self) -> None:
        try:
            await self._discard()
        finally:
            if self._id is not None:
                self._id.release()
                self._id = None

    async def open(self, task: Task) -> None:
        """Before a task is restored: a producer discarded after a failed round is replaced
        now, so its initialisation aborts the transaction it left open instead of the
        restore waiting for the coordinator's timeout."""
        await self._start_if_missing()

    async def _start_if_missing(self) -> None:
        async with self._opening:  # the runner opens its tasks concurrently
            if self._producer is None:
                with contextlib.suppress(Exception):  # else the next round starts one
                    await self.start()

    async def flow(self, tasks: list[Task]) -> None:
        """Outputs go out as they are produced, into the round's transaction (begun by the
        first of them), as Kafka Streams sends them: the round's commit then only adds the
        changelog entries and offsets, and a read_committed reader sees them at its end."""
        producer = self._producer
        if producer is None or not self._ahead.ready:
            return  # the round sends them (after a new producer starts, or fails), or later
        entries = self.unsent(tasks)
        if not entries:
            return
        if not producer._txn_manager.is_in_transaction():
            try:
                await producer.begin_transaction()
            except Exception as exc:
                self._ahead.broken = exc
                return
        await self._ahead.send(producer, self.partitioner, entries)

    async def abort(self) -> bool:
        """The open transaction is aborted by replacing the producer (:meth:`_replace`):
        aborting in place could let a queued batch land in the next transaction."""
        retrieve(self._ahead.take()[0])
        await self._replace()
        return True

    async def commit(self, commits: list[Commit]) -> Outcome:
        tasks = [c.task for c in commits]
        if self._producer is None:  # discarded after a failure: a new one, same id
            try:
                await self.start()
            except Exception as exc:
                log.error("no transactional producer (%r): tasks %s wait", exc,
                          [t.partition for t in tasks])  # fmt: skip
                return Outcome(failed=tasks)
        producer = self._producer
        assert producer is not None
        futures, broken = self._ahead.take()
        try:
            if broken is not None:
                raise broken
            if not producer._txn_manager.is_in_transaction():
                await producer.begin_transaction()
            entries = [e for c in commits for e in self.entries(c)]
            futures += await send_batches(producer, self.partitioner, entries)
            await asyncio.gather(*futures)  # in the logs before the offsets are accepted
            offsets = {tp: o for c in commits for tp, o in c.batch.offsets.items()}
            await producer.send_offsets_to_transaction(offsets, self.clients.group_id)
            await producer.commit_transaction()
        except group_offsets.MemberFenced as exc:
            log.warning("round of tasks %s refused (%s): they belong to a newer generation",
                        [t.partition for t in tasks], exc)  # fmt: skip
            # not abort_transaction(): aiokafka's error state forgets the transaction's
            # partitions, so its abort ends locally without an EndTxn and the broker's
            # transaction stays open, to be committed by the next round (the full
            # crash_restart scenario caught 804 alerts committed twice that way); a new
            # producer with the same id aborts it on the broker and fences the old one
            await self._replace()
            return Outcome(fenced=tasks)
        except Exception as exc:
            log.error("commit of tasks %s failed: %r", [t.partition for t in tasks], exc)
            # the next round starts a new producer with the same transactional id: its
            # initialisation aborts whatever this one left open (and cannot fail this round)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._discard(), 10)
            return Outcome(failed=tasks)
        finally:
            retrieve(futures)
        for commit in commits:
            self.done(commit)
        return Outcome()

    async def _replace(self) -> None:
        """A new producer with the same transactional id: its initialisation aborts the open
        transaction on the broker and fences every send of the old one still queued (if it
        cannot start now, the next round or task opening starts one)."""
        if self._producer is not None:  # its error state's waiter: seen, not "never retrieved"
            retrieve([self._producer._txn_manager.wait_for_transaction_end()])
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._discard(), 10)
        await self._start_if_missing()


class AtLeastOnce(Checkpoint):
    """One idempotent producer for every task. Outputs are sent as they are produced
    (:meth:`flow`); a round sends the changelog entries, waits for the broker's
    acknowledgements of everything sent since the last round, then commits the group's
    offsets: a crash replays at most the uncommitted records (duplicates, never losses)."""

    def __init__(self, *args: Any, consumer: Callable[[], AIOKafkaConsumer | None]) -> None:
        super().__init__(*args)
        self._consumer = consumer
        self._producer: AIOKafkaProducer | None = None
        self._ahead = Ahead()  # outputs sent since the last round

    async def start(self) -> None:
        self._producer = self.clients.producer(None)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def flow(self, tasks: list[Task]) -> None:
        """Outputs go out as they are produced; the round waits for their acknowledgements
        before it commits the offsets after them."""
        assert self._producer is not None
        if self._ahead.ready and (entries := self.unsent(tasks)):
            await self._ahead.send(self._producer, self.partitioner, entries)

    async def commit(self, commits: list[Commit]) -> Outcome:
        assert self._producer is not None
        consumer = self._consumer()
        assert consumer is not None
        futures, broken = self._ahead.take()
        try:
            if broken is not None:
                raise broken
            entries = [e for c in commits for e in self.entries(c)]
            futures += await send_batches(self._producer, self.partitioner, entries)
            await asyncio.gather(*futures)
            await consumer.commit({tp: o for c in commits for tp, o in c.batch.offsets.items()})
        except Exception as exc:
            log.error("commit of tasks %s failed: %r", [c.task.partition for c in commits], exc)
            return Outcome(failed=[c.task for c in commits])
        finally:
            retrieve(futures)
        for commit in commits:
            self.done(commit)
        return Outcome()
