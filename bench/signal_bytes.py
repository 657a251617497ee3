"""Bytes of a ``quotes.signals`` record, full shape against compact (``WINDVANE_SIGNAL_SHAPE``).

The same inputs go through the path the worker runs (``Task.process`` in rounds of 4,000,
``take_commit``, ``Checkpoint``'s headers: ``CloudEvents("windvane")``) once per shape, and
each signal record is measured: its value, and its CloudEvents headers as a Kafka record
(format v2) carries them (a varint count, then per header a varint length, the name, a
varint length, the value). The key (the symbol) and the record's own framing are the same
in both shapes and are not counted. No compression: the worker's producers use none. Every
compact value is expanded (``streams.signal_shapes.expand``) and must give the full bytes,
else the command fails.

Feeds: every file of ../shared/data/quotes as daily bars (as ``windvane replay`` sends
them), the same files as ticks (each day's open, first extreme, other extreme, close), and
``bench/quotes.py``'s workload (real closes scaled over 1,000 symbols, 250-day warm-up
included).

    .venv/bin/python bench/signal_bytes.py [--workload-records 200000] [--out bench/out/signal-bytes.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import ConsumerRecord

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from streams.article_pipeline import ArticlePipeline  # noqa: E402
from streams.cloudevents import CloudEvents  # noqa: E402
from streams.domain.articles.article import ArticleEnricher  # noqa: E402
from streams.domain.instruments import Registry  # noqa: E402
from streams.domain.quotes import QuoteEngine  # noqa: E402
from streams.domain.rules import RuleBook  # noqa: E402
from streams.pipeline import OutRecord, QuotePipeline  # noqa: E402
from streams.runtime.task import Task  # noqa: E402
from streams.signal_shapes import SignalShape, expand  # noqa: E402
from streams.tools.sources import bar_as_ticks, quote_records  # noqa: E402
from tests.reference import QUOTES  # noqa: E402

TOPIC = "quotes.raw"
SIGNALS = "quotes.signals"
ROUND = 4000
Inputs = list[tuple[bytes, bytes]]


# -- feeds ------------------------------------------------------------------------------


def real_bars() -> Inputs:
    return [r for path in sorted(QUOTES.glob("*.csv")) for r in quote_records(path, path.stem)]


def real_ticks() -> Inputs:
    """Each day's bar as ticks in Hong Kong hours (``streams.tools.sources.bar_as_ticks``)."""
    return [(key, tick) for key, raw in real_bars() for tick in bar_as_ticks(raw)]


def bench_workload(records: int) -> Inputs:
    from quotes import encode, workload

    return encode(workload(records, 1000))


# -- measuring ----------------------------------------------------------------------------


def signals(inputs: Inputs, shape: SignalShape) -> list[OutRecord]:
    """The signal records of ``inputs`` through one task of a worker with ``shape``."""
    registry = Registry.load(None)
    engine = QuoteEngine(RuleBook.load(None), registry)
    quotes = QuotePipeline(engine, clock=lambda: 1_760_000_000_000, signal_shape=shape)
    task = Task(0, quotes, ArticlePipeline(ArticleEnricher(registry), clock=lambda: 0))
    records = [
        ConsumerRecord(TOPIC, 0, i, 0, 0, k, v, None, len(k), len(v), ())
        for i, (k, v) in enumerate(inputs)
    ]
    out: list[OutRecord] = []
    for start in range(0, len(records), ROUND):
        task.process(records[start : start + ROUND], TOPIC)
        out += [r for r in task.take_commit().batch.records if r.topic == SIGNALS]
    return out


def varint_size(n: int) -> int:
    """Bytes of ``n`` as a Kafka (zigzag) varint."""
    z, size = (n << 1) ^ (n >> 63), 1
    while z >= 0x80:
        z >>= 7
        size += 1
    return size


def header_bytes(headers: list[tuple[str, bytes]]) -> int:
    size = varint_size(len(headers))
    for name, value in headers:
        raw = name.encode()
        size += varint_size(len(raw)) + len(raw) + varint_size(len(value)) + len(value)
    return size


def summary(sizes: list[int]) -> dict[str, float]:
    ranked = sorted(sizes)
    return {
        "mean": statistics.fmean(ranked),
        "p50": ranked[len(ranked) // 2],
        "p99": ranked[min(len(ranked) - 1, int(len(ranked) * 0.99))],
        "total": sum(ranked),
    }


def measure(name: str, inputs: Inputs) -> dict[str, Any]:
    """Value and header bytes of each shape's signals; the compact ones expanded and checked."""
    events = CloudEvents("windvane")
    shapes: dict[str, Any] = {}
    runs = {shape: signals(inputs, shape) for shape in ("full", "compact")}
    for shape, records in runs.items():
        values = [len(r.value) for r in records]
        heads = [header_bytes(events.headers(SIGNALS, r.event) or []) for r in records]
        shapes[shape] = {
            "value": summary(values),
            "headers": summary(heads),
            "both": summary([v + h for v, h in zip(values, heads, strict=True)]),
        }
    full, small = runs["full"], runs["compact"]
    lossless = sum(
        orjson.dumps(expand(orjson.loads(c.value))) == f.value
        for f, c in zip(full, small, strict=True)
    )
    if lossless != len(full):
        raise SystemExit(f"{name}: {len(full) - lossless} compact values do not expand exactly")
    return {"feed": name, "inputs": len(inputs), "signals": len(full), "shapes": shapes}


# -- report -------------------------------------------------------------------------------

PARTS = (("value", "value"), ("headers", "headers"), ("both", "value + headers"))


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| feed | signals | part | full mean / p50 / p99 B | compact mean / p50 / p99 B "
        "| compact / full (mean) |\n|---|---:|---|---:|---:|---:|"
    )
    lines = [head]
    for res in results:
        for part, label in PARTS:
            f, c = res["shapes"]["full"][part], res["shapes"]["compact"][part]
            lines.append(
                f"| {res['feed']} | {res['signals']:,} | {label} | {stats(f)} | {stats(c)} "
                f"| {c['mean'] / f['mean']:.3f} |"
            )
    return "\n".join(lines)


def stats(s: dict[str, float]) -> str:
    return f"{s['mean']:.1f} / {s['p50']:.0f} / {s['p99']:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload-records", type=int, default=200_000,
                        help="bench/quotes.py's workload size (0: leave it out)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "signal-bytes.json")
    args = parser.parse_args()
    feeds: list[tuple[str, Callable[[], Inputs]]] = [
        ("shared/data/quotes, daily bars", real_bars),
        ("shared/data/quotes, 4 ticks a day", real_ticks),
    ]
    if args.workload_records:
        n = args.workload_records
        feeds.append((f"bench/quotes.py workload, {n:,} bars", lambda: bench_workload(n)))
    results = []
    for name, feed in feeds:
        results.append(measure(name, feed()))
        print(f"{name}: {results[-1]['signals']:,} signals, every compact value expands exactly")
    argv = " ".join(sys.argv[1:])
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    report = {
        "when": when,
        "command": f".venv/bin/python bench/signal_bytes.py {argv}".strip(),
        "python": platform.python_version(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{when} (`{report['command']}`)\n")
    print(table(results))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
