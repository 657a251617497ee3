"""The article path, record by record: route by content hash, enrich, check claims.

Like :mod:`streams.pipeline`, no Kafka or Faust: the agents and ``windvane offline article``
call the same three steps, so both give the same records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from streams import codec
from streams.cloudevents import claim_event, enriched_event
from streams.config import (
    ARTICLES_BYHASH,
    ARTICLES_CLAIMS,
    ARTICLES_ENRICHED,
    CLAIMS_BYSYMBOL,
    DEADLETTER,
)
from streams.contracts import decode_article, decode_claim_envelope
from streams.domain.articles.article import ArticleEnricher
from streams.domain.articles.claims import check_claim
from streams.domain.timeutil import iso_utc
from streams.pipeline import (
    OutRecord,
    Result,
    SourceRecord,
    StateStore,
    day_key,
    guarded,
    pending_key,
)

log = logging.getLogger(__name__)


class ArticlePipeline:
    # The topics each step writes to (logical names): the agents may send only there
    # (streams.app), ``windvane topology`` shows them, and tests/unit/test_topology.py checks
    # that the records go there and nowhere else.
    ROUTE_SINKS = (ARTICLES_BYHASH, DEADLETTER)
    ENRICH_SINKS = (ARTICLES_ENRICHED, CLAIMS_BYSYMBOL, ARTICLES_CLAIMS, DEADLETTER)
    CHECK_SINKS = (ARTICLES_CLAIMS, DEADLETTER)  # check() and recheck()

    def __init__(self, enricher: ArticleEnricher, clock: Callable[[], int]) -> None:
        self.enricher = enricher
        self.clock = clock

    def _guard(
        self, step: Callable[[], Result], key: bytes | None, raw: bytes, source: SourceRecord
    ) -> Result:
        return guarded(step, key, raw, source, self.clock())

    # 1. articles.raw -> articles.byhash (re-keyed by content hash)
    def route(self, key: bytes | None, value: bytes | None, source: SourceRecord) -> Result:
        raw = value or b""

        def step() -> Result:
            article = decode_article(raw)
            body = {
                "id": article.id,
                "source": article.source,
                "url": article.url,
                "title": article.title,
                "body": article.body,
                "published_at": article.published_at,
                "lang": article.lang,
            }
            return Result(
                "ok", [OutRecord(ARTICLES_BYHASH, article.content_hash.encode(), codec.dumps(body))]
            )

        return self._guard(step, key, raw, source)

    # 2. articles.byhash -> articles.enriched + claims.bysymbol (+ unknown verdicts)
    def enrich(
        self, key: bytes | None, value: bytes | None, source: SourceRecord, hashes: StateStore
    ) -> Result:
        raw = value or b""

        def step() -> Result:
            article = decode_article(raw)  # the routed record: a windvane-shape article
            now = self.clock()
            first = hashes.get(article.content_hash.encode())
            article_key = article.id.encode()
            # the original itself again (an at-least-once replay after the table's entry
            # landed) is enriched again, the same as the first time: only another id is a
            # republication
            if first is not None and first != article_key:
                record: dict[str, Any] = {
                    "id": article.id,
                    "source": article.source,
                    "url": article.url,
                    "title": article.title,
                    "published_at": article.published_at,
                    "lang": article.lang,
                    "content_hash": article.content_hash,
                    "duplicate_of": first.decode(),
                    "metrics": [],
                    "entities": [],
                    "claims": [],
                    "extraction": {"skipped": "duplicate content"},
                    "enriched_at": iso_utc(now),
                }
                event = enriched_event(article.id, record["enriched_at"])
                return Result(
                    "duplicate",
                    [OutRecord(ARTICLES_ENRICHED, article_key, codec.dumps(record), event)],
                )
            enriched = self.enricher.enrich(article)
            enriched["enriched_at"] = iso_utc(now)
            event = enriched_event(article.id, enriched["enriched_at"])
            records = [OutRecord(ARTICLES_ENRICHED, article_key, codec.dumps(enriched), event)]
            for claim in enriched["claims"]:
                envelope = {"article_id": article.id, "claim": claim}
                if claim["symbol"]:
                    records.append(
                        OutRecord(CLAIMS_BYSYMBOL, claim["symbol"].encode(), codec.dumps(envelope))
                    )
                else:
                    verdict = check_claim(claim, lambda _s, _d: None)
                    records.append(_claim_record(envelope, verdict, now))
            # only now: an article whose enrichment failed (dead-lettered) is not the
            # original its republications point at
            hashes[article.content_hash.encode()] = article_key
            return Result("ok", records)

        return self._guard(step, key, raw, source)

    # 3. claims.bysymbol -> articles.claims, where the symbol's day records live
    def check(
        self,
        key: bytes | None,
        value: bytes | None,
        source: SourceRecord,
        days: StateStore,
        latest: LatestDay,
    ) -> Result:
        """A claim's verdict from the quote state of its symbol. A claim about a day the
        state has no final bar for yet is ``pending``: published as such, and kept (in the
        changelogged day table) until :meth:`recheck` finds that day's bar."""
        raw = value or b""

        def step() -> Result:
            envelope = decode_claim_envelope(raw)
            now = self.clock()
            verdict = check_claim(envelope["claim"], _lookup(days), latest)
            records = [_claim_record(envelope, verdict, now)]
            symbol = envelope["claim"].get("symbol")
            if verdict["verdict"] == "pending" and symbol:
                waiting = _pending(days, symbol)
                if envelope in waiting:  # a re-send (the article agents are at-least-once)
                    return Result("ok", records)
                waiting.append(envelope)
                if len(waiting) > PENDING_LIMIT:  # bounded: the oldest gets a final verdict
                    expired = waiting.pop(0)
                    reason = f"expired: no bar arrived while {PENDING_LIMIT} newer claims waited"
                    final = {"verdict": "unknown", "reason": reason, "compared": {}}
                    records.append(_claim_record(expired, final, now))
                days[pending_key(symbol)] = codec.dumps(waiting)
            return Result("ok", records)

        return self._guard(step, key, raw, source)

    def recheck(self, symbol_key: bytes, days: StateStore, latest: LatestDay) -> list[OutRecord]:
        """Final verdicts of the symbol's pending claims that its quote state now decides
        (same claim id, a later record on ``articles.claims``); the rest keep waiting. One
        dict lookup when nothing waits (every quote record of the task calls it)."""
        key = pending_key(symbol_key)
        found = days.get(key)
        if found is None or found == b"[]":
            return []
        waiting: list[dict[str, Any]] = list(codec.loads(found))
        now = self.clock()
        lookup = _lookup(days)
        records: list[OutRecord] = []
        still: list[dict[str, Any]] = []
        for envelope in waiting:
            verdict = check_claim(envelope["claim"], lookup, latest)
            if verdict["verdict"] == "pending":
                still.append(envelope)
            else:
                records.append(_claim_record(envelope, verdict, now))
        if records:
            days[key] = codec.dumps(still)
        return records


PENDING_LIMIT = 256
"""Pending claims kept per symbol; the oldest beyond it gets a final ``unknown``."""

LatestDay = Callable[[str], str | None]
"""The latest trading day whose close is final in a symbol's state, or None."""


def _lookup(days: StateStore) -> Callable[[str, str], dict[str, Any] | None]:
    def lookup(symbol: str, day: str) -> dict[str, Any] | None:
        found = days.get(day_key(symbol, day))
        return None if found is None else codec.loads(found)

    return lookup


def _pending(days: StateStore, symbol: str) -> list[dict[str, Any]]:
    found = days.get(pending_key(symbol))
    return [] if found is None else list(codec.loads(found))


def _claim_record(envelope: dict[str, Any], verdict: dict[str, Any], now: int) -> OutRecord:
    value = _verdict(envelope, verdict, now)
    article_id = value["article_id"]
    event = claim_event(article_id, value["claim"], value["verdict"], value["checked_at"])
    return OutRecord(ARTICLES_CLAIMS, article_id.encode(), codec.dumps(value), event)


def _verdict(envelope: dict[str, Any], verdict: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "article_id": envelope["article_id"],
        "claim": envelope["claim"],
        "verdict": verdict["verdict"],
        "reason": verdict.get("reason", ""),
        "compared": verdict.get("compared", {}),
        "checked_at": iso_utc(now),
    }
