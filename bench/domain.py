"""The quote path's CPU per record, in-process (no Kafka): bench/quotes.py's workload through
``streams.runtime.task.Task.process`` and ``Task.take_commit``, for the working tree and for
a baseline git revision in the same run, and a sha256 over every output so the two are
checked byte-identical by the same command.

Each tree runs in its own process (``PYTHONPATH`` = that tree; the baseline is a ``git
archive`` of ``--baseline`` under ``.windvane/bench-domain/``). The records are split over 8
tasks by the Java partitioner and fed as the runner does: rounds of up to 4,000 records (one
``getmany``), each task's share to its ``Task.process``, then ``take_commit`` of every task
(what a commit round encodes). Per tree and rules file:

* a hash pass with a fixed clock (also the warm-up): sha256 over (topic, key, value) of every
  output record in order (``outputs``) and over every changelog entry (``state``); tree and
  baseline must print the same hashes, else the command fails. An alert's ``summary`` (its
  last field, added with the rule plug-ins) is cut off its bytes first, so a tree from before
  it compares; ``summaries`` counts the alerts that had one;
* ``--repeat`` timed passes with the worker's clock (``utc_now_ms``), alternating between the
  trees (ABBA; each pass starts from empty tasks); the figure is the **median** CPU time of
  the process (``time.process_time``: other load on the machine does not count) in µs per
  input record (the best is printed too). ``process`` is ``Task.process`` alone; ``+commit`` adds
  ``take_commit``; ``+entries`` adds ``Checkpoint.entries`` (the records as sent: topic, key,
  value and, since CloudEvents, headers). Ratio = baseline / tree (above 1: the tree is
  faster).

    .venv/bin/python bench/domain.py [--records 200000] [--symbols 1000] [--ticks-per-day 0]
        [--repeat 5] [--baseline REV] [--rules examples/rules.toml,default]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import itertools
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".windvane" / "bench-domain"
PARTITIONS = 8
ROUND = 4000  # records per getmany (the runner's max_records)
FIXED_NOW = 1_700_000_000_000  # the hash pass's clock
TOPIC = "quotes.raw"
DEFAULT_BASELINE = "43b741e"  # the runtime branch before the speed work of issue 11

WHAT = ("process", "total", "entries")  # the timed figures, each including the one before

Records = list[tuple[int, int, bytes, bytes]]  # (partition, offset, key, value)


# -- parent: workload, trees, alternation ---------------------------------------------------


def make_workload(records: int, symbols: int, ticks_per_day: int, live: bool = False) -> Path:
    """bench/quotes.py's records, partitioned, pickled once per shape (both trees read it).
    ``live``: the bars in a live feed's order (each symbol's next day in turn, round-robin
    over the symbols) rather than the history's (a symbol's days together)."""
    sys.path.insert(0, str(REPO / "bench"))
    from aiokafka.partitioner import murmur2
    from quotes import encode, workload

    shape = f"{records}-{symbols}-{ticks_per_day}" + ("-live" if live else "")
    path = WORK / f"workload-{shape}.pickle"
    if path.exists():
        return path
    rows = workload(records, symbols)
    if live:
        by_symbol: dict[str, list[Any]] = {}
        for row in rows:
            by_symbol.setdefault(row[1], []).append(row)
        rows = [r for turn in itertools.zip_longest(*by_symbol.values()) for r in turn if r]
    data = encode(rows, ticks_per_day)
    offsets = [0] * PARTITIONS
    out: Records = []
    for key, value in data:
        p = (murmur2(key) & 0x7FFFFFFF) % PARTITIONS
        out.append((p, offsets[p], key, value))
        offsets[p] += 1
    WORK.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)
    return path


def baseline_tree(rev: str) -> Path:
    """The files of ``rev`` (git archive: no worktree, nothing in .git changes), cached."""
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    path = WORK / f"tree-{sha[:12]}"
    if not (path / "streams" / "__init__.py").exists():
        tmp = WORK / f"tree-{sha[:12]}.tmp"
        subprocess.run(["rm", "-rf", str(tmp)], check=True)
        tmp.mkdir(parents=True)
        archive = subprocess.Popen(["git", "-C", str(REPO), "archive", sha], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(tmp)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise SystemExit(f"git archive {rev} failed")
        tmp.replace(path)
    return path


class Child:
    """One tree's timing process, driven line by line over stdin/stdout."""

    def __init__(self, name: str, tree: Path, workload: Path, rules: str, round_: int) -> None:
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(tree)}
        argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(workload), rules,
                str(round_)]  # fmt: skip
        self.proc = subprocess.Popen(
            argv, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, command: str) -> dict[str, Any]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(command + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise SystemExit(f"{self.name}: the timing process died (exit {self.proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def compare(
    workload: Path, trees: dict[str, Path], rules: str, repeat: int, round_: int
) -> dict[str, Any]:
    children = {name: Child(name, tree, workload, rules, round_) for name, tree in trees.items()}
    try:
        hashes = {name: c.ask("hash") for name, c in children.items()}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in children}
        order = list(children)
        for _ in range(repeat):
            for name in order:  # alternate, ABBA: noise and order hit both trees alike
                runs[name].append(children[name].ask("time"))
            order.reverse()
    finally:
        for c in children.values():
            c.close()
    out: dict[str, Any] = {"rules": rules, "hashes": hashes, "us_per_record": {}}
    for name, rs in runs.items():
        n = rs[0]["records"]
        out["us_per_record"][name] = {
            what: {
                "median": statistics.median(r[what] for r in rs) / n * 1e6,
                "best": min(r[what] for r in rs) / n * 1e6,
                "all": [round(r[what] / n * 1e6, 2) for r in rs],
            }
            for what in WHAT
        }
    if "baseline" in runs:
        us = out["us_per_record"]
        out["ratio_baseline_over_tree"] = {
            what: us["baseline"][what]["median"] / us["tree"][what]["median"] for what in WHAT
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000, help="daily bars (as bench/quotes)")
    ap.add_argument("--symbols", type=int, default=1_000)
    ap.add_argument("--ticks-per-day", type=int, default=0, help="ticks per bar instead of bars")
    ap.add_argument("--repeat", type=int, default=5, help="timed passes per tree (median)")
    ap.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision; '' for none")
    ap.add_argument(
        "--rules", default="examples/rules.toml,default", help="rules files (comma-separated)"
    )
    ap.add_argument(
        "--round",
        type=int,
        default=ROUND,
        help="records per round (one getmany, then take_commit): 4,000 as in a catch-up; "
        "a live feed at 5,000/s has a few hundred a round, so each symbol's state is "
        "encoded for (nearly) every record",
    )
    ap.add_argument(
        "--live-order",
        action="store_true",
        help="bars in a live feed's order (round-robin over the symbols), not symbol by symbol",
    )
    ap.add_argument(
        "--state-format-changed",
        action="store_true",
        help="the baseline writes another state format: only the outputs must be identical",
    )
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "domain.json")
    ap.add_argument(
        "--child", nargs=3, metavar=("WORKLOAD", "RULES", "ROUND"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1], int(args.child[2]), sys.stdin, sys.stdout)
        return
    workload = make_workload(args.records, args.symbols, args.ticks_per_day, args.live_order)
    trees = {"tree": REPO}
    if args.baseline:
        trees["baseline"] = baseline_tree(args.baseline)
    results = []
    failed = False
    for rules in args.rules.split(","):
        rules_arg = rules if rules == "default" else str((REPO / rules).resolve())
        result = compare(workload, trees, rules_arg, args.repeat, args.round)
        result["rules"] = rules
        results.append(result)
        compared = ("outputs",) if args.state_format_changed else ("outputs", "state")
        failed |= len({tuple(h[k] for k in compared) for h in result["hashes"].values()}) > 1
    feed = f"{args.ticks_per_day} ticks a bar" if args.ticks_per_day else "daily bars"
    if args.live_order:
        feed += " in a live feed's order"
    command = "python bench/domain.py " + " ".join(sys.argv[1:])
    report = {
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "command": command.strip(),
        "records": pickle.loads(workload.read_bytes()).__len__(),
        "feed": feed,
        "baseline": args.baseline,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"{report['records']:,} records ({feed}, {args.symbols:,} symbols), {command.strip()}")
    print(f"µs per record, median of {args.repeat} (best in brackets); ratio = baseline / tree")
    for r in results:
        us = r["us_per_record"]
        for what, label in zip(WHAT, ("Task.process", "+ take_commit", "+ entries"), strict=True):
            line = f"  {r['rules']:<20} {label:<14} tree {_fig(us['tree'][what])}"
            if "baseline" in us:
                ratio = r["ratio_baseline_over_tree"][what]
                line += f"  baseline {_fig(us['baseline'][what])}  ratio {ratio:.2f}x"
            print(line)
        for name, h in r["hashes"].items():
            print(
                f"  {r['rules']:<20} sha256 {name:<8} outputs {h['outputs']}  state {h['state']}"
                f"  ({h['summaries']} alerts with a summary)"
            )
    print(f"wrote {args.out}")
    if failed:
        raise SystemExit("OUTPUTS DIFFER: the tree and the baseline hash differently (above)")
    if args.baseline:
        what = "outputs" if args.state_format_changed else "outputs and state"
        print(f"{what} byte-identical to the baseline")


def _fig(x: dict[str, float]) -> str:
    return f"{x['median']:6.2f} ({x['best']:6.2f})"


# -- child: one tree, imported from PYTHONPATH ----------------------------------------------


class Hashes:
    """sha256 over every output record (topic, key, value) in order, and over every changelog
    entry (state and day records, sorted within a commit), each part length-prefixed."""

    def __init__(self) -> None:
        self.outputs = hashlib.sha256()
        self.state = hashlib.sha256()
        self.summaries = 0

    def without_summary(self, value: bytes) -> bytes:
        """An alert's bytes without its trailing ``"summary"`` field (byte for byte)."""
        import orjson

        text = orjson.loads(value).get("summary")
        if text is None:
            return value
        suffix = b',"summary":' + orjson.dumps(text) + b"}"
        if not value.endswith(suffix):
            raise SystemExit(f"summary is not the alert's last field: {value!r}")
        self.summaries += 1
        return value[: -len(suffix)] + b"}"

    def add(self, commits: list[Any]) -> None:
        for c in commits:
            for r in c.batch.records:
                value = self.without_summary(r.value) if r.topic == "alerts" else r.value
                for part in (r.topic.encode(), r.key or b"", value):
                    self.outputs.update(len(part).to_bytes(4, "big") + part)
            for k, v in sorted(c.states) + sorted(c.days):
                for part in (k, v or b""):
                    self.state.update(len(part).to_bytes(4, "big") + part)

    def answer(self) -> dict[str, Any]:
        return {"outputs": self.outputs.hexdigest(), "state": self.state.hexdigest()}


def child(workload: Path, rules: str, round_: int, commands: IO[str], answers: IO[str]) -> None:
    """Serve ``hash`` and ``time`` commands for the tree on ``PYTHONPATH`` (imports here)."""
    from aiokafka import ConsumerRecord

    from streams.article_pipeline import ArticlePipeline
    from streams.domain.articles.article import ArticleEnricher
    from streams.domain.instruments import Registry
    from streams.domain.quotes import QuoteEngine
    from streams.domain.rules import RuleBook
    from streams.domain.timeutil import utc_now_ms
    from streams.pipeline import QuotePipeline
    from streams.runtime.checkpoint import Checkpoint
    from streams.runtime.task import Task

    raw: Records = pickle.loads(workload.read_bytes())
    records = [
        ConsumerRecord(TOPIC, p, o, 0, 0, k, v, None, len(k), len(v), ()) for p, o, k, v in raw
    ]
    registry = Registry.load(None)
    engine = QuoteEngine(RuleBook.load(None if rules == "default" else rules), registry)
    claims = ArticlePipeline(ArticleEnricher(registry), clock=lambda: FIXED_NOW)
    # what a commit round sends (Checkpoint.entries: the records, with their headers in trees
    # that have them), without a producer: entries() reads no client but the app id
    clients: Any = SimpleNamespace(settings=SimpleNamespace(app_id="windvane"))
    checkpoint = Checkpoint(clients, lambda t: t, "state-changelog", "days-changelog")

    def run(clock: Any, sink: Any) -> tuple[float, float, float]:
        quotes = QuotePipeline(engine, clock)
        tasks = {p: Task(p, quotes, claims, 400) for p in range(PARTITIONS)}
        spent_process = spent_commit = spent_entries = 0.0
        perf = time.process_time  # CPU time: other processes on the machine do not count
        for start in range(0, len(records), round_):
            by_task: dict[int, list[Any]] = {}
            for rec in records[start : start + round_]:
                by_task.setdefault(rec.partition, []).append(rec)
            t0 = perf()
            for p, batch in by_task.items():
                tasks[p].process(batch, TOPIC)
            t1 = perf()
            commits = [tasks[p].take_commit() for p in by_task]
            t2 = perf()
            for c in commits:
                checkpoint.entries(c)
            t3 = perf()
            spent_process += t1 - t0
            spent_commit += t2 - t1
            spent_entries += t3 - t2
            if sink is not None:
                sink(commits)
        total = spent_process + spent_commit
        return spent_process, total, total + spent_entries

    for command in commands:
        command = command.strip()
        gc.collect()
        if command == "hash":
            hashes = Hashes()
            run(lambda: FIXED_NOW, hashes.add)
            answer: dict[str, Any] = {**hashes.answer(), "summaries": hashes.summaries}
        elif command == "time":
            process, total, entries = run(utc_now_ms, None)
            answer = {
                "process": process,
                "total": total,
                "entries": entries,
                "records": len(records),
            }
        else:
            raise SystemExit(f"unknown command {command!r}")
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
