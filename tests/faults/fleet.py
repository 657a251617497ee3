"""Several worker processes in one consumer group, killed and restarted, with what each one
was doing when it was killed read back from its own log; and the records a kill left in
aborted transactions (what a ``read_uncommitted`` reader sees and a ``read_committed`` one
does not), which show that the kill interrupted a commit."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.kafka_harness import Namespace, Worker, partitions_of

QUOTES_SYNCED = "Successfully synced group "  # aiokafka, then "Setting newly assigned partitions"
ASSIGN_START = "Setting newly assigned partitions"
ASSIGN_END = "tasks assigned: "  # streams/runtime/runner.py, after the restore and the seeks


@dataclass
class Watch:
    """Follows a worker's log: whether its quote tasks are being assigned and restored now
    (between aiokafka's "Setting newly assigned partitions" of the ``-quotes`` group and the
    runtime's "tasks assigned"), and how many assignments it finished."""

    worker: Worker
    offset: int = 0
    quotes_synced: bool = False
    assigning: bool = False
    assignments: int = 0
    tasks: list[int] = field(default_factory=list)  # as of its last "tasks assigned"
    _partial: str = ""

    def poll(self) -> None:
        try:
            with self.worker.log.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return
        self.offset += len(chunk)
        text = self._partial + chunk.decode(errors="replace")
        lines = text.split("\n")
        self._partial = lines.pop()
        for line in lines:
            if QUOTES_SYNCED in line:
                self.quotes_synced = "-quotes" in line
            elif ASSIGN_START in line and self.quotes_synced:
                self.assigning = True
                self.quotes_synced = False
            elif ASSIGN_END in line:
                self.assigning = False
                self.assignments += 1
                listed = line.split(ASSIGN_END, 1)[1].split("]", 1)[0].strip("[ ")
                self.tasks = [int(p) for p in listed.split(",") if p.strip()]


@dataclass
class Kill:
    at: float  # time.time() of the kill
    slot: int
    phase: (
        str  # "restore" (assignment/restore in progress), "starting" (never got tasks), "running"
    )
    open_record: tuple[str, int, int] | None = None  # seen in an open transaction just before


@dataclass
class Fleet:
    """Up to ``size`` workers of one app (one consumer group), slot ``i`` with data dir
    ``root/w<i>``; a killed slot is restarted at once on the same data dir (a new process, a
    new log) unless told otherwise; a slot can leave (a clean stop) and join again."""

    ns: Namespace
    root: Path
    size: int
    env: dict[str, str]
    rng: random.Random
    workers: dict[int, Worker] = field(default_factory=dict)
    watches: dict[int, Watch] = field(default_factory=dict)
    started: list[Worker] = field(default_factory=list)  # every process, for the logs
    kills: list[Kill] = field(default_factory=list)
    stopped: list[Worker] = field(default_factory=list)  # clean stops (leaves)

    def _new(self, slot: int) -> Worker:
        worker = Worker(self.ns, self.root / f"w{slot}", **self.env).spawn()
        self.started.append(worker)
        return worker

    async def start(self, members: int | None = None) -> None:
        """Start slots 0 .. ``members`` - 1 (all by default) and wait until each is ready."""
        for slot in range(self.size if members is None else members):
            self.restart(slot)
        await asyncio.gather(*(asyncio.to_thread(w.wait_ready, 180) for w in self.workers.values()))

    def poll(self) -> None:
        for watch in self.watches.values():
            watch.poll()

    def alive(self) -> list[int]:
        return sorted(i for i, w in self.workers.items() if w.proc and w.proc.poll() is None)

    async def join(self, slot: int) -> None:
        """Start the slot's worker and wait until it is ready (it holds tasks)."""
        self.restart(slot)
        await asyncio.to_thread(self.workers[slot].wait_ready, 180)

    async def leave(self, slot: int) -> None:
        """A clean stop (SIGTERM): the worker commits, leaves the group, exits."""
        worker = self.workers[slot]
        self.stopped.append(worker)
        await asyncio.to_thread(worker.stop)

    def kill(self, slot: int, restart: bool = True) -> Kill:
        """SIGKILL the slot's worker; its phase read from its log once it is dead."""
        worker, watch = self.workers[slot], self.watches[slot]
        worker.stop(signal.SIGKILL)
        watch.poll()  # the whole log: the process is gone
        if watch.assigning:
            phase = "restore"
        elif watch.assignments == 0:
            phase = "starting"
        else:
            phase = "running"
        kill = Kill(time.time(), slot, phase)
        self.kills.append(kill)
        if restart:
            self.restart(slot)
        return kill

    def restart(self, slot: int) -> None:
        self.workers[slot] = self._new(slot)
        self.watches[slot] = Watch(self.workers[slot])

    def least_killed(self, among: list[int]) -> int:
        count = {i: sum(k.slot == i for k in self.kills) for i in among}
        low = min(count.values())
        return self.rng.choice([i for i in among if count[i] == low])

    async def kill_in_restore(self, wait: float) -> Kill | None:
        """Kill the first worker seen assigning and restoring tasks within ``wait`` seconds
        (None if none did); the phase says whether the kill landed before the end."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self.poll()
            assigning = [i for i in self.alive() if self.watches[i].assigning]
            if assigning:
                return self.kill(self.least_killed(assigning))
            await asyncio.sleep(0.02)
        return None

    async def kill_in_commit(self, changelog: str, wait: float) -> Kill | None:
        """Kill a worker while one of its tasks' transactions is open: a ``read_uncommitted``
        reader tailing the state changelog (every commit writes the task's input offsets
        there) fetches a record at or past its partition's last stable offset; the worker
        whose last assignment holds that task is killed at once (None if none was seen within
        ``wait`` seconds). The record is kept: it is proof only if it ends up aborted."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.ns.bootstrap,
            enable_auto_commit=False,
            isolation_level="read_uncommitted",
        )
        await consumer.start()
        try:
            count = (await partitions_of(self.ns.bootstrap, [changelog]))[changelog]
            tps = [TopicPartition(changelog, p) for p in range(count)]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            for tp in tps:
                consumer.seek(tp, ends[tp])
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                fetched = await consumer.getmany(timeout_ms=100)
                self.poll()
                for tp, records in fetched.items():
                    stable = consumer.last_stable_offset(tp)
                    if not records or stable is None or records[-1].offset < stable:
                        continue
                    owners = [
                        i
                        for i in self.alive()
                        if tp.partition in self.watches[i].tasks and not self.watches[i].assigning
                    ]
                    if owners:
                        kill = self.kill(owners[0])
                        kill.open_record = (changelog, tp.partition, records[-1].offset)
                        return kill
        finally:
            await consumer.stop()
        return None

    def unexpected_exits(self) -> list[str]:
        """Workers that died without being killed or stopped by the test (a crash)."""
        killed_or_stopped = set(map(id, self.stopped))
        out = []
        for worker in self.started:
            code = worker.proc.poll() if worker.proc else None
            if code is not None and code != -signal.SIGKILL and id(worker) not in killed_or_stopped:
                out.append(f"{worker.log.name}: exit {code}\n{worker.tail(40)}")
        return out

    def stop(self) -> None:
        for worker in self.workers.values():
            self.stopped.append(worker)
            worker.stop()


async def _offsets(bootstrap: str, topic: str, isolation: str) -> dict[tuple[int, int], int]:
    """(partition, offset) -> timestamp of every record ``topic`` holds for this isolation."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level=isolation,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    out: dict[tuple[int, int], int] = {}
    try:
        count = (await partitions_of(bootstrap, [topic]))[topic]
        tps = [TopicPartition(topic, p) for p in range(count)]
        consumer.assign(tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
        pending = {tp for tp in tps if ends[tp] > starts[tp]}
        deadline = time.monotonic() + 300
        while pending and time.monotonic() < deadline:
            fetched = await consumer.getmany(*pending, timeout_ms=500, max_records=50_000)
            for tp, records in fetched.items():
                for r in records:
                    out[(tp.partition, r.offset)] = r.timestamp
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return out


async def was_aborted(bootstrap: str, record: tuple[str, int, int]) -> bool | None:
    """Whether the transaction holding ``record`` (topic, partition, offset) was aborted
    (True) or committed (False); None while it is still open (its partition's last stable
    offset not past it yet). A ``read_committed`` reader from that offset skips the record
    if it was aborted."""
    topic, partition, offset = record
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        if (await consumer.end_offsets([tp]))[tp] <= offset:
            return None  # the last stable offset: the transaction is still open
        fetched = await consumer.getmany(tp, timeout_ms=2000)
        if fetched.get(tp):
            return fetched[tp][0].offset != offset
        return True if await consumer.position(tp) > offset else None
    finally:
        await consumer.stop()


Aborted = dict[tuple[str, int, int], float]


async def aborted(bootstrap: str, topics: list[str]) -> Aborted:
    """(topic, partition, offset) -> timestamp (seconds) of each record of an aborted
    transaction on ``topics``: there for a ``read_uncommitted`` reader, not for a
    ``read_committed`` one."""
    out: Aborted = {}
    for topic in topics:
        every = await _offsets(bootstrap, topic, "read_uncommitted")
        committed = await _offsets(bootstrap, topic, "read_committed")
        out.update({(topic, *k): every[k] / 1000 for k in every.keys() - committed.keys()})
    return out


def interrupted_commits(kills: list[Kill], lost: Aborted, window: float = 1.0) -> list[Kill]:
    """The kills that interrupted a commit: the record seen in an open transaction just before
    the kill was aborted, or (for a kill not aimed at a commit) records of an aborted
    transaction were written in the ``window`` seconds before it."""
    times = sorted(lost.values())
    return [
        k
        for k in kills
        if (k.open_record in lost)
        or (k.open_record is None and any(k.at - window <= t <= k.at for t in times))
    ]
