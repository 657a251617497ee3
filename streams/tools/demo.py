"""``windvane demo``: the main job on real data, from a clone alone.

Starts the local broker and a worker, replays HSTECH and HSI daily closes, and prints the
alerts the worker published, read back from Kafka like any downstream consumer would.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from streams import codec
from streams.config import (
    ALERTS,
    ARTICLES_ENRICHED,
    QUOTES_RAW,
    QUOTES_SIGNALS,
    REPO_ROOT,
    TOPICS,
    Settings,
)
from streams.kafka_io import ensure_topics, produce_records, tail
from streams.tools.kafka_local import LocalBroker, free_port, port_open
from streams.tools.sources import quote_records

SAMPLES = REPO_ROOT / "samples" / "quotes"
DEMO_PREFIX = "demo."
DEMO_APP = "windvane-demo"


async def reset_demo_topics(settings: Settings) -> None:
    """Delete what an earlier demo left (its topics and changelogs): each run starts clean."""
    admin = AIOKafkaAdminClient(**settings.client_kwargs())
    await admin.start()
    try:
        stale = [
            t
            for t in await admin.list_topics()
            if t.startswith(DEMO_PREFIX) or t.startswith(DEMO_APP + "-")
        ]
        if stale:
            await admin.delete_topics(stale)
            await asyncio.sleep(2)
    finally:
        await admin.close()


def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"worker exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"worker not ready after {timeout:.0f}s; see {log}")


async def produce_files(settings: Settings, files: list[tuple[Path, str]]) -> int:

    total = 0
    for path, symbol in files:
        records = list(quote_records(path, symbol))
        total += await produce_records(settings, settings.topic(QUOTES_RAW), records)
    return total


async def collect(
    settings: Settings, expected_signals: int, timeout: float = 180
) -> list[dict[str, Any]]:
    """Wait until the worker emitted a final signal per bar, then read every alert."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        seen = 0
        async for _ in tail(settings, settings.topic(QUOTES_SIGNALS), True, 1.5):
            seen += 1
        if seen >= expected_signals:
            break
    alerts = []
    async for rec in tail(settings, settings.topic(ALERTS), True, 1.5):
        alerts.append(codec.loads(rec.value) if rec.value else {})
    return alerts


def render(console: Console, alerts: list[dict[str, Any]], since: str, until: str) -> None:
    def in_window(a: dict[str, Any]) -> bool:
        return bool(since <= a["trading_day"] <= until)

    shown = sorted(filter(in_window, alerts), key=lambda a: (a["trading_day"], a["symbol"]))
    table = Table(
        title=f"60-day-line alerts, {since} .. {until}", header_style="bold", title_justify="left"
    )
    for col, justify in (
        ("trading day", "left"),
        ("symbol", "left"),
        ("direction", "left"),
        ("close", "right"),
        ("SMA60", "right"),
        ("vs SMA", "right"),
        ("prev close / SMA60", "right"),
        ("alert id", "left"),
        ("", "left"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for a in shown:
        below = a["direction"] == "below"
        arrow = "[red]▼ below[/red]" if below else "[green]▲ above[/green]"
        article = (a["symbol"], a["trading_day"]) == ("HSTECH", "2025-10-17")
        table.add_row(
            a["trading_day"],
            a["symbol"],
            arrow,
            f"{a['price']:,.2f}",
            f"{a['sma']:,.2f}",
            f"{(a['price'] - a['sma']) / a['sma'] * 100:+.2f}%",
            f"{a['prev_price']:,.2f} / {a['prev_sma']:,.2f}",
            a["id"][:8],
            "◀ article" if article else "",
            style="bold" if article else None,
        )
    console.print(table)
    counts: dict[str, int] = {}
    latest: dict[str, dict[str, Any]] = {}
    for a in alerts:
        counts[a["symbol"]] = counts.get(a["symbol"], 0) + 1
        if a["trading_day"] > latest.get(a["symbol"], {}).get("trading_day", ""):
            latest[a["symbol"]] = a
    for symbol in sorted(counts):
        last = latest[symbol]
        console.print(
            f"{symbol}: {counts[symbol]} crossings over its whole history; latest "
            f"{last['trading_day']} {last['direction']} at {last['price']:,.2f} (SMA60 {last['sma']:,.2f})"
        )


SAMPLE_ARTICLE = REPO_ROOT / "samples" / "articles" / "hstech-60-day-line.txt"


async def publish_article(settings: Settings) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from streams.config import ARTICLES_CLAIMS, ARTICLES_RAW
    from streams.tools.sources import article_records

    records = list(
        article_records(SAMPLE_ARTICLE, "2025-10-20", "windvane-samples", "sample-hstech")
    )
    await produce_records(settings, settings.topic(ARTICLES_RAW), records)
    deadline = time.monotonic() + 60
    claims: list[dict[str, Any]] = []
    enriched: dict[str, Any] = {}
    while time.monotonic() < deadline:
        async for rec in tail(settings, settings.topic(ARTICLES_ENRICHED), True, 1.0):
            enriched = codec.loads(rec.value) if rec.value else {}
        claims = []
        async for rec in tail(settings, settings.topic(ARTICLES_CLAIMS), True, 1.0):
            claims.append(codec.loads(rec.value) if rec.value else {})
        if enriched and len(claims) >= len(enriched.get("claims", [])):
            break
    return enriched, claims


def render_article(
    console: Console, enriched: dict[str, Any], claims: list[dict[str, Any]]
) -> None:
    table = Table(
        title=f"metrics of “{enriched.get('title')}”", header_style="bold", title_justify="left"
    )
    for col in ("kind", "value", "unit", "as written", "subject"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for m in enriched.get("metrics", []):
        value = f"{m['value']:,.4f}".rstrip("0").rstrip(".")
        table.add_row(m["kind"], value, m["unit"], m["text"], m["subject"] or "")
    console.print(table)
    stocks = [e["symbol"] for e in enriched.get("entities", [])]
    console.print("entities: " + ", ".join(stocks))
    verdicts = Table(
        title="claims checked against the worker's own quote state",
        header_style="bold",
        title_justify="left",
    )
    for col in ("claim", "symbol", "verdict", "compared"):
        verdicts.add_column(col)
    for c in claims:
        claim, cmp = c["claim"], c["compared"]
        colour = VERDICT_COLOURS.get(c["verdict"], "white")
        verdicts.add_row(
            describe_claim(claim),
            str(claim["symbol"]),
            f"[{colour}]{c['verdict']}[/{colour}]",
            describe_comparison(claim, cmp) or c.get("reason", ""),
        )
    console.print(verdicts)


def describe_claim(claim: dict[str, Any]) -> str:
    kind, day = claim["type"], claim.get("date")
    on = f" on {day}" if day else ""
    if kind == "ma_cross":
        return f"{claim['direction']} the {claim['window']}-day line{on}"
    if kind == "index_level":
        what = claim.get("field") or claim.get("note") or "level"
        return f"{what} {claim['value']:,.2f}{on}"
    if kind in ("index_change_pct", "index_change_points"):
        unit = "%" if kind.endswith("pct") else " points"
        hedge = f"{claim['qualifier']} " if claim.get("qualifier") else ""
        period = claim.get("period") or "day"
        field = f" ({claim['field']})" if claim.get("field") not in (None, "close") else ""
        return f"{period} change {hedge}{claim['value']:+,g}{unit}{field}{on}"
    if kind == "streak":
        count = claim.get("count", claim.get("days"))
        return f"{count} {claim.get('unit', 'days')} {claim['direction']}{on}"
    return str(kind)


VERDICT_COLOURS = {
    "confirmed": "green",
    "contradicted": "red",
    "unknown": "yellow",
    "pending": "cyan",
}
SHARED = REPO_ROOT.parent / "shared" / "data"
REAL_NEWS = SHARED / "articles" / "news-hk-2025-07-24_08-23.jsonl"
REAL_STOCKS = ("0700.HK", "9988.HK", "3690.HK", "1810.HK", "0981.HK")


async def publish_real_news(
    settings: Settings,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The real EventRegistry feed, as it comes, through the worker: every record enriched."""
    from streams.config import ARTICLES_CLAIMS, ARTICLES_RAW
    from streams.tools.sources import article_records

    records = list(article_records(REAL_NEWS, None, None, None))
    await produce_records(settings, settings.topic(ARTICLES_RAW), records)
    deadline = time.monotonic() + 120
    enriched: dict[str, dict[str, Any]] = {}
    claims: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        async for rec in tail(settings, settings.topic(ARTICLES_ENRICHED), True, 1.0):
            value = codec.loads(rec.value) if rec.value else {}
            enriched[value.get("id", "")] = value
        async for rec in tail(settings, settings.topic(ARTICLES_CLAIMS), True, 1.0):
            value = codec.loads(rec.value) if rec.value else {}
            claims[value["claim"]["claim_id"]] = value  # the latest verdict per claim
        wanted = sum(len(e.get("claims", [])) for e in enriched.values())
        if len(enriched) >= len(records) + 1 and len(claims) >= wanted:
            break
    real = [e for e in enriched.values() if e.get("id") != "sample-hstech"]
    ids = {e["id"] for e in real}
    return real, [c for c in claims.values() if c["article_id"] in ids]


def render_real_news(
    console: Console, enriched: list[dict[str, Any]], claims: list[dict[str, Any]]
) -> None:
    summary = Table(title="the real news feed, through the worker", header_style="bold",
                    title_justify="left")  # fmt: skip
    for col in ("language", "records", "metrics", "claims", "confirmed", "contradicted",
                "unknown", "pending"):  # fmt: skip
        summary.add_column(col, justify="left" if col == "language" else "right")
    langs = sorted({e["lang"] for e in enriched}, key=lambda x: (x not in ("en", "zh"), x))
    for lang in langs:
        ids = {e["id"] for e in enriched if e["lang"] == lang}
        mine = [c for c in claims if c["article_id"] in ids]
        counts = [sum(c["verdict"] == v for c in mine) for v in VERDICT_COLOURS]
        summary.add_row(
            lang,
            str(len(ids)),
            str(sum(len(e["metrics"]) for e in enriched if e["id"] in ids)),
            str(len(mine)),
            *map(str, counts),
        )
    console.print(summary)
    titles = {e["id"]: (e.get("title") or "").strip().split("\n")[-1].strip() for e in enriched}
    checked = [c for c in claims if c["verdict"] in ("confirmed", "contradicted")]
    # what a reader wants first: the contradicted ones, then the indexes, then stocks
    checked.sort(
        key=lambda c: (
            c["verdict"] != "contradicted",
            c["claim"]["symbol"] not in ("HSI", "HSTECH"),
            c["claim"].get("date") or "",
        )
    )
    table = Table(title=f"{len(checked)} claims of real articles checked against the quotes",
                  header_style="bold", title_justify="left")  # fmt: skip
    for col in ("article", "as written", "claim", "symbol", "verdict"):
        table.add_column(col, overflow="fold")
    for c in checked[:20]:
        colour = VERDICT_COLOURS[c["verdict"]]
        table.add_row(
            titles.get(c["article_id"], "")[:22],
            c["claim"]["instrument"] or "",
            describe_claim(c["claim"]),
            str(c["claim"]["symbol"]),
            f"[{colour}]{c['verdict']}[/{colour}]",
        )
    console.print(table)
    if len(checked) > 20:
        console.print(f"   … {len(checked) - 20} more: `windvane tail articles.claims` with "
                      f"WINDVANE_TOPIC_PREFIX={DEMO_PREFIX}")  # fmt: skip


def describe_comparison(claim: dict[str, Any], cmp: dict[str, Any]) -> str:
    if not cmp:
        return ""
    if claim["type"] == "ma_cross":
        n = claim["window"]
        return (
            f"close {cmp['close']:,.2f} vs SMA{n} {cmp[f'sma{n}']:,.2f}; "
            f"{cmp['prev_trading_day']}: {cmp['prev_close']:,.2f} vs {cmp[f'prev_sma{n}']:,.2f}"
        )
    if claim["type"] == "index_level":
        return f"close {cmp['close']:,.2f} (claimed {cmp['claimed']:,.2f})"
    return ", ".join(f"{k} {v}" for k, v in cmp.items())


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)


def run(since: str = "2025-09-01", until: str = "2025-11-30") -> None:
    console = Console(width=None if sys.stdout.isatty() else 120)
    broker = LocalBroker.from_env()
    console.print(
        f"[bold]1.[/bold] Kafka broker (KRaft, Maven Central jars) at {broker.bootstrap} …"
    )
    broker.up(quiet=True)
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
    os.environ["WINDVANE_TOPIC_PREFIX"] = DEMO_PREFIX
    settings = Settings.from_env()
    asyncio.run(reset_demo_topics(settings))
    asyncio.run(ensure_topics(settings, TOPICS))

    wanted = int(os.environ.get("WINDVANE_WEB_PORT", "6066"))
    port = wanted if not port_open("127.0.0.1", wanted) else free_port()
    data_dir = REPO_ROOT / ".windvane" / "demo-worker"
    shutil.rmtree(data_dir, ignore_errors=True)  # local stores of earlier demos
    log = REPO_ROOT / ".windvane" / "demo-worker.log"
    env = dict(
        os.environ,
        WINDVANE_APP_ID=f"{DEMO_APP}-{int(time.time())}",
        WINDVANE_DATA_DIR=str(data_dir),
        WINDVANE_WEB_PORT=str(port),
    )
    console.print(f"[bold]2.[/bold] worker (Faust) on http://127.0.0.1:{port} — log {log}")
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "streams.tools.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(port, worker, log)
        files = [(SAMPLES / "HSTECH.csv", "HSTECH"), (SAMPLES / "HSI.csv", "HSI")]
        if REAL_NEWS.exists():  # the stocks the real news speaks of, for its claims
            files += [(SHARED / "quotes" / f"{s}.csv", s) for s in REAL_STOCKS]
        console.print(
            "[bold]3.[/bold] replaying " + ", ".join(f"{p.name} as {s}" for p, s in files)
        )
        sent = asyncio.run(produce_files(settings, files))
        console.print(
            f"   {sent} daily bars on {settings.topic(QUOTES_RAW)}; waiting for the worker …"
        )
        alerts = asyncio.run(collect(settings, sent))
        console.print(
            f"[bold]4.[/bold] {len(alerts)} alerts read back from {settings.topic(ALERTS)}\n"
        )
        # the stocks were replayed for the real news's claims; the table is the two indexes'
        render(console, [a for a in alerts if a["symbol"] in ("HSTECH", "HSI")], since, until)
        if not any(a["symbol"] == "HSTECH" and a["trading_day"] == "2025-10-17" for a in alerts):
            raise SystemExit("the HSTECH alert of 2025-10-17 is missing")
        console.print(
            f"\n[bold]5.[/bold] publishing {SAMPLE_ARTICLE.name} (published 2025-10-20) …"
        )
        enriched, claims = asyncio.run(publish_article(settings))
        render_article(console, enriched, claims)
        if REAL_NEWS.exists():
            console.print(f"\n[bold]5b.[/bold] publishing the real news feed {REAL_NEWS.name} …")
            real, real_claims = asyncio.run(publish_real_news(settings))
            render_real_news(console, real, real_claims)
        else:
            console.print(f"   (no {REAL_NEWS}: the real news step is skipped)")
        hstech = next(
            a for a in alerts if a["symbol"] == "HSTECH" and a["trading_day"] == "2025-10-17"
        )
        url = f"http://127.0.0.1:{port}/dashboard?symbol=HSTECH#alert-{hstech['id']}"
        console.print(f"\n[bold]6.[/bold] dashboard: {url}")
        console.print(f"   metrics: http://127.0.0.1:{port}/metrics · worker log: {log}")
        hold(console)
    finally:
        stop(worker)
    console.print(
        "worker stopped; the broker keeps running (`.venv/bin/windvane kafka down` stops it)"
    )


def hold(console: Console) -> None:
    """Keep the worker (and its dashboard) up until Ctrl-C, when a person is watching."""
    if os.environ.get("WINDVANE_DEMO_HOLD", "1" if sys.stdin.isatty() else "0") != "1":
        return
    console.print("   running until Ctrl-C …")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print()


if __name__ == "__main__":
    run()
