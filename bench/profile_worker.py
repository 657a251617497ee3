"""Profile a running worker with py-spy: preload N bars (bench/quotes.py's workload) into a
broker of its own, start ``windvane worker`` under ``py-spy record`` and print the functions
with the most samples (self and total). A tool for finding where time goes, not a benchmark.
With ``--rate``, the worker first catches up on the N bars unprofiled, then py-spy records it
while bars of the following days arrive at that rate (bench/quotes.py's latency phase).

    .venv/bin/python bench/profile_worker.py [--records 200000] [--seconds 40] [--guarantee exactly_once]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from quotes import (  # noqa: E402
    VENV_BIN,
    create_topics,
    drop_topics,
    encode,
    produce,
    wait_for_output,
    workload,
)

from streams.tools.kafka_local import LocalBroker, free_port  # noqa: E402


def top(collapsed: Path, n: int) -> str:
    """Self and total samples per function from py-spy's raw (collapsed) output."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        k = int(count)
        samples += k
        frames = [f.split(" (")[0] + " " + f.split("/")[-1].rstrip(")") for f in stack.split(";")]
        own[frames[-1]] += k
        for f in set(frames):
            total[f] += k
    rows = [f"samples: {samples}", "self%  total%  function"]
    for name, k in own.most_common(n):
        rows.append(f"{100 * k / samples:5.1f}  {100 * total[name] / samples:6.1f}  {name}")
    return "\n".join(rows)


async def live(
    bootstrap: str, topic: str, rate: float, seconds: float, records: int, symbols: int
) -> None:
    """Bars of new days at ``rate``/s for ``seconds`` (a live feed, as the latency phase)."""
    from aiokafka import AIOKafkaProducer
    from quotes import live_bars

    rows = live_bars(workload(records, symbols), int(rate * seconds))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        start = asyncio.get_running_loop().time()
        for i, (key, value) in enumerate(encode(rows)):
            delay = start + i / rate - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)
            await producer.send(topic, value=value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--symbols", type=int, default=1_000)
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--guarantee", default="exactly_once")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument(
        "--rate", type=float, default=0.0, help="live records/s while profiling (after the backlog)"
    )
    args = ap.parse_args()
    broker = LocalBroker(
        home=REPO / ".windvane" / "profile-kafka", port=29192, controller_port=29193
    )
    broker.up()
    prefix = f"p{uuid.uuid4().hex[:6]}."
    await create_topics(
        broker.bootstrap, [prefix + "quotes.raw"], [prefix + "quotes.signals", prefix + "alerts"]
    )
    await produce(
        broker.bootstrap, prefix + "quotes.raw", encode(workload(args.records, args.symbols))
    )
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "profile.txt"
    env = dict(
        os.environ,
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
        WINDVANE_TOPIC_PREFIX=prefix,
        WINDVANE_APP_ID=prefix.rstrip("."),
        WINDVANE_WEB_PORT=str(free_port()),
        WINDVANE_DATA_DIR=str(REPO / ".windvane" / "profile-work" / prefix),
        PROCESSING_GUARANTEE=args.guarantee,
    )
    spy = [str(VENV_BIN / "py-spy"), "record", "--format", "raw", "-o", str(raw), "-r", "200",
           "-d", str(args.seconds)]  # fmt: skip
    worker = [str(VENV_BIN / "windvane"), "worker", "-l", "warn"]
    if not args.rate:
        proc = subprocess.Popen([*spy, "--", *worker], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        await asyncio.get_running_loop().run_in_executor(None, proc.wait)
    else:
        log = REPO / ".windvane" / "profile-work" / f"{prefix}log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink:
            proc = subprocess.Popen(worker, env=env, stdout=sink, stderr=subprocess.STDOUT)
        await wait_for_output(
            broker.bootstrap, prefix + "quotes.signals", args.records, [proc], log, 3600
        )
        sampler = subprocess.Popen([*spy, "--pid", str(proc.pid)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        feed = prefix + "quotes.raw"
        await live(broker.bootstrap, feed, args.rate, args.seconds, args.records, args.symbols)
        await asyncio.get_running_loop().run_in_executor(None, sampler.wait)
        proc.terminate()
        proc.wait(30)
    subprocess.run(["pkill", "-f", f"WINDVANE_TOPIC_PREFIX={prefix}"], check=False)
    await drop_topics(broker.bootstrap, f"^{prefix.rstrip('.')}[.-]")  # the broker keeps data
    print(top(raw, args.top))
    broker.down()


if __name__ == "__main__":
    asyncio.run(main())
