"""The article path under kills: the worker is SIGKILLed and restarted while the 99 real news
records (../shared/data/articles) and then their republications (same title and body, another
id) are published. The article path runs on Faust agents (at-least-once): re-sends are
allowed, but each must carry the same key and the same record as the first send (up to its
wall-clock stamp), so that a consumer deduplicating by id sees every article enriched once,
every republication marked ``duplicate_of`` its original once, and every claim verdict once.

The reference is computed offline by the same three steps (route, enrich, check) over the
same quotes, which the worker has processed before the first article arrives (so every
verdict is decided by the same quote state)."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.article_pipeline import ArticlePipeline
from streams.config import ARTICLES_BYHASH, CLAIMS_BYSYMBOL, QUOTES_RAW
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.domain.rules import RuleBook
from streams.pipeline import QuotePipeline, SourceRecord
from tests.faults.extra import produce_fast
from tests.faults.harness import FULL, daily_bars, reference, report
from tests.kafka_harness import Namespace, Worker, consume_until, produce
from tests.reference import shared_path

pytestmark = pytest.mark.faults

# the symbols the 99 records' claims name (HSI 37, 0700.HK 26, 9988.HK 15, ...)
SYMBOLS = ["HSI.csv", "0700.HK.csv", "9988.HK.csv", "3690.HK.csv", "HSTECH.csv",
           "1810.HK.csv", "0981.HK.csv"]  # fmt: skip
VOLATILE = {"articles.enriched": "enriched_at", "articles.claims": "checked_at"}

Record = tuple[bytes | None, bytes]


def news() -> tuple[list[Record], list[Record]]:
    """The 99 real records keyed by their id, and their republications (id + ``-re``)."""
    path = shared_path("articles", "news-hk-2025-07-24_08-23.jsonl")
    originals: list[Record] = []
    again: list[Record] = []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        record = orjson.loads(line)
        originals.append((str(record["uri"]).encode(), line))
        record["uri"] = f"{record['uri']}-re"
        again.append((record["uri"].encode(), orjson.dumps(record)))
    return originals, again


def dedup_id(topic: str, value: dict[str, Any]) -> tuple[str, ...]:
    """What a consumer deduplicates by: the article id; a verdict is its claim's id and
    verdict (a pending claim's decision is a later record of the same claim)."""
    if topic == "articles.enriched":
        return (value["id"],)
    return (value["article_id"], value["claim"]["claim_id"], value["verdict"])


def canonical(topic: str, value: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {k: v for k, v in value.items() if k != VOLATILE[topic]}, option=orjson.OPT_SORT_KEYS
    )


def offline(quotes: list[Record], articles: list[Record]) -> dict[str, dict[tuple, bytes]]:
    """Every output of the article path by its dedup id, computed without Kafka."""
    registry = Registry.load(None)
    pipeline = QuotePipeline(QuoteEngine(RuleBook.default(), registry), clock=lambda: 0)
    state: dict[bytes, SymbolState] = {}
    days: dict[bytes, bytes] = {}
    for i, (key, value) in enumerate(quotes):
        pipeline.process(key, value, SourceRecord(QUOTES_RAW, 0, i), state, days)

    def latest(symbol: str) -> str | None:
        found = state.get(symbol.encode())
        return found.last_final_day if found is not None else None

    articles_path = ArticlePipeline(ArticleEnricher(registry), clock=lambda: 0)
    hashes: dict[bytes, bytes] = {}
    out: dict[str, dict[tuple, bytes]] = {t: {} for t in VOLATILE}
    for i, (key, value) in enumerate(articles):
        pending = list(articles_path.route(key, value, SourceRecord("articles.raw", 0, i)).records)
        while pending:
            rec = pending.pop(0)
            src = SourceRecord(rec.topic, 0, i)
            if rec.topic == ARTICLES_BYHASH:
                pending += articles_path.enrich(rec.key, rec.value, src, hashes).records
            elif rec.topic == CLAIMS_BYSYMBOL:
                pending += articles_path.check(rec.key, rec.value, src, days, latest).records
            else:
                value_ = orjson.loads(rec.value)
                ident = dedup_id(rec.topic, value_)
                assert ident not in out[rec.topic], f"the reference repeats {ident}"
                out[rec.topic][ident] = canonical(rec.topic, value_)
    return out


async def wait_for_ids(ns: Namespace, topic: str, want: set[tuple], timeout: float) -> list:
    """Read ``topic`` until every id of ``want`` is there (or timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    got: list[tuple[bytes | None, Any]] = []
    while loop.time() < deadline:
        got = await consume_until(ns.bootstrap, ns.topic(topic), 10**9, timeout=5)
        if want <= {dedup_id(topic, v) for _, v in got}:
            break
    return got


async def test_article_path_under_sigkills_misses_nothing_and_resends_the_same(
    ns: Namespace, tmp_path: Path
) -> None:
    kills, seconds = (12, 40.0) if FULL else (2, 10.0)
    quotes = daily_bars(SYMBOLS if FULL else SYMBOLS[:2])
    originals, again = news()
    expected = offline(quotes, originals + again)
    assert len(expected["articles.enriched"]) == 2 * len(originals) == 198
    rng = random.Random(1515)
    data = tmp_path / "worker-data"

    def start() -> Worker:
        return Worker(ns, data, WINDVANE_SESSION_TIMEOUT="6").start()

    worker = await asyncio.to_thread(start)
    await produce_fast(ns.bootstrap, ns.topic(QUOTES_RAW), quotes)
    # every quote processed before the first article: the verdicts do not depend on timing
    signals = len(reference(quotes)["quotes.signals"])
    await consume_until(ns.bootstrap, ns.topic("quotes.signals"), signals, timeout=300)

    async def publish(records: list[Record], chunks: int, kills: int) -> int:
        """Produce ``records`` in ``chunks``; after ``kills`` of them (at random), SIGKILL the
        worker a random fraction of a second later (records processed, their commit not yet
        done: Faust commits every second) and restart it."""
        nonlocal worker
        size = -(-len(records) // chunks)
        starts = list(range(0, len(records), size))
        killed_after = set(rng.sample(starts, kills))
        for at in starts:
            await produce(ns.bootstrap, ns.topic("articles.raw"), records[at : at + size])
            if at in killed_after:
                await asyncio.sleep(rng.uniform(0.1, 1.5))
                worker.stop(signal.SIGKILL)
                worker = await asyncio.to_thread(start)
            else:
                await asyncio.sleep(seconds / chunks)
        return len(killed_after)

    enriched_ids = {i for i in expected["articles.enriched"] if not i[0].endswith("-re")}
    try:
        # originals first, all enriched before their republications: which one is the
        # original is then decided by the feed, not by the kills
        done = await publish(originals, 12, kills - kills // 2)
        await wait_for_ids(ns, "articles.enriched", enriched_ids, 300)
        done += await publish(again, 12, kills // 2)
        enriched = await wait_for_ids(
            ns, "articles.enriched", set(expected["articles.enriched"]), 300
        )
        claims = await wait_for_ids(ns, "articles.claims", set(expected["articles.claims"]), 120)
        dead = await consume_until(ns.bootstrap, ns.topic("deadletter"), 0, timeout=2)
    finally:
        worker.stop()
    # the quote series' own dead letters (days without a session) are not the article path's
    dead = [(k, v) for k, v in dead if not v["source"]["topic"].endswith(QUOTES_RAW)]

    missing = duplicated = after_dedup = wrong_key = 0
    differ: list[tuple] = []
    for topic, got in (("articles.enriched", enriched), ("articles.claims", claims)):
        versions: dict[tuple, set[bytes]] = defaultdict(set)
        for key, value in got:
            ident = dedup_id(topic, value)
            versions[ident].add(canonical(topic, value))
            wrong_key += key != ident[0].encode()  # keyed by the article id, every send
        want = expected[topic]
        missing += len(set(want) - set(versions))
        duplicated += len(got) - len(versions)
        # after dedup by id: an id seen in another version, or an output the reference lacks
        after_dedup += sum(len(v) - 1 for v in versions.values()) + len(set(versions) - set(want))
        # ids whose records (any of their sends) differ from the reference
        differ += [i for i, v in versions.items() if i in want and v != {want[i]}]
    report(
        "article_kills", len(originals) + len(again), done, missing, duplicated, len(dead),
        duplicated_after_dedup=after_dedup, differ=len(differ), wrong_key=wrong_key,
    )  # fmt: skip
    assert not differ, f"re-sends or records that differ from the reference: {differ[:5]}"
    assert done == kills
    assert (missing, after_dedup, wrong_key) == (0, 0, 0)
    assert dead == []
