"""The quote path's fast paths give what the full path gives: every shortcut is checked
against the plain computation it replaces, on generated inputs (edge values included)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import fastjsonschema
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streams.contracts import validator
from streams.domain.indicators import SCALE
from streams.domain.quotes import Rejected, plain_quote, quote_from_dict, units_to_8
from streams.domain.timeutil import LocalTime, iso, trading_day, zone

pytestmark = pytest.mark.unit

NUMBERS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.0, -0.0, 1e-300, 5e-324, 1e308, 10**19, 4102444800000]),
)
ODD_TEXTS = [
    "2025-01-02", "2024-02-29", "2025-02-29", "2025-13-01", "2025-1-02", "2025-W01-1",
    "20250102", "2025-01-02\n", "２０２５-01-02", "0000-01-01", "9999-12-31",
    "2025-01-02T00:00:00+08:00", "", " ", "HSTECH", "x" * 64, "x" * 65,
]  # fmt: skip
TEXTS = st.one_of(st.text(max_size=12), st.sampled_from(ODD_TEXTS))
VALUES = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS, st.just([]), st.just({}))
KEYS = ["symbol", "date", "close", "open", "high", "low", "volume", "ts", "price", "seq", "x"]


@st.composite
def quote_values(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(st.sampled_from(["bar", "tick", "any"]))
    data: dict[str, Any] = {"symbol": draw(st.one_of(st.just("HSTECH"), VALUES))}
    if shape == "bar":
        data["date"] = draw(st.one_of(st.sampled_from(["2025-01-02", "2024-02-29"]), VALUES))
        data["close"] = draw(st.one_of(st.floats(0.01, 1e6), NUMBERS, VALUES))
        for name in ("open", "high", "low", "volume"):
            if draw(st.booleans()):
                data[name] = draw(st.one_of(st.floats(0.01, 1e6), NUMBERS, VALUES))
    elif shape == "tick":
        data["ts"] = draw(st.one_of(st.integers(0, 4102444800000), NUMBERS, VALUES))
        data["price"] = draw(st.one_of(st.floats(0.01, 1e6), NUMBERS, VALUES))
        for name in ("volume", "seq"):
            if draw(st.booleans()):
                data[name] = draw(st.one_of(st.integers(-5, 5), NUMBERS, VALUES))
    extra = draw(st.lists(st.sampled_from(KEYS), max_size=3))
    for name in extra:
        data[name] = draw(VALUES)
    return data


def full(data: dict[str, Any]) -> Any:
    """The full path: the schema, then the mapper (the reference)."""
    try:
        validator("quote")(data)
    except fastjsonschema.JsonSchemaValueException:
        return "rejected"
    try:
        return quote_from_dict(data)
    except Rejected:
        return "rejected"


@settings(max_examples=1500, deadline=None)
@given(quote_values())
@example({"symbol": "X", "date": "2025-01-02", "close": 10**19})
@example({"symbol": "X", "date": "2025-01-02", "close": 1.0, "high": 1.0, "low": 2.0})
@example({"symbol": "X", "date": "2025-01-02", "close": 1.0, "volume": -0.0})
@example({"symbol": " ", "date": "2025-01-02", "close": 1.0})
@example({"symbol": "X", "ts": 4102444800000, "price": 1.0})
@example({"symbol": "X", "ts": 1700000000000, "price": 1.0, "seq": True})
def test_the_plain_quote_is_the_full_paths_quote(data: dict[str, Any]) -> None:
    plain = plain_quote(data)
    if plain is not None:  # None: "in doubt", the full path decides
        assert full(data) == plain
        assert repr(full(data)) == repr(plain)  # -0.0 and 0.0, int and float told apart


EDGES: list[Any] = [
    None, True, False, 0, 1, -1, 0.0, -0.0, 0.5, 1e-300, 5e-324, 1e308, float("inf"),
    float("-inf"), float("nan"), 10**19, 2**63, 4102444800000, 4102444799999, "1", [], {},
]  # fmt: skip
SYMBOLS: list[Any] = ["HSTECH", "", " ", "x" * 64, "x" * 65, 1, None]
DAYS: list[Any] = ["2025-01-02", "2025-02-29", "2025-W01-1", "20250102", "2025-01-02\n", 7]


def test_edge_values_field_by_field() -> None:
    """Every edge value in every field of a bar and of a tick (the others plain)."""
    bar = {"symbol": "HSTECH", "date": "2025-01-02", "close": 2.0}
    tick = {"symbol": "HSTECH", "ts": 1_700_000_000_000, "price": 2.0}
    cases: list[dict[str, Any]] = []
    for base, fields in ((bar, ("close", "open", "high", "low", "volume")), (tick, ("ts", "price", "volume", "seq"))):  # fmt: skip
        cases += [{**base, "symbol": s} for s in SYMBOLS]
        cases += [{**base, name: v} for name in fields for v in EDGES]
        cases += [{k: v for k, v in base.items() if k != name} for name in base]
    cases += [{**bar, "date": d} for d in DAYS]
    cases += [{**bar, "high": 1.0, "low": 1.5}, {**bar, "high": 1.5, "low": 1.5}, {**tick, "x": 1}]
    plain = 0
    for data in cases:
        got = plain_quote(data)
        if got is not None:
            plain += 1
            assert repr(full(data)) == repr(got), data
    assert plain > 40  # the fast path is taken where it can be


def test_the_common_shapes_take_the_fast_path() -> None:
    assert plain_quote({"symbol": "HSTECH", "date": "2025-01-02", "close": 5000.5}) is not None
    ohlcv = {"open": 1, "high": 3.5, "low": 0.5, "close": 2.0, "volume": 0}
    assert plain_quote({"symbol": "0700.HK", "date": "2025-01-02", **ohlcv}) is not None
    tick = {"symbol": "X", "ts": 1_700_000_000_000, "price": 9.5, "seq": 3, "volume": 10}
    assert plain_quote(tick) is not None


ZONES = [
    "Asia/Hong_Kong", "Asia/Shanghai", "UTC", "America/New_York", "Europe/London",
    "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Kathmandu", "Africa/Monrovia",
    "America/St_Johns", "Pacific/Chatham", "Europe/Dublin", "America/Sao_Paulo",
]  # fmt: skip


def transitions(tz: str) -> list[int]:
    """Epoch ms of the zone's offset changes in 1970..2100 (hour by hour scan, then ms)."""
    zi = zone(tz)
    out = []
    hour = 3_600_000
    prev = datetime.fromtimestamp(0, tz=zi).utcoffset()
    for t in range(0, 4_102_444_800_000, hour * 24 * 7):
        now = datetime.fromtimestamp(t / 1000, tz=zi).utcoffset()
        if now != prev:
            out.append(t)
        prev = now
    return out[:40]


@pytest.mark.parametrize("tz", ZONES)
def test_local_time_is_iso_and_trading_day(tz: str) -> None:
    """LocalTime against iso()/trading_day(): random instants, every millisecond edge of a
    span, the weeks of the zone's offset changes, and instants outside 1970..2100."""
    rng = random.Random(tz)
    local = LocalTime(tz)
    times = [rng.randrange(0, 4_102_444_800_000) for _ in range(3000)]
    times += [rng.randrange(-6 * 10**13, 25 * 10**13) for _ in range(300)]  # a bar's session close
    for t in transitions(tz):
        times += [t + d for d in range(-8 * 86_400_000, 8 * 86_400_000, 450_001)]
        times += [t + d for d in (-1, 0, 1, 899_999, 900_000)]
    times += [k * 900_000 + d for k in (0, 1, 1_900_000, 4_558_271) for d in (-1, 0, 1, 999)]
    times += [0, 4_102_444_799_999, 4_102_444_800_000, -1]
    for t in times:
        assert local.iso(t) == iso(t, tz), t
        if 0 <= t < 4_102_444_800_000:
            assert local.day(t) == trading_day(t, tz), t


def test_units_to_8_decimals_is_round() -> None:
    rng = random.Random(8)
    units = [0, 1, -1, 2**53, -(2**53), 10**20, 2**26 * SCALE, 2**63 - 1, -(2**63)]
    units += [2**k * SCALE + d for k in range(20, 40) for d in (-1, 0, 1)]
    units += [rng.randrange(-(10**k), 10**k) for k in range(1, 25) for _ in range(3000)]
    for u in units:
        assert repr(units_to_8(u)) == repr(round(u / SCALE, 8)), u
