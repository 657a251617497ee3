"""windvane's quote path from 100 to 10,000 symbols: throughput and peak RSS at a fixed number
of records, the state's bytes per symbol, and the time a restarted worker takes to restore
its tasks at 10,000 symbols. Same broker as bench/quotes.py; figures to bench/out/scaling.json.

    .venv/bin/python bench/scaling.py [--records 200000] [--symbols 100,1000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.quotes import (  # noqa: E402
    WORK,
    Contender,
    _windvane_env,
    create_topics,
    encode,
    peak_rss_mib,
    produce,
    read_all,
    spawn,
    terminate,
    wait_for_output,
    workload,
)
from streams.domain.instruments import Registry  # noqa: E402
from streams.domain.quotes import QuoteEngine  # noqa: E402
from streams.domain.rules import RuleBook  # noqa: E402
from streams.pipeline import QuotePipeline, SourceRecord  # noqa: E402
from streams.tools.kafka_local import LocalBroker  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def state_bytes() -> dict[str, float]:
    """Bytes one symbol costs once its 250-close ring is full, and per trading day kept."""
    rows = workload(400, 1)
    pipeline = QuotePipeline(QuoteEngine(RuleBook.default(), Registry.load(None)), lambda: 0)
    store: dict[bytes, Any] = {}
    days: dict[bytes, bytes] = {}
    for i, (key, value) in enumerate(encode(rows)):
        pipeline.process(key, value, SourceRecord("quotes.raw", 0, i), store, days)
    (state,) = store.values()
    return {
        "state_bytes_per_symbol": len(state.to_bytes()),
        "day_record_bytes_per_symbol_day": sum(len(v) for v in days.values()) / len(days),
    }


def start(c: Contender) -> tuple[subprocess.Popen[bytes], Path]:
    log = WORK / f"scaling-{c.name}-{int(time.time())}.log"
    return spawn(c, log), log


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 600) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError("worker exited")
        url = f"http://127.0.0.1:{port}/readyz"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as resp:
            if resp.status == 200:
                return time.perf_counter() - started
        time.sleep(0.1)
    raise RuntimeError("worker not ready")


async def one(bootstrap: str, run: str, symbols: int, records: int) -> dict[str, Any]:
    prefix = f"{run}.s{symbols}."
    env = _windvane_env(bootstrap, prefix, "exactly_once")
    c = Contender(f"s{symbols}", prefix, [str(VENV_BIN / "windvane"), "worker", "-l", "info"], env)
    data = encode(workload(records, symbols))
    await create_topics(bootstrap, [c.input], [c.signals, c.alerts])
    await produce(bootstrap, c.input, data)
    proc, log = start(c)
    try:
        await wait_for_output(bootstrap, c.signals, len(data), proc, log, timeout=3600)
        _, _, (first, last) = await read_all(bootstrap, c.signals, None)
        out: dict[str, Any] = {
            "records": len(data),
            "records_per_second": len(data) / max(1e-3, (last - first) / 1000),
            "peak_rss_mib": peak_rss_mib(proc.pid),
        }
    finally:
        terminate(proc)
    # a restart: a new process restores every task from the changelogs
    env = dict(env, WINDVANE_DATA_DIR=str(WORK / f"{prefix}restart"))
    c = Contender(c.name, prefix, c.argv, env)
    proc, log = start(c)
    try:
        out["restart_to_ready_seconds"] = wait_ready(int(env["WINDVANE_WEB_PORT"]), proc)
        restored = re.findall(r"restored (\d+) changelog records .* in ([\d.]+) s", log.read_text())
        out["restored_records"] = sum(int(n) for n, _ in restored)
        out["restore_seconds"] = sum(float(s) for _, s in restored)
        out["rss_after_restore_mib"] = peak_rss_mib(proc.pid)
    finally:
        terminate(proc)
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--symbols", default="100,1000,10000")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "scaling.json")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    broker = LocalBroker(home=REPO / ".windvane" / "bench-kafka", port=29092, controller_port=29093)
    broker.up()
    run = f"sc{uuid.uuid4().hex[:6]}"
    report: dict[str, Any] = {
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/scaling.py", *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        **state_bytes(),
        "by_symbols": {},
    }
    for symbols in (int(s) for s in args.symbols.split(",")):
        print(f"{symbols} symbols ...", flush=True)
        report["by_symbols"][str(symbols)] = await one(broker.bootstrap, run, symbols, args.records)
        print(json.dumps(report["by_symbols"][str(symbols)]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    lines = [
        f"windvane exactly-once, {args.records:,} records, {report['when']} (`{report['command']}`);"
        f" state {report['state_bytes_per_symbol']:,} B per symbol (250-close ring full) + "
        f"{report['day_record_bytes_per_symbol_day']:.0f} B per symbol per trading day kept",
        "",
        "| symbols | records/s | peak RSS MiB | restart to ready s | restore s (records) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for symbols, r in report["by_symbols"].items():
        lines.append(
            f"| {int(symbols):,} | {r['records_per_second']:,.0f} | {r['peak_rss_mib']:.0f} | "
            f"{r['restart_to_ready_seconds']:.1f} | {r['restore_seconds']:.2f} "
            f"({r['restored_records']:,}) |"
        )
    text = "\n".join(lines)
    print(text)
    args.out.with_suffix(".md").write_text(text + "\n")


if __name__ == "__main__":
    asyncio.run(main())
