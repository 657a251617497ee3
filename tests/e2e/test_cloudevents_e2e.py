"""CloudEvents on every output record, read by an outside reader: a worker process, a
``windvane replay`` of HSTECH, inputs that carry CloudEvents headers of their own (2097.HK's
bars, an article, bad records), ``windvane deliver`` with a sink that is down; then every
record of every output topic is parsed by the CloudEvents SDK's Kafka binding (PyPI
``cloudevents``, binary mode), and each attribute is checked against what the test computes
from the record's value and the schema files on its own."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from collections import Counter
from typing import Any

import orjson
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event
from dateutil.parser import isoparse

from streams.tools.cli import offline_quote_lines
from streams.tools.kafka_local import free_port
from streams.tools.sources import article_records, quote_records
from tests.kafka_harness import VENV_BIN, Namespace, Worker, consume_until, produce, read_all
from tests.reference import shared_path
from tests.schemas import SCHEMAS, load, validator

pytestmark = pytest.mark.e2e

OCT17_ALERT = "19611f8ba7d89d49549251d4011659e4"  # HSTECH 2025-10-17, ma_cross 60, below

SCHEMA_OF = {  # output topic -> its value's schema file (as asyncapi.yaml says)
    "quotes.signals": "signal",
    "alerts": "alert",
    "deadletter": "deadletter",
    "articles.enriched": "enriched",
    "articles.claims": "claim",
    "alerts.undeliverable": "undeliverable",
}

INPUT_HEADERS = [  # an upstream producer's own CloudEvents headers: windvane reads past them
    ("ce_specversion", b"1.0"),
    ("ce_id", b"upstream-1"),
    ("ce_source", b"//feeds.example/quotes"),
    ("ce_type", b"com.example.quote.v3"),
    ("content-type", b"application/json"),
    ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
]


def expected(topic: str, value: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """The attributes a record of ``topic`` with this value must carry, from the value."""
    if topic == "quotes.signals":
        day = f"{value['symbol']}/{value['trading_day']}/"
        ident = day + ("final" if value["final"] else hashlib.sha256(raw).hexdigest()[:32])
        return {"type": "dev.windvane.signal.v1", "id": ident,
                "subject": value["symbol"], "time": value["event_time"]}  # fmt: skip
    if topic == "alerts":
        return {"type": f"dev.windvane.alert.{value['rule']}.v1", "id": value["id"],
                "subject": value["symbol"], "time": value["event_time"]}  # fmt: skip
    if topic == "articles.enriched":
        return {"type": "dev.windvane.article.enriched.v1", "id": value["id"],
                "subject": value["id"], "time": value["enriched_at"]}  # fmt: skip
    if topic == "articles.claims":
        ident = f"{value['claim']['claim_id']}/{value['verdict']}"
        return {"type": "dev.windvane.article.claim.v1", "id": ident,
                "subject": value["article_id"], "time": value["checked_at"]}  # fmt: skip
    if topic == "deadletter":
        src = value["source"]
        return {"type": "dev.windvane.deadletter.v1",
                "id": f"{src['topic']}/{src['partition']}/{src['offset']}",
                "subject": value["key"], "time": value["failed_at"]}  # fmt: skip
    assert topic == "alerts.undeliverable"
    return {"type": "dev.windvane.undeliverable.v1",
            "id": f"{value['alert']['id']}/{value['sink']}",
            "subject": value["alert"]["id"], "time": value["failed_at"]}  # fmt: skip


def check_record(ns: Namespace, topic: str, record: Any) -> Any:
    """Parse one record with the SDK and check every attribute; returns the event."""
    headers = dict(record.headers)
    assert len(headers) == len(record.headers), f"{topic}: a header twice: {record.headers}"
    event = from_binary_event(KafkaMessage(headers=headers, key=record.key, value=record.value))
    value = orjson.loads(record.value)
    want = expected(topic, value, record.value)
    schema = load(SCHEMAS / f"{SCHEMA_OF[topic]}.json")
    assert event.get_specversion() == "1.0"
    assert event.get_source() == f"windvane/{ns.app_id}/{topic}"
    assert event.get_type() == want["type"]
    assert event.get_id() == want["id"]
    assert event.get_subject() == want["subject"]
    assert event.get_time() == isoparse(want["time"])
    assert event.get_dataschema() == schema["$id"] and schema["$id"].endswith("/v1")
    assert event.get_datacontenttype() == "application/json"
    assert event.get_data() == value  # the value is the data, untouched
    validator(SCHEMA_OF[topic]).validate(value)
    validator("cloudevents-headers").validate({k: v.decode() for k, v in headers.items()})
    return event


async def test_every_output_record_is_a_cloudevent_the_sdk_reads(ns: Namespace) -> None:
    hstech = shared_path("quotes", "HSTECH.csv")
    small = shared_path("quotes", "2097.HK.csv")
    with_headers = list(quote_records(small, "2097.HK"))
    article = shared_path("articles", "double11-hk.txt")
    (republished,) = article_records(article, "2025-11-11", None, "seed-ce")
    oracle = [
        line["value"]["id"]
        for path, symbol in ((hstech, "HSTECH"), (small, "2097.HK"))
        for line in offline_quote_lines(path, symbol, None)
        if line["topic"] == "alerts"
    ]
    n_signals = sum(1 for _ in quote_records(hstech, "HSTECH")) + len(with_headers)
    worker = Worker(ns, ns.root / "worker").start()
    try:
        ns.windvane("replay", "quotes", str(hstech), "--symbol", "HSTECH")
        await produce(ns.bootstrap, ns.topic("quotes.raw"), with_headers, INPUT_HEADERS)
        await produce(ns.bootstrap, ns.topic("quotes.raw"), [(b"2097.HK", b"{nope")], INPUT_HEADERS)
        await consume_until(ns.bootstrap, ns.topic("quotes.signals"), n_signals, timeout=180)
        ns.windvane("publish", "article", str(article), "--published-at", "2025-11-11",
                    "--id", "seed-1")  # fmt: skip
        await consume_until(ns.bootstrap, ns.topic("articles.enriched"), 1)
        await produce(ns.bootstrap, ns.topic("articles.raw"), [republished], INPUT_HEADERS)
        await produce(ns.bootstrap, ns.topic("articles.raw"), [(b"x", b"[]")], INPUT_HEADERS)
        await consume_until(ns.bootstrap, ns.topic("articles.enriched"), 2)
        await consume_until(ns.bootstrap, ns.topic("articles.claims"), 6)
        await consume_until(ns.bootstrap, ns.topic("deadletter"), 2)
        config = ns.root / "delivery.toml"
        config.write_text(
            f"""
[[sinks]]
name = "down"
type = "webhook"
url = "http://127.0.0.1:{free_port()}/nobody-listens"
max_attempts = 1
[sinks.match]
symbols = ["HSTECH"]
"""
        )
        deliver = subprocess.Popen(
            [str(VENV_BIN / "windvane"), "deliver", "--config", str(config),
             "--metrics-port", str(free_port())],
            env=ns.env(WINDVANE_DASHBOARD_URL="http://127.0.0.1:6066"),
            stdout=(ns.root / "deliver.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            n_hstech = sum(1 for line in offline_quote_lines(hstech, "HSTECH", None)
                           if line["topic"] == "alerts")  # fmt: skip
            await consume_until(ns.bootstrap, ns.topic("alerts.undeliverable"), n_hstech)
        finally:
            os.kill(deliver.pid, signal.SIGTERM)
            deliver.wait(30)
        topics = {t: await read_all(ns.bootstrap, ns.topic(t)) for t in SCHEMA_OF}
        internal = [
            ns.topic("articles.byhash"),
            ns.topic("claims.bysymbol"),
            f"{ns.app_id}-quote-state-changelog",
            f"{ns.app_id}-quote-days-changelog",
            f"{ns.app_id}-article-hashes-changelog",
        ]
        internal_records = {t: await read_all(ns.bootstrap, t) for t in internal}
    finally:
        worker.stop()

    events: dict[str, list[Any]] = {}
    for topic, records in topics.items():
        assert records, f"no record on {topic}"
        events[topic] = [check_record(ns, topic, r) for r in records]
    count = {t: len(e) for t, e in events.items()}
    assert count["quotes.signals"] == n_signals  # 2097.HK's bars, headers and all, went through
    # ids: deterministic (the alerts' equal the offline run's), one per event
    assert sorted(e.get_id() for e in events["alerts"]) == sorted(oracle)
    assert OCT17_ALERT in oracle
    (oct17,) = [e for e in events["alerts"] if e.get_id() == OCT17_ALERT]
    assert oct17.get_type() == "dev.windvane.alert.ma_cross.v1"
    assert oct17.get_subject() == "HSTECH"
    assert oct17.get_data()["trading_day"] == "2025-10-17"
    for topic, evs in events.items():
        repeated = [i for i, n in Counter(e.get_id() for e in evs).items() if n > 1]
        assert not repeated, f"{topic}: ids repeated: {repeated[:5]}"
    # the inputs that carried headers: processed as any other
    assert {e.get_subject() for e in events["quotes.signals"]} == {"HSTECH", "2097.HK"}
    dups = [e.get_data() for e in events["articles.enriched"] if e.get_id() == "seed-ce"]
    assert [d["duplicate_of"] for d in dups] == ["seed-1"]
    assert sorted(e.get_data()["reason"] for e in events["deadletter"]) == [
        "invalid_json",
        "schema",
    ]
    assert count["alerts.undeliverable"] == len([a for a in events["alerts"]
                                                 if a.get_subject() == "HSTECH"])  # fmt: skip
    # internal topics: no CloudEvents headers
    for topic, records in internal_records.items():
        assert records, f"no record on {topic}"
        names = {name for r in records for name, _ in r.headers}
        assert not any(n.startswith("ce_") for n in names), (topic, names)
