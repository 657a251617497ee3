"""The schemas are valid draft 2020-12, and every record windvane writes satisfies them
(checked with ``jsonschema``, independent of the fastjsonschema used at the edge)."""

from __future__ import annotations

import json

import jsonschema
import orjson
import pytest

from streams.config import ALERTS, DEADLETTER, QUOTES_SIGNALS
from streams.contracts import SCHEMA_DIR, SCHEMA_NAMES
from streams.delivery.service import Outcome, undeliverable_record
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.domain.rules import RuleBook
from streams.pipeline import QuotePipeline, SourceRecord
from tests.reference import closes, shared_path

pytestmark = pytest.mark.unit

ALL_RULES = """
[[rules]]
rule = "ma_cross"
[[rules]]
rule = "ma_cross"
window = 20
trigger = "intraday"
[[rules]]
rule = "sma_cross"
[[rules]]
rule = "drawdown"
pct = 10
[[rules]]
rule = "streak"
days = 4
[[rules]]
rule = "new_high"
window = 60
[[rules]]
rule = "new_low"
window = 60
"""


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_output_record_matches_its_schema() -> None:
    pipeline = QuotePipeline(
        QuoteEngine(RuleBook.from_toml(ALL_RULES)), clock=lambda: 1_700_000_000_000
    )
    store: dict[bytes, SymbolState] = {}
    outputs: dict[str, list[dict]] = {QUOTES_SIGNALS: [], ALERTS: [], DEADLETTER: []}
    inputs = [
        orjson.dumps({"symbol": "HSTECH", "date": r.date, "close": r.close})
        for r in closes(shared_path("quotes", "HSTECH.csv")).itertuples()
    ]
    inputs += [
        b"{broken",
        b'{"symbol":"HSTECH","ts":1,"price":1}',
        b'{"symbol":"HSTECH","ts":1,"price":-3}',
    ]
    inputs += [
        orjson.dumps({"symbol": "HSTECH", "ts": "2026-08-24T10:00:00+08:00", "price": 4000.0})
    ]
    for i, raw in enumerate(inputs):
        for rec in pipeline.process(
            b"HSTECH", raw, SourceRecord("quotes.raw", 3, i), store
        ).records:
            outputs[rec.topic].append(orjson.loads(rec.value))
    assert all(outputs.values()), {k: len(v) for k, v in outputs.items()}
    assert {a["rule"] for a in outputs[ALERTS]} >= {"ma_cross", "sma_cross", "drawdown", "streak"}
    for topic, name in ((QUOTES_SIGNALS, "signal"), (ALERTS, "alert"), (DEADLETTER, "deadletter")):
        check = validator(name)
        for value in outputs[topic]:
            check.validate(value)
    # what windvane deliver writes to alerts.undeliverable for these alerts
    check = validator("undeliverable")
    for alert in outputs[ALERTS]:
        for outcome in (Outcome("hook", False, 3, "HTTP 500: down"), Outcome("am", False, 0, "x")):
            check.validate(undeliverable_record(alert, outcome, 1_700_000_000_000))
    with pytest.raises(jsonschema.ValidationError):  # the schema can fail
        check.validate(undeliverable_record({"id": "x"}, Outcome("hook", False, 1), 0))


@pytest.mark.parametrize(
    "value",
    [
        {"symbol": "X", "date": "2025-01-02", "close": 1.5},
        {
            "symbol": "X",
            "date": "2025-01-02",
            "close": 1.5,
            "open": 1,
            "high": 2,
            "low": 1,
            "volume": 10,
        },
        {"symbol": "X", "ts": 1735689600000, "price": 1.5, "seq": 3, "extra": "ignored"},
        {"symbol": "X", "ts": "2025-01-02T10:00:00+08:00", "price": 1.5},
    ],
)
def test_valid_quotes_satisfy_the_quote_schema(value: dict) -> None:
    validator("quote").validate(value)


@pytest.mark.parametrize(
    "value",
    [
        {"symbol": "X", "date": "2025-01-02"},
        {"symbol": "X", "ts": 1735689600000, "price": 0},
        {"symbol": "", "ts": 1735689600000, "price": 1},
        {"ts": 1735689600000, "price": 1},
    ],
)
def test_invalid_quotes_fail_the_quote_schema(value: dict) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validator("quote").validate(value)
