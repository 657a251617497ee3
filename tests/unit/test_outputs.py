"""The quote path's outputs as typed values: the bytes of a replay are pinned (computed by
the dict-building code they replaced), day records keep what the dict code kept, and the
domain encodes nothing itself."""

from __future__ import annotations

import ast
import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

import streams
from streams.contracts import SCHEMA_DIR, decode_quote
from streams.domain.instruments import Registry
from streams.domain.outputs import Alert, Signal
from streams.domain.quotes import QuoteEngine, Rejected, SymbolState
from streams.domain.rules import RuleBook
from streams.pipeline import QuotePipeline, SourceRecord
from tests.reference import shared_path

pytestmark = pytest.mark.unit

RULES = Path(__file__).resolve().parents[2] / "examples" / "rules.toml"

PINNED = "95eb5cf88ab22d73baeb55688a3690982364dd6f9d67e73213ffba6bc0e6f0d1"


def replay_inputs() -> list[tuple[bytes, bytes]]:
    """HSTECH's closes, 0700.HK's OHLCV bars (a range, volumes, closed days), and a day of
    ticks after them, in order."""
    out = []
    for name in ("HSTECH", "0700.HK"):
        with shared_path("quotes", f"{name}.csv").open() as f:
            for raw in csv.DictReader(f):
                row = {k.lower(): v for k, v in raw.items()}
                if not row["close"]:
                    continue
                value: dict[str, Any] = {"symbol": name, "date": row["date"]}
                value["close"] = float(row["close"])
                for field in ("open", "high", "low", "volume"):
                    if row.get(field):
                        value[field] = float(row[field])
                out.append((name.encode(), orjson.dumps(value)))
    new_year = 1_893_459_600_000  # 2030-01-01 09:00 in Hong Kong: no session (a dead letter)
    for i in range(31):
        when = new_year + (86_400_000 if i else 0) + i * 600_000  # then 2030-01-02
        tick = {"symbol": "0700.HK", "ts": when, "price": 500 + i % 7, "seq": i}
        out.append((b"0700.HK", orjson.dumps(tick)))
    return out


def without_summary(value: bytes) -> bytes:
    """An alert's bytes without its last field, ``summary`` (a non-empty string), which the
    rules added after the pinned replay; byte for byte, not re-encoded."""
    text = orjson.loads(value)["summary"]
    assert isinstance(text, str) and text
    suffix = b',"summary":' + orjson.dumps(text) + b"}"
    assert value.endswith(suffix), value
    return value[: -len(suffix)] + b"}"


def replay() -> tuple[str, list[bytes], dict[bytes, bytes]]:
    engine = QuoteEngine(RuleBook.load(RULES), Registry.load(None))
    pipeline = QuotePipeline(engine, clock=lambda: 1_700_000_000_000)
    store: dict[bytes, SymbolState] = {}
    days: dict[bytes, bytes] = {}
    digest = hashlib.sha256()
    values = []
    for i, (key, value) in enumerate(replay_inputs()):
        result = pipeline.process(key, value, SourceRecord("quotes.raw", 0, i), store, days)
        for rec in result.records:
            value = rec.value
            if rec.topic == "alerts":  # the summary (added last) out: the pinned bytes before it
                value = without_summary(value)
            for part in (rec.topic.encode(), rec.key or b"", value):
                digest.update(len(part).to_bytes(4, "big") + part)
            values.append(rec.value)
    for key in sorted(days):
        digest.update(key + b"=" + days[key] + b"\n")
    for key in sorted(store):
        digest.update(key + b"=" + store[key].to_bytes() + b"\n")
    return digest.hexdigest(), values, days


def test_the_bytes_of_a_replay_are_pinned() -> None:
    """Signals, alerts, dead letters, day records and states of a replay, byte for byte: the
    sha256 is the one the dict-building code (43b741e) gave for the same replay (signals and
    alerts, 0700.HK's closed-session dead letters, a day of ticks); alerts without the
    ``summary`` the rules add at their end since. States in the second format (``v`` 2, no
    sums or extremes): at that change the replay with each state re-encoded in the first
    format still gave the first pin (90ea405c...), so every other byte is the same."""
    digest, values, days = replay()
    assert len(values) == 7099 and len(days) == 5620
    assert digest == PINNED


def test_a_day_record_keeps_what_the_dict_code_kept() -> None:
    """Independent reference: the dict code's selection, applied to the signal's wire form."""
    engine = QuoteEngine(RuleBook.load(RULES), Registry.load(None))
    states: dict[bytes, SymbolState] = {}
    seen_range = seen_flat = 0
    for key, raw in replay_inputs():
        try:
            states[key], outcome = engine.apply(states.get(key), decode_quote(raw), 0)
        except Rejected:
            continue
        for em in outcome.emitted:
            if not isinstance(em, Signal) or not em.final:
                continue
            wire = em.to_wire()
            kept = {k: wire.get(k) for k in DAY_FIELDS}
            bar = wire["bar"]
            if not (bar["open"] == bar["high"] == bar["low"] == bar["close"]):
                kept.update(open=bar["open"], high=bar["high"], low=bar["low"])
                seen_range += 1
            else:
                seen_flat += 1
            assert em.day_record().to_wire() == kept
    assert seen_range > 100 and seen_flat > 100


DAY_FIELDS = ("trading_day", "price", "sma", "prev_trading_day", "prev_close", "streak")


def test_wire_keys_follow_the_schema_order() -> None:
    """to_wire() lists every property of the schema, in the schema's order (a reader of the
    raw bytes sees the same layout as before)."""
    _, values, _ = replay()
    decoded = [orjson.loads(v) for v in values]
    for name, kind in (("signal", "final"), ("alert", "rule")):
        schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
        records = [d for d in decoded if kind in d]
        assert records
        for record in records:
            assert set(record) == set(schema["properties"]), name
    assert Signal.__slots__ and Alert.__slots__  # typed values, no per-instance dict


def test_the_domain_does_not_encode_json() -> None:
    """No module of streams/domain imports orjson: bytes are made at the edge (codec)."""
    root = Path(streams.__file__).parent / "domain"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n.split(".")[0] == "orjson" for n in names):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
