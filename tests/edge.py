"""Articles through the worker's own edge: bytes -> decode -> validate -> map -> route ->
enrich, exactly the steps the Faust agents and ``windvane offline article`` run.

Every test of an article input format goes through :func:`through_edge`, never through a
mapper or an extractor alone: a bypass once hid that every real news record was rejected.
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.article_pipeline import ArticlePipeline
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.pipeline import SourceRecord

REGISTRY = Registry.load(None)
_PIPELINE = ArticlePipeline(ArticleEnricher(REGISTRY), clock=lambda: 1_760_000_000_000)


def article_record(text: str, published_at: str = "2025-08-21T10:00:00Z", lang: str = "zho",
                   title: str | None = None, uri: str = "t-1") -> dict[str, Any]:  # fmt: skip
    """An EventRegistry-shaped record, as the real feed sends them."""
    return {
        "uri": uri,
        "lang": lang,
        "dateTime": published_at,
        "title": title,
        "body": text,
        "source": {"uri": "example.com", "title": "Example"},
    }


def through_edge(record: dict[str, Any] | bytes) -> dict[str, Any]:
    """The enriched record the worker publishes on ``articles.enriched`` for ``record``;
    fails the test (with the dead letter) if the edge rejects it."""
    raw = record if isinstance(record, bytes) else orjson.dumps(record)
    routed = _PIPELINE.route(None, raw, SourceRecord("articles.raw", 0, 0, 0))
    assert routed.status == "ok", orjson.loads(routed.records[0].value)
    (byhash,) = routed.records
    hashes: dict[bytes, bytes] = {}
    out = _PIPELINE.enrich(
        byhash.key, byhash.value, SourceRecord("articles.byhash", 0, 0, 0), hashes
    )
    assert out.status == "ok", orjson.loads(out.records[0].value)
    enriched: dict[str, Any] = orjson.loads(out.records[0].value)
    return enriched


def metrics_of(text: str, published_at: str = "2025-08-21T10:00:00Z", lang: str = "zho"
               ) -> list[tuple[str, float, str]]:  # fmt: skip
    """(kind, value, unit) of every metric the worker extracts from ``text``."""
    enriched = through_edge(article_record(text, published_at, lang))
    return [(m["kind"], m["value"], m["unit"]) for m in enriched["metrics"]]
