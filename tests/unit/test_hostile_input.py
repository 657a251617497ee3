"""Hostile input against the pipelines: nothing raises, every bad record is dead-lettered
with a reason, and the good records around it give exactly the outputs they give alone."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.article_pipeline import ArticlePipeline
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.pipeline import QuotePipeline, SourceRecord
from tests.hostile import bad_quote_values
from tests.reference import closes, shared_path

pytestmark = pytest.mark.unit
GOOD = [
    (b"HSTECH", orjson.dumps({"symbol": "HSTECH", "date": r.date, "close": r.close}))
    for r in closes(shared_path("quotes", "HSTECH.csv")).tail(120).itertuples()
]


def run(records: list[tuple[bytes | None, bytes]]) -> tuple[list[bytes], list[dict]]:
    pipeline = QuotePipeline(QuoteEngine(), clock=lambda: 0)
    store: dict[bytes, SymbolState] = {}
    outputs: list[bytes] = []
    dead: list[dict] = []
    for i, (key, value) in enumerate(records):
        result = pipeline.process(key, value, SourceRecord("quotes.raw", 0, i), store)
        for rec in result.records:
            if rec.topic == "deadletter":
                dead.append(orjson.loads(rec.value))
            else:
                outputs.append(rec.value)
    return outputs, dead


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)
@given(st.lists(st.tuples(st.integers(0, len(GOOD)), bad_quote_values), min_size=1, max_size=8))
def test_bad_quotes_are_dead_lettered_and_change_nothing_else(bad: list[tuple[int, bytes]]) -> None:
    mixed: list[tuple[bytes | None, bytes]] = list(GOOD)
    for position, value in sorted(bad, reverse=True):
        mixed.insert(position, (b"HSTECH", value))
    clean_out, clean_dead = run(list(GOOD))
    out, dead = run(mixed)
    assert clean_dead == []
    assert out == clean_out
    assert len(dead) == len(bad)
    assert all(d["reason"] and d["detail"] is not None for d in dead)
    assert all(len(orjson.dumps(d)) < 1_000_000 for d in dead)  # fits a default Kafka message


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.binary(max_size=200), bad_quote_values,
                 st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(st.sampled_from(["id", "body", "published_at", "lang", "uri", "title"]),
                                                                      st.one_of(st.none(), st.integers(), st.text(max_size=30)), max_size=5))))  # fmt: skip
def test_bad_articles_never_raise(value: bytes) -> None:
    pipeline = ArticlePipeline(ArticleEnricher(Registry.load(None)), clock=lambda: 0)
    result = pipeline.route(b"k", value, SourceRecord("articles.raw", 0, 0))
    assert result.status in ("ok", "deadletter")
    if result.status == "ok":  # it was a valid article after all: the next steps must hold too
        (routed,) = result.records
        enriched = pipeline.enrich(
            routed.key, routed.value, SourceRecord("articles.byhash", 0, 0), {}
        )
        assert enriched.status == "ok"
