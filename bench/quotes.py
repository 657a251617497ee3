"""The quote path against the raw Kafka pipe, Quix Streams and Kafka Streams: same workload,
same broker, same run. A benchmark, not a test: figures go to bench/out/quotes.json.

Workload: N daily bars over S symbols made from the real series in ../shared/data/quotes by
scaling (fixed seed), preloaded into each contender's own ``quotes.raw`` (8 partitions).
Every contender runs as its own process, one at a time, from the beginning of its input:

1. ``raw_pipe``: an aiokafka consumer re-producing every record unchanged (the ceiling);
2. ``windvane_alos`` / ``windvane_eos`` / ``windvane_eos_v2``: ``windvane worker``
   at-least-once / exactly-once per task / per worker (the default);
   ``windvane_eos_v2_compact``: the default with ``WINDVANE_SIGNAL_SHAPE=compact``;
3. ``quix_alos`` / ``quix_eos``: the same topology in Quix Streams (bench/contenders/quix_app.py);
4. ``kstreams_alos`` / ``kstreams_eos``: the same topology in Kafka Streams (bench/kstreams/).
   (``--before REV`` adds ``windvane_before_alos``/``_eos``/``_eos_v2``: the worker of git
   revision REV.)

Per contender:
* throughput: N / (last - first output append time); output topics use LogAppendTime, so
  the broker's clock times them, not the harness's polling;
* latency: once caught up, live bars are produced at ``--rate`` records/s for
  ``--live-seconds``; latency = from the send to the signal's arrival at a read_committed
  consumer (p50, p99), and "in log": from the send to the signal's append time (the
  contender's own part; the rest is the wait for its commit);
* live CPU: the CPU time (user + system, from ``/proc``) the contender's process(es) spent
  during the latency phase, in µs per live record: what a record costs it when records come
  one by one (at 5,000/s, 200 µs would be a whole core), less noisy than the latency when
  other work shares the machine; beside it, the same for this harness (its producer and its
  reader) and for the broker, which share the machine's cores with the contender. The
  harness sends the bars due every millisecond as one batch per partition (a ``send()`` per
  bar had cost it ~150 µs of CPU a bar, most of a core at 5,000/s);
* peak RSS of the contender's process (VmHWM);
* agreement: its alerts (symbol, day, direction) against a pandas reference computed here
  (``tests.reference.ma_crossings``, independent of every contender).

    .venv/bin/python bench/quotes.py [--records 1000000] [--symbols 1000] [--only a,b]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streams.runtime.sender import Entry, Partitioner, send_batches  # noqa: E402
from streams.tools.kafka_local import LocalBroker, free_port  # noqa: E402
from tests.reference import QUOTES, closes, ma_crossings  # noqa: E402

NAMES = ["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv", "9988.HK.csv"]
PARTITIONS = 8
VENV_BIN = Path(sys.executable).parent
KSTREAMS = REPO / "bench" / "kstreams"
WORK = REPO / ".windvane" / "bench-work"
SEND_TICK = 0.001
"""Seconds between the latency phase's sends (the bars due go out together)."""

Bars = list[tuple[str, str, float]]  # (day, symbol, close)


# -- workload and reference ---------------------------------------------------------------


def workload(records: int, symbols: int, seed: int = 7) -> Bars:
    """``records`` daily bars over ``symbols`` symbols, by date then symbol."""
    rng = random.Random(seed)
    bases = [
        list(zip(f["date"], f["close"], strict=True)) for f in (closes(QUOTES / n) for n in NAMES)
    ]
    per_symbol = max(1, -(-records // symbols))
    rows: Bars = []
    for s in range(symbols):
        base = bases[s % len(bases)]
        factor = rng.uniform(0.2, 5.0)
        shift = rng.randrange(0, max(1, len(base) - per_symbol))
        for day, close in base[shift : shift + per_symbol]:
            rows.append((day, f"SYM{s:05d}", round(close * factor, 4)))
    rows.sort()
    return rows[:records]


def live_bars(history: Bars, count: int, seed: int = 11) -> Bars:
    """Bars after the history, a random walk: each symbol goes on from the weekday after its
    own last bar, one new weekday per round over every symbol (as a live feed would: a jump
    of years would make the first live bar of each symbol evict every day record older than
    ``WINDVANE_DAY_RETENTION_DAYS``, a burst no live feed has)."""
    rng = random.Random(seed)
    last: dict[str, tuple[str, float]] = {}
    for day, sym, close in history:
        last[sym] = (day, close)
    symbols = sorted(last)
    at = {sym: date.fromisoformat(last[sym][0]) for sym in symbols}
    price = {sym: last[sym][1] for sym in symbols}
    out: Bars = []
    while len(out) < count:
        for sym in symbols:
            day = at[sym] + timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
            at[sym] = day
            price[sym] = round(price[sym] * (1 + rng.gauss(0, 0.02)), 4)
            out.append((day.isoformat(), sym, price[sym]))
    return out[:count]


def encode(rows: Bars, ticks_per_day: int = 0) -> list[tuple[bytes, bytes]]:
    """Daily bars; or, with ``ticks_per_day``, that many ticks per bar (Hong Kong hours, a
    random walk inside the day ending on the bar's close), in time order per symbol."""
    if not ticks_per_day:
        return [
            (sym.encode(), orjson.dumps({"symbol": sym, "date": d, "close": c}))
            for d, sym, c in rows
        ]
    rng = random.Random(13)
    out = []
    for d, sym, c in rows:
        opening = datetime.fromisoformat(d + "T09:30:00+08:00").timestamp() * 1000
        step = 6.5 * 3600 * 1000 / ticks_per_day
        for i in range(ticks_per_day):
            last = i == ticks_per_day - 1
            price = c if last else round(c * (1 + rng.gauss(0, 0.004)), 4)
            tick = {"symbol": sym, "ts": int(opening + (i + 1) * step), "price": price, "seq": i}
            out.append((sym.encode(), orjson.dumps(tick)))
    return out


def day_of(value: bytes) -> tuple[str, str]:
    """(symbol, trading day) of an encoded bar or tick (ticks are Hong Kong hours)."""
    v = orjson.loads(value)
    if "date" in v:
        return v["symbol"], v["date"]
    when = datetime.fromtimestamp(v["ts"] / 1000, tz=UTC) + timedelta(hours=8)
    return v["symbol"], when.date().isoformat()


def reference_alerts(rows: Bars) -> set[tuple[str, str, str]]:
    frame = pd.DataFrame(rows, columns=["date", "symbol", "close"])
    out: set[tuple[str, str, str]] = set()
    for sym, group in frame.groupby("symbol", sort=False):
        for day, direction in ma_crossings(group.reset_index(drop=True), 60):
            out.add((str(sym), day, direction))
    return out


# -- Kafka helpers ------------------------------------------------------------------------


async def create_topics(bootstrap: str, inputs: list[str], outputs: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        log_append = {"message.timestamp.type": "LogAppendTime"}
        topics = [NewTopic(t, PARTITIONS, 1) for t in inputs]
        topics += [NewTopic(t, PARTITIONS, 1, topic_configs=log_append) for t in outputs]
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(topics)
    finally:
        await admin.close()


async def drop_topics(bootstrap: str, pattern: str) -> None:
    """Delete the broker's topics whose names match ``pattern``: a contender's, once it is
    measured (a 1M run leaves ~3 GB a contender, and this broker keeps its data between runs),
    or every one but Kafka's own at the start of a run (what a killed run left)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if re.search(pattern, t)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, data: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k) for k, v in data]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def committed_count(bootstrap: str, topic: str) -> int:
    """Records (not offsets: transaction markers take offsets too) up to the end, read
    read_committed: only used once the end offsets say the contender is done."""
    total, _, _ = await read_all(bootstrap, topic, None)
    return total


async def end_offsets(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


async def read_all(
    bootstrap: str, topic: str, keep: Callable[[bytes], Any] | None
) -> tuple[int, list[Any], tuple[int, int]]:
    """(count, kept values, (first, last) timestamps) of a topic, read_committed to its end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 << 20,
    )
    await consumer.start()
    count, kept, first, last = 0, [], 2**63, 0
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=50_000)
            for records in batch.values():
                for r in records:
                    count += 1
                    first, last = min(first, r.timestamp), max(last, r.timestamp)
                    if keep is not None:
                        kept.append(keep(r.value))
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return count, kept, (first, last)


# -- contenders ---------------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    prefix: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    computes: bool = True  # False: the raw pipe (no alerts)
    cwd: Path = REPO
    processes: int = 1  # worker processes in one consumer group (windvane: both cores)

    @property
    def input(self) -> str:
        return self.prefix + "quotes.raw"

    @property
    def signals(self) -> str:
        return self.prefix + "quotes.signals"

    @property
    def alerts(self) -> str:
        return self.prefix + "alerts"


def contenders(bootstrap: str, run: str, before: Path | None) -> list[Contender]:
    py = str(VENV_BIN / "python")
    java_cp = (
        f"{KSTREAMS / 'target' / 'windvane-bench-kstreams-1.jar'}:{KSTREAMS / 'target' / 'lib'}/*"
    )
    out: list[Contender] = []

    def ns(name: str) -> str:
        return f"{run}.{name}."

    p = ns("raw_pipe")
    out.append(
        Contender(
            "raw_pipe",
            p,
            [
                py,
                str(REPO / "bench/contenders/raw_pipe.py"),
                bootstrap,
                p + "quotes.raw",
                p + "quotes.signals",
                p + "group",
            ],
            computes=False,
        )
    )
    compact = {"WINDVANE_SIGNAL_SHAPE": "compact"}
    for name, guarantee, extra, procs, env in (
        ("windvane_alos", "at_least_once", [], 1, {}),
        ("windvane_eos", "exactly_once", [], 1, {}),
        ("windvane_eos_v2", "exactly_once_v2", [], 1, {}),
        ("windvane_eos_v2_compact", "exactly_once_v2", [], 1, compact),
        ("windvane_eos_v2_x2", "exactly_once_v2", [], 2, {}),
        ("windvane_eos_uvloop", "exactly_once", ["--loop", "uvloop"], 1, {}),
        ("windvane_eos_x2", "exactly_once", [], 2, {}),
        ("windvane_alos_x2", "at_least_once", [], 2, {}),
    ):
        p = ns(name)
        out.append(
            Contender(
                name,
                p,
                [str(VENV_BIN / "windvane"), "worker", "-l", "warn", *extra],
                _windvane_env(bootstrap, p, guarantee) | env,
                processes=procs,
            )
        )
    for name, guarantee in (
        ("windvane_before_alos", "at_least_once"),
        ("windvane_before_eos", "exactly_once"),
        ("windvane_before_eos_v2", "exactly_once_v2"),  # a revision that has it
    ):
        if before is None:
            break
        p = ns(name)
        env = _windvane_env(bootstrap, p, guarantee) | {"PYTHONPATH": str(before)}
        argv = [py, "-m", "streams.tools.cli", "worker", "-l", "warn"]
        out.append(Contender(name, p, argv, env, cwd=before))  # its own checkout
    for name, guarantee in (("quix_alos", "at-least-once"), ("quix_eos", "exactly-once")):
        p = ns(name)
        out.append(
            Contender(
                name,
                p,
                [
                    py,
                    str(REPO / "bench/contenders/quix_app.py"),
                    bootstrap,
                    p + "quotes.raw",
                    p + "quotes.signals",
                    p + "alerts",
                    p + "group",
                    guarantee,
                    str(WORK / p),
                ],
            )
        )
    for name, guarantee in (
        ("kstreams_alos", "at_least_once"),
        ("kstreams_eos", "exactly_once_v2"),
    ):
        p = ns(name)
        out.append(
            Contender(
                name,
                p,
                [
                    "java",
                    "-Xmx1g",
                    "-cp",
                    java_cp,
                    "windvane.bench.QuoteTopology",
                    bootstrap,
                    p + "quotes.raw",
                    p + "quotes.signals",
                    p + "alerts",
                    p.replace(".", "-") + "app",
                    guarantee,
                    str(WORK / p),
                ],
            )
        )
    return out


def _windvane_env(bootstrap: str, prefix: str, guarantee: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "WINDVANE_TOPIC_PREFIX": prefix,
        "WINDVANE_APP_ID": prefix.rstrip(".").replace(".", "-"),
        "WINDVANE_WEB_PORT": str(free_port()),
        "WINDVANE_DATA_DIR": str(WORK / prefix),
        "PROCESSING_GUARANTEE": guarantee,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its waited-for children (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def wait_for_output(
    bootstrap: str,
    topic: str,
    n: int,
    procs: list[subprocess.Popen[bytes]],
    log: Path,
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"contender exited {proc.returncode}; see {log}")
        with contextlib.suppress(Exception):
            if (
                await end_offsets(bootstrap, topic) >= n
                and await committed_count(bootstrap, topic) >= n
            ):
                return
        await asyncio.sleep(1.0)
    raise RuntimeError(f"no {n} outputs on {topic} in {timeout:.0f}s; see {log}")


async def latency(
    bootstrap: str, c: Contender, live: list[tuple[bytes, bytes]], rate: float
) -> dict[str, float]:
    """Produce ``live`` at ``rate``/s; time each bar's signal at a read_committed consumer."""
    sent: dict[tuple[str, str], float] = {}
    seen: dict[tuple[str, str], float] = {}
    # wall clock of the send and the output's LogAppendTime: how much of the latency is
    # the contender's processing (until its output is in the log) and how much the wait
    # for its commit (a read_committed reader sees it only then)
    sent_wall: dict[tuple[str, str], float] = {}
    appended: dict[tuple[str, str], float] = {}
    consumer = AIOKafkaConsumer(
        c.signals,
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()

    async def read() -> None:
        while len(seen) < len(live):
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batch.values():
                for r in records:
                    v = orjson.loads(r.value)
                    # the raw pipe echoes its input (a bar or a tick): its day is the input's;
                    # a compact signal has its day as its event time's date
                    day = v.get("trading_day") or v.get("event_time", "")[:10]
                    k = (v["symbol"], day) if day else day_of(r.value)
                    seen.setdefault(k, now)
                    appended.setdefault(k, r.timestamp / 1000)

    partitioner = Partitioner()
    await partitioner.learn(producer, [c.input])
    reader = asyncio.create_task(read())
    try:
        # Every SEND_TICK the bars that are due go out together, one batch per partition
        # (the partition send() would choose): a send() per bar cost this process ~150 µs of
        # CPU a bar (a produce request each), most of a core beside the contender at 5,000/s.
        # Each bar's latency starts when its batch is handed to the producer.
        start = time.perf_counter()
        i, n = 0, len(live)
        while i < n:
            due = min(n, int((time.perf_counter() - start) * rate) + 1)
            if due > i:
                now, wall = time.perf_counter(), time.time()
                entries: list[Entry] = []
                for key, value in live[i:due]:
                    k = day_of(value)
                    sent[k], sent_wall[k] = now, wall
                    entries.append((c.input, None, key, value, None))
                await send_batches(producer, partitioner, entries)
                i = due
            await asyncio.sleep(max(SEND_TICK, start + i / rate - time.perf_counter()))
        await producer.flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, 120)
    finally:
        reader.cancel()
        await producer.stop()
        await consumer.stop()
    lat = sorted((seen[k] - t) * 1000 for k, t in sent.items() if k in seen)
    if not lat:
        return {"received": 0}
    to_log = sorted((appended[k] - t) * 1000 for k, t in sent_wall.items() if k in appended)

    def p99(xs: list[float]) -> float:
        return xs[min(len(xs) - 1, int(len(xs) * 0.99))]

    return {
        "rate": rate,
        "sent": len(sent),
        "received": len(lat),
        "p50_ms": statistics.median(lat),
        "p99_ms": p99(lat),
        "in_log_p50_ms": statistics.median(to_log),
        "in_log_p99_ms": p99(to_log),
    }


async def run_one(
    bootstrap: str,
    c: Contender,
    data: list[tuple[bytes, bytes]],
    live: list[tuple[bytes, bytes]],
    rate: float,
    expected: set[tuple[str, str, str]],
    broker_pid: int | None = None,
) -> dict[str, Any]:
    n = len(data)
    outputs = [c.signals] + ([c.alerts] if c.computes else [])
    await create_topics(bootstrap, [c.input], outputs)
    await produce(bootstrap, c.input, data)
    log = WORK / f"{c.name}.log"
    procs = [spawn(c, log, i) for i in range(c.processes)]
    result: dict[str, Any] = {"processes": c.processes}
    try:
        await wait_for_output(bootstrap, c.signals, n, procs, log, timeout=7200)
        count, _, (first, last) = await read_all(bootstrap, c.signals, None)
        result["outputs"] = count
        result["records_per_second"] = n / max(1e-3, (last - first) / 1000)
        if c.computes:
            _, alerts, _ = await read_all(bootstrap, c.alerts, orjson.loads)
            got = {(a["symbol"], a["trading_day"], a["direction"]) for a in alerts}
            result["alerts"] = len(alerts)
            result["alerts_missing"] = len(expected - got)
            result["alerts_extra"] = len(got - expected)
            result["alerts_duplicated"] = len(alerts) - len(got)
            result["agrees"] = got == expected and len(alerts) == len(got)
        cpu = sum(cpu_seconds(p.pid) for p in procs)
        # (this process's count includes its reaped children: the contenders before this
        # one, the same at both reads)
        others = cpu_seconds(os.getpid()), cpu_seconds(broker_pid) if broker_pid else 0.0
        result["latency"] = await latency(bootstrap, c, live, rate)
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu
        result["live_cpu_us_per_record"] = cpu / len(live) * 1e6
        # the rest of the machine in the same phase: this harness (producer and reader) and
        # the broker, which share its two cores with the contender
        harness_cpu = cpu_seconds(os.getpid()) - others[0]
        result["harness_cpu_us_per_record"] = harness_cpu / len(live) * 1e6
        if broker_pid:
            broker_cpu = cpu_seconds(broker_pid) - others[1]
            result["broker_cpu_us_per_record"] = broker_cpu / len(live) * 1e6
        rss = [peak_rss_mib(p.pid) for p in procs]
        result["peak_rss_mib"] = sum(r for r in rss if r) or None
    finally:
        for p in procs:
            terminate(p)
    return result


def spawn(c: Contender, log: Path, index: int = 0) -> subprocess.Popen[bytes]:
    """The contender as a process of its own (its own session), output to ``log``; a second
    windvane process of one contender gets its own web port and data directory."""
    env = dict(os.environ, **c.env)
    if index:
        log = log.with_name(f"{log.stem}.{index}{log.suffix}")
        if "WINDVANE_WEB_PORT" in env:
            env["WINDVANE_WEB_PORT"] = str(free_port())
            env["WINDVANE_DATA_DIR"] = env["WINDVANE_DATA_DIR"] + f"-{index}"
    return subprocess.Popen(c.argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            cwd=c.cwd, start_new_session=True)  # fmt: skip


def terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the contender's session; SIGKILL it after a minute."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def ensure_kstreams() -> None:
    jar = KSTREAMS / "target" / "windvane-bench-kstreams-1.jar"
    if not jar.exists():
        subprocess.run(["mvn", "-q", "-f", str(KSTREAMS / "pom.xml"), "package"], check=True)


def worktree(rev: str) -> Path:
    path = REPO / ".windvane" / "bench-before"
    if path.exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)], check=False
        )
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), rev],
        check=True,
        capture_output=True,
    )
    return path


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--symbols", type=int, default=1_000)
    ap.add_argument("--rate", type=float, default=5000.0, help="live records/s for latency")
    ap.add_argument("--live-seconds", type=float, default=20.0)
    ap.add_argument("--only", default="", help="comma-separated contender names")
    ap.add_argument("--before", default="", help="git revision: also run its worker")
    ap.add_argument(
        "--ticks-per-day",
        type=int,
        default=0,
        help="feed ticks (this many per bar) instead of daily bars: windvane and the raw pipe",
    )
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "quotes.json")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_kstreams()
    broker = LocalBroker(home=REPO / ".windvane" / "bench-kafka", port=29092, controller_port=29093)
    broker.up()
    bootstrap = broker.bootstrap
    rows = workload(args.records, args.symbols)
    data = encode(rows, args.ticks_per_day)
    # live: one tick (or bar) per symbol and new day, so each has its own first signal
    live = encode(live_bars(rows, int(args.rate * args.live_seconds)), min(1, args.ticks_per_day))
    if args.ticks_per_day:  # a day built from ticks is final when the next day begins
        last = {sym: d for d, sym, _ in rows}
        expected = reference_alerts([r for r in rows if r[0] != last[r[1]]])
    else:
        expected = reference_alerts(rows)
    run = f"b{uuid.uuid4().hex[:6]}"
    before = worktree(args.before) if args.before else None
    chosen = [
        c
        for c in contenders(bootstrap, run, before)
        if not args.only or c.name in args.only.split(",")
        if not args.ticks_per_day or c.name.startswith(("windvane", "raw_pipe"))
    ]
    results: dict[str, dict[str, Any]] = {}
    await drop_topics(bootstrap, r"^(?!__)")
    for c in chosen:
        print(f"{c.name}: running on {len(data)} records ...", flush=True)
        try:
            results[c.name] = await run_one(
                bootstrap, c, data, live, args.rate, expected, broker.pid()
            )
        finally:
            await drop_topics(bootstrap, rf"{run}[.-]{re.escape(c.name)}[.-]")
        print(f"{c.name}: {json.dumps(results[c.name])}", flush=True)
    report = summarise(args, rows, expected, results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(table(report))
    (args.out.with_suffix(".md")).write_text(table(report) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


def summarise(
    args: argparse.Namespace, rows: Bars, expected: set[Any], results: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    rate = {k: v["records_per_second"] for k, v in results.items()}
    ratios: dict[str, dict[str, float]] = {}
    for name in rate:
        ratios[name] = {f"vs_{other}": rate[name] / rate[other] for other in rate if other != name}
    return {
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "command": " ".join([".venv/bin/python", "bench/quotes.py", *sys.argv[1:]]),
        "records": len(rows) * max(1, args.ticks_per_day),
        "ticks_per_day": args.ticks_per_day,
        "symbols": args.symbols,
        "reference_alerts": len(expected),
        "contenders": results,
        "ratios": ratios,
    }


def table(report: dict[str, Any]) -> str:
    res = report["contenders"]
    raw = res.get("raw_pipe", {}).get("records_per_second")
    lines = [
        f"{report['records']:,} "
        + (
            f"ticks ({report['ticks_per_day']} a day)"
            if report.get("ticks_per_day")
            else "daily bars"
        )
        + f" over {report['symbols']:,} symbols, 8 partitions, "
        f"{report['machine']['cpus']} CPUs, {report['when']} (`{report['command']}`)",
        "",
        "| contender | records/s | x raw pipe | p50 ms | p99 ms | in log p50 / p99 ms | live CPU µs/record | harness / broker CPU µs/record | peak RSS MiB (all processes) | alerts agree |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in res.items():
        lat = r.get("latency", {})
        agree = (
            "n/a"
            if "agrees" not in r
            else (
                "yes"
                if r["agrees"]
                else f"NO (missing {r['alerts_missing']}, extra {r['alerts_extra']}, dup {r['alerts_duplicated']})"
            )
        )
        ratio = f"{r['records_per_second'] / raw:.3f}" if raw else "-"
        p50 = f"{lat['p50_ms']:.0f}" if "p50_ms" in lat else "-"
        p99 = f"{lat['p99_ms']:.0f}" if "p99_ms" in lat else "-"
        in_log = (
            f"{lat['in_log_p50_ms']:.0f} / {lat['in_log_p99_ms']:.0f}"
            if "in_log_p50_ms" in lat
            else "-"
        )
        rss = f"{r['peak_rss_mib']:.0f}" if r.get("peak_rss_mib") else "-"
        live_cpu = f"{r['live_cpu_us_per_record']:.0f}" if "live_cpu_us_per_record" in r else "-"
        rest = "-"
        if "harness_cpu_us_per_record" in r:
            rest = f"{r['harness_cpu_us_per_record']:.0f} / " + (
                f"{r['broker_cpu_us_per_record']:.0f}" if "broker_cpu_us_per_record" in r else "-"
            )
        lines.append(
            f"| {name} | {r['records_per_second']:,.0f} | {ratio} | {p50} | {p99} | {in_log} | {live_cpu} | {rest} | {rss} | {agree} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    asyncio.run(main())
