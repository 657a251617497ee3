"""Hostile input against the pipelines: nothing raises, every bad record is dead-lettered
with exactly the reason its case declares (``internal_error``, a crash in the code, fails),
and the good records around it give exactly the outputs they give alone."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.article_pipeline import ArticlePipeline
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.pipeline import QuotePipeline, Result, SourceRecord
from tests.hostile import (
    Hostile,
    _json_bytes,
    article_contract,
    bad_articles,
    bad_claim_envelopes,
    bad_quotes,
    maybe_articles,
)
from tests.reference import closes, shared_path

pytestmark = pytest.mark.unit
GOOD = [
    (b"HSTECH", orjson.dumps({"symbol": "HSTECH", "date": r.date, "close": r.close}))
    for r in closes(shared_path("quotes", "HSTECH.csv")).tail(120).itertuples()
]
ARTICLES = ArticlePipeline(ArticleEnricher(Registry.load(None)), clock=lambda: 0)


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


def assert_dead_lettered(result: Result, case: Hostile) -> None:
    """``result`` is the dead letter of ``case`` with exactly its declared reason."""
    assert (result.status, result.reason) == ("deadletter", case.reason), case.value[:200]
    (record,) = result.records
    dead = orjson.loads(record.value)
    assert dead["reason"] == case.reason and dead["detail"]
    assert len(record.value) < 1_000_000  # fits a default Kafka message


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)
@given(st.lists(st.tuples(st.integers(0, len(GOOD)), bad_quotes), min_size=1, max_size=8))
def test_bad_quotes_get_their_reason_and_change_nothing_else(
    bad: list[tuple[int, Hostile]],
) -> None:
    mixed: list[tuple[bytes, bytes, str | None]] = [(k, v, None) for k, v in GOOD]
    for position, case in sorted(bad, key=lambda pair: pair[0], reverse=True):
        mixed.insert(position, (b"HSTECH", case.value, case.reason))
    clean_out, clean_dead = run(list(GOOD))
    out, dead = run([(k, v) for k, v, _ in mixed])
    assert clean_dead == []
    assert out == clean_out
    # each dead letter names its input's offset: the reason of every bad record, exactly
    expected = {offset: reason for offset, (_, _, reason) in enumerate(mixed) if reason}
    assert {d["source"]["offset"]: d["reason"] for d in dead} == expected
    assert len(dead) == len(bad)
    assert all(d["detail"] and len(orjson.dumps(d)) < 1_000_000 for d in dead)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(bad_quotes)
def test_each_bad_quote_alone_gets_its_reason(case: Hostile) -> None:
    store: dict[bytes, SymbolState] = {}
    pipeline = QuotePipeline(QuoteEngine(), clock=lambda: 0)
    assert_dead_lettered(
        pipeline.process(b"HSTECH", case.value, SourceRecord("quotes.raw", 0, 0), store), case
    )
    assert store == {}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(bad_articles)
def test_bad_articles_get_their_reason_on_articles_raw_and_articles_byhash(case: Hostile) -> None:
    assert_dead_lettered(ARTICLES.route(b"k", case.value, SourceRecord("articles.raw", 0, 0)), case)
    hashes: dict[bytes, bytes] = {}
    source = SourceRecord("articles.byhash", 0, 0)
    assert_dead_lettered(ARTICLES.enrich(b"k", case.value, source, hashes), case)
    assert hashes == {}


@settings(max_examples=100, deadline=None)
@given(maybe_articles)
def test_article_objects_get_what_their_contract_says(value: dict) -> None:
    """Valid or not by the documented contract (an independent reading of it): a valid one
    passes both steps, an invalid one is dead-lettered as ``schema``."""
    raw = _json_bytes(value)
    expected = article_contract(value)
    result = ARTICLES.route(b"k", raw, SourceRecord("articles.raw", 0, 0))
    if expected is not None:
        assert_dead_lettered(result, Hostile(raw, expected))
        return
    assert result.status == "ok"
    (routed,) = result.records
    enriched = ARTICLES.enrich(routed.key, routed.value, SourceRecord("articles.byhash", 0, 0), {})
    assert enriched.status == "ok"


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(bad_claim_envelopes)
def test_bad_claim_envelopes_get_their_reason(case: Hostile) -> None:
    days: dict[bytes, bytes] = {}
    result = ARTICLES.check(
        b"HSTECH", case.value, SourceRecord("claims.bysymbol", 0, 0), days, lambda _s: None
    )
    assert_dead_lettered(result, case)
    assert days == {}
