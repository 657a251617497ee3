"""streams/cloudevents.py without a broker: the headers of the pipelines' outputs against the
schema files and asyncapi.yaml, read by the CloudEvents SDK (tests/e2e/test_cloudevents_e2e.py
does the same on every record of a real worker's output topics)."""

from __future__ import annotations

import re

import orjson
import pytest
from aiokafka import ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from streams.article_pipeline import ArticlePipeline
from streams.cloudevents import (
    DATASCHEMA,
    SIGNAL_COMPACT_TYPE,
    TYPE_DATASCHEMA,
    CloudEvents,
    alert_type,
)
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine
from streams.domain.rules import RuleBook
from streams.pipeline import OutRecord, QuotePipeline, SourceRecord
from streams.runtime.task import Task
from streams.tools.sources import quote_records
from tests.reference import shared_path
from tests.schemas import REPO, SCHEMAS, load, load_asyncapi, validator

pytestmark = pytest.mark.unit

HEADERS_REF = "./schemas/cloudevents-headers.json"


def test_dataschema_is_each_schema_files_id() -> None:
    for path in SCHEMAS.glob("*.json"):
        schema = load(path)
        if schema["$id"] in DATASCHEMA.values():
            assert schema["$id"].endswith("/v1")
    files = {t: load(SCHEMAS / f"{name}.json")["$id"] for t, name in {
        "quotes.signals": "signal", "alerts": "alert", "deadletter": "deadletter",
        "articles.enriched": "enriched", "articles.claims": "claim",
        "alerts.undeliverable": "undeliverable"}.items()}  # fmt: skip
    assert files == DATASCHEMA
    compact = load(SCHEMAS / "signal-compact.json")["$id"]
    assert {SIGNAL_COMPACT_TYPE: compact} == TYPE_DATASCHEMA


def test_the_topics_with_headers_are_the_ones_asyncapi_says() -> None:
    """asyncapi.yaml gives CloudEvents headers to exactly the topics that get them, and its
    payloads there are the schemas whose $id goes in ce_dataschema (quotes.signals has two:
    the full and the compact signal)."""
    doc = load_asyncapi()
    messages = doc["components"]["messages"]
    with_headers: dict[str, set[str]] = {}
    for channel in doc["channels"].values():
        for ref in channel["messages"].values():
            message = messages[ref["$ref"].rsplit("/", 1)[1]]
            if message.get("headers", {}).get("$ref") == HEADERS_REF:
                schema = load(REPO / message["payload"]["$ref"])
                with_headers.setdefault(channel["address"], set()).add(schema["$id"])
    expected = {topic: {schema_id} for topic, schema_id in DATASCHEMA.items()}
    expected["quotes.signals"] |= set(TYPE_DATASCHEMA.values())
    assert with_headers == expected


def parse(topic: str, record: OutRecord, events: CloudEvents) -> object:
    headers = events.headers(topic, record.event)
    assert headers is not None
    as_text = {k: v.decode() for k, v in headers}
    assert len(as_text) == len(headers)
    validator("cloudevents-headers").validate(as_text)
    message = KafkaMessage(headers=dict(headers), key=record.key, value=record.value)
    return from_binary_event(message)


def test_quote_outputs_carry_their_event() -> None:
    engine = QuoteEngine(RuleBook.default(), Registry.load(None))
    pipeline = QuotePipeline(engine, clock=lambda: 1_760_000_000_000)
    store: dict = {}
    events = CloudEvents("my-app")
    out: list[OutRecord] = []
    csv = shared_path("quotes", "HSTECH.csv")
    for i, (key, value) in enumerate(quote_records(csv, "HSTECH")):
        out += pipeline.process(key, value, SourceRecord("p.quotes.raw", 2, i), store).records
    out += pipeline.process(b"HSTECH", b"{nope", SourceRecord("p.quotes.raw", 2, 99), store).records
    out += pipeline.process(None, b"{nope", SourceRecord("p.quotes.raw", 1, 7), store).records
    kinds = {r.topic for r in out}
    assert kinds == {"quotes.signals", "alerts", "deadletter"}
    for record in out:
        value = orjson.loads(record.value)
        event = parse(record.topic, record, events)
        assert event.get_source() == f"windvane/my-app/{record.topic}"  # type: ignore[attr-defined]
        assert event.get_dataschema() == DATASCHEMA[record.topic]  # type: ignore[attr-defined]
        assert event.get_data() == value  # type: ignore[attr-defined]
        if record.topic == "alerts":
            assert event.get_id() == value["id"]  # type: ignore[attr-defined]
            assert event.get_type() == f"dev.windvane.alert.{value['rule']}.v1"  # type: ignore[attr-defined]
        elif record.topic == "quotes.signals":
            assert value["final"]
            want = f"HSTECH/{value['trading_day']}/final"
            assert event.get_id() == want  # type: ignore[attr-defined]
    dead = [r for r in out if r.topic == "deadletter"]
    ids = [parse("deadletter", r, events).get_id() for r in dead]  # type: ignore[attr-defined]
    assert ids == ["p.quotes.raw/2/99", "p.quotes.raw/1/7"]
    assert parse("deadletter", dead[1], events).get_subject() is None  # type: ignore[attr-defined]


def test_provisional_snapshots_get_distinct_ids() -> None:
    """Ticks: one provisional snapshot each; a tick that moves only the day's high (not its
    close) gives a new snapshot, a new id."""
    pipeline = QuotePipeline(QuoteEngine(RuleBook.default()), clock=lambda: 0)
    store: dict = {}
    ticks = [(1_760_000_000_000, 100.0), (1_760_000_060_000, 101.0), (1_760_000_030_000, 105.0)]
    ids = []
    for ts, price in ticks:
        raw = orjson.dumps({"symbol": "X", "ts": ts, "price": price})
        result = pipeline.process(b"X", raw, SourceRecord("quotes.raw", 0, 0), store)
        (signal,) = [r for r in result.records if r.topic == "quotes.signals"]
        assert signal.event is not None
        ids.append(signal.event[1])
    assert len(set(ids)) == 3 and all(i.startswith("X/") for i in ids)


def test_claims_and_enriched_and_a_claim_without_id() -> None:
    pipe = ArticlePipeline(ArticleEnricher(Registry.load(None)), clock=lambda: 0)
    events = CloudEvents("windvane")
    envelope = {"article_id": "a-1", "claim": {"symbol": "HSTECH", "type": "close_above_sma"}}
    days: dict[bytes, bytes] = {}
    result = pipe.check(b"HSTECH", orjson.dumps(envelope), SourceRecord("c", 0, 1), days,
                        lambda _s: None)  # fmt: skip
    assert result.status == "ok"  # a claim with no claim_id (not windvane's) does not crash
    event = parse("articles.claims", result.records[0], events)
    assert re.fullmatch(r"[0-9a-f]{24}/\w+", event.get_id())  # type: ignore[attr-defined]
    assert event.get_subject() == "a-1"  # type: ignore[attr-defined]


def test_internal_records_get_no_headers() -> None:
    assert CloudEvents("w").headers("articles.byhash", None) is None


@pytest.mark.parametrize(
    ("rule", "wanted"),
    [("ma_cross", "dev.windvane.alert.ma_cross.v1"),
     ("VolumeSpike", "dev.windvane.alert.volumespike.v1"),
     ("mypkg.rules:Spike-2", "dev.windvane.alert.mypkg_rules_spike_2.v1")],
)  # fmt: skip
def test_alert_types_fit_the_schema_pattern(rule: str, wanted: str) -> None:
    pattern = load(SCHEMAS / "cloudevents-headers.json")["properties"]["ce_type"]["pattern"]
    assert alert_type(rule) == wanted
    assert re.fullmatch(pattern, wanted)


def test_an_input_with_cloudevents_headers_is_processed_like_one_without() -> None:
    """The task reads the value and the key only: the same quotes with an upstream's
    CloudEvents headers give the same outputs, byte for byte."""
    engine = QuoteEngine(RuleBook.default(), Registry.load(None))
    claims = ArticlePipeline(ArticleEnricher(Registry.load(None)), clock=lambda: 0)
    upstream = [("ce_specversion", b"1.0"), ("ce_id", b"u-1"), ("ce_type", b"com.x.v1"),
                ("ce_source", b"/x"), ("content-type", b"application/json")]  # fmt: skip
    csv = shared_path("quotes", "HSTECH.csv")
    outs = []
    for headers in ((), tuple(upstream)):
        task = Task(0, QuotePipeline(engine, clock=lambda: 0), claims)
        records = [
            ConsumerRecord("quotes.raw", 0, i, 0, 0, k, v, None, len(k or b""), len(v), headers)
            for i, (k, v) in enumerate(quote_records(csv, "HSTECH"))
        ]
        task.process(records, "quotes.raw")
        outs.append([(r.topic, r.key, r.value, r.event) for r in task.open.records])
    assert outs[0] == outs[1] and len(outs[0]) > 1000
