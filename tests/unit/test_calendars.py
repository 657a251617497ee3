"""Trading calendars (issue 12): a quote dated on a day its exchange had no session is
``closed_session``, an equity's daily bar without trades is ``no_trading``; both fed through
the worker's own path, on the real 0700.HK file, against a pandas reference."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pandas as pd
import pytest

from streams.domain.calendars import session_calendar
from streams.domain.instruments import EXCHANGE_SUFFIXES, Registry, RegistryError
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.domain.reasons import QUOTE_REASONS, REASONS
from streams.domain.rules import RuleBook
from streams.pipeline import QuotePipeline, SourceRecord
from streams.tools.cli import offline_quote_lines
from streams.tools.sources import quote_records
from tests.reference import HK_NOT_TRADED, rule_alerts, shared_path, without

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "examples" / "rules.toml"
HK = ZoneInfo("Asia/Hong_Kong")
TYPHOONS = HK_NOT_TRADED[2:]
SATURDAYS = HK_NOT_TRADED[:2]


def run_file(registry: Registry, symbol: str = "0700.HK") -> tuple[list[dict], dict[str, str]]:
    """The alerts and the dead letters (date -> reason) of the real file of ``symbol``,
    record by record through the pipeline the worker runs, with examples/rules.toml."""
    pipeline = QuotePipeline(QuoteEngine(RuleBook.load(RULES), registry), clock=lambda: 0)
    store: dict[bytes, SymbolState] = {}
    alerts: list[dict] = []
    dead: dict[str, str] = {}
    path = shared_path("quotes", f"{symbol}.csv")
    for i, (key, value) in enumerate(quote_records(path, symbol)):
        result = pipeline.process(key, value, SourceRecord("quotes.raw", 0, i), store)
        alerts += result.alerts
        if result.status == "deadletter":
            dead[orjson.loads(value)["date"]] = str(result.reason)
    return alerts, dead


def alert_keys(alerts: list[dict]) -> Counter:
    return Counter(
        (a["rule"], a["params"].get("window", a["params"].get("days")), a["trading_day"],
         a["direction"], a["confirmation"])
        for a in alerts
    )  # fmt: skip


def reference(frame: pd.DataFrame, symbol: str) -> Counter:
    """Every alert examples/rules.toml gives for ``symbol`` over ``frame``, by pandas."""
    out: Counter = Counter()
    for rule in tomllib.loads(RULES.read_text())["rules"]:
        if not any(fnmatchcase(symbol, p) for p in rule.get("symbols", ["*"])):
            continue
        param = rule.get("window", rule.get("days"))
        for day, direction in rule_alerts(frame, rule):
            out[(rule["rule"], param, day, direction, "close")] += 1
    return out


def file_frame() -> tuple[pd.DataFrame, list[str]]:
    """The 0700.HK closes, less the rows the edge rejects as ``schema`` (high below low),
    and the dates of those rows."""
    raw = pd.read_csv(shared_path("quotes", "0700.HK.csv"))
    bad = raw["High"] < raw["Low"]
    frame = raw.loc[~bad, ["Date", "Close"]].rename(columns={"Date": "date", "Close": "close"})
    return frame.reset_index(drop=True), list(raw.loc[bad, "Date"])


def test_the_six_rows_hong_kong_did_not_trade_are_dead_lettered_by_offline_quotes() -> None:
    """`windvane offline quotes` with the shipped registry: XHKG (exchange_calendars 4.13.2)
    knows the two Saturdays and the four typhoon closures of the file: all six are
    ``closed_session``; the half-day sessions with volume 0 (Christmas Eve, New Year's Eve,
    Lunar New Year's Eve) and 2014-05-16 moved the price: they stay trading days."""
    frame, schema_rows = file_frame()
    lines = list(offline_quote_lines(shared_path("quotes", "0700.HK.csv"), "0700.HK", RULES))
    dead = {
        orjson.loads(line["value"]["value_text"])["date"]: line["value"]["reason"]
        for line in lines
        if line["topic"] == "deadletter"
    }
    assert dead == {
        **dict.fromkeys(schema_rows, "schema"),
        **dict.fromkeys(HK_NOT_TRADED, "closed_session"),
    }
    assert schema_rows == ["2009-12-31", "2010-01-15"]  # high below low in the file
    days = [line["value"]["trading_day"] for line in lines if line["topic"] == "quotes.signals"]
    assert days == [d for d in frame["date"] if d not in HK_NOT_TRADED]
    for kept in ("2014-05-16", "2020-12-24", "2020-12-31", "2021-02-11", "2025-01-28"):
        assert kept in days


def test_alerts_on_0700_hk_match_pandas_over_the_cleaned_series() -> None:
    frame, _ = file_frame()
    alerts, _ = run_file(Registry.load(None))
    cleaned = reference(without(frame, HK_NOT_TRADED), "0700.HK")
    assert alert_keys(alerts) == cleaned
    # what windvane gave before calendars: the same rules over every row of the file
    before = reference(frame, "0700.HK")
    changed = (before - cleaned) + (cleaned - before)
    assert sum(changed.values()) == 8, sorted(changed)


def test_calendar_none_keeps_every_day_with_data() -> None:
    """`calendar = "none"`: today's behaviour, every row with data is a trading day."""
    frame, schema_rows = file_frame()
    alerts, dead = run_file(Registry.from_toml('[instruments."0700.HK"]\ncalendar = "none"\n'))
    assert dead == dict.fromkeys(schema_rows, "schema")
    assert alert_keys(alerts) == reference(frame, "0700.HK")


def test_volume_rule_catches_closures_a_calendar_misses() -> None:
    """Under a calendar that knows weekends only (exchange_calendars' 24/5), the Saturdays
    are ``closed_session`` and the four typhoon days, bars with volume 0 that repeat the
    previous close, are ``no_trading``; the alerts are the same as under XHKG."""
    frame, schema_rows = file_frame()
    registry = Registry.from_toml('[instruments."0700.HK"]\ncalendar = "24/5"\n')
    alerts, dead = run_file(registry)
    assert dead == {
        **dict.fromkeys(schema_rows, "schema"),
        **dict.fromkeys(SATURDAYS, "closed_session"),
        **dict.fromkeys(TYPHOONS, "no_trading"),
    }
    assert alert_keys(alerts) == reference(without(frame, HK_NOT_TRADED), "0700.HK")


class Feed:
    """Raw quote values through the worker's pipeline, with the shipped registry."""

    def __init__(self) -> None:
        self.pipeline = QuotePipeline(QuoteEngine(registry=Registry.load(None)), lambda: 0)
        self.store: dict[bytes, SymbolState] = {}

    def __call__(self, **quote: Any) -> tuple[str, str | None]:
        value = orjson.dumps(quote)
        r = self.pipeline.process(
            quote["symbol"].encode(), value, SourceRecord("quotes.raw", 0, 0), self.store
        )
        return r.status, r.reason


def hk(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=HK).timestamp() * 1000)


@pytest.mark.parametrize(
    ("when", "status"),
    [
        ("2025-01-04T10:00:00", "closed_session"),  # Saturday
        ("2025-01-29T10:00:00", "closed_session"),  # Lunar New Year
        ("2025-01-28T10:00:00", "ok"),  # Lunar New Year's Eve: a morning session
        ("2025-01-27T10:00:00", "ok"),
    ],
)
def test_ticks_on_a_day_hong_kong_is_closed(when: str, status: str) -> None:
    feed = Feed()
    got = feed(symbol="0700.HK", ts=hk(when), price=400.0)
    assert (got[1] or got[0]) == status
    # a symbol with calendar none (no suffix, not listed) keeps every day
    assert feed(symbol="BTC-USD", ts=hk(when), price=90000.0) == ("ok", None)


def test_the_trading_day_of_a_tick_is_the_exchange_date() -> None:
    """Friday 17:30 UTC is Saturday 01:30 in Hong Kong: no session."""
    feed = Feed()
    ts = int(datetime(2025, 1, 3, 17, 30, tzinfo=UTC).timestamp() * 1000)
    assert feed(symbol="0700.HK", ts=ts, price=400.0)[1] == "closed_session"
    assert feed(symbol="9988.HK", ts=ts - 2 * 3_600_000, price=80.0)[0] == "ok"  # Fri 23:30


def test_daily_bars_on_closed_days_for_indexes_and_unlisted_suffixes() -> None:
    feed = Feed()
    assert feed(symbol="HSI", date="2025-01-29", close=20000.0)[1] == "closed_session"
    assert feed(symbol="CSI300", date="2025-10-01", close=4600.0)[1] == "closed_session"
    assert feed(symbol="600519.SS", date="2025-10-01", close=1400.0)[1] == "closed_session"
    assert feed(symbol="000001.SZ", date="2025-10-08", close=11.0)[1] == "closed_session"
    assert feed(symbol="1234.HK", date="2025-01-04", close=1.0)[1] == "closed_session"
    assert feed(symbol="ETH-USD", date="2025-01-04", close=3000.0) == ("ok", None)
    assert feed(symbol="SYN001", date="2025-01-04", close=1.0) == ("ok", None)


def test_no_trading_is_an_equity_bar_with_volume_0_and_the_previous_close() -> None:
    """XHKG lists 2023-09-01 (typhoon Saola) and 2023-09-08 (black rainstorm) as sessions;
    Hong Kong did not trade: a feed's zero-volume rows for them are ``no_trading``."""
    feed = Feed()
    assert feed(symbol="0700.HK", date="2023-08-31", close=330.0, volume=2e7)[0] == "ok"
    assert feed(symbol="0700.HK", date="2023-09-01", close=330.0, volume=0)[1] == "no_trading"
    # volume 0 but the price moved: trades happened, the feed lost the volume (half days)
    assert feed(symbol="0700.HK", date="2023-09-04", close=331.0, volume=0)[0] == "ok"
    # volume not reported: nothing to judge
    assert feed(symbol="0700.HK", date="2023-09-05", close=331.0)[0] == "ok"
    # an index is not an equity: its volume (if any) says nothing about the session
    assert feed(symbol="HSI", date="2023-08-31", close=18382.0, volume=0)[0] == "ok"
    assert feed(symbol="HSI", date="2023-09-01", close=18382.0, volume=0)[0] == "ok"
    # calendar none: today's behaviour
    assert feed(symbol="XYZ", date="2023-08-31", close=5.0, volume=0)[0] == "ok"
    assert feed(symbol="XYZ", date="2023-09-01", close=5.0, volume=0)[0] == "ok"
    # the first bar of a symbol has no previous close to compare with: kept
    assert feed(symbol="0005.HK", date="2023-09-01", close=60.0, volume=0)[0] == "ok"


def test_dates_outside_the_calendar_are_trusted() -> None:
    """XSHG's holidays are known to the end of its bound_max (2026-12-31 in 4.13.2): a
    Saturday after the last session it knows is not judged."""
    cal = session_calendar("XSHG")
    after = date.fromordinal(cal.last) + timedelta(days=1)
    while after.weekday() != 5:
        after += timedelta(days=1)
    feed = Feed()
    assert feed(symbol="CSI300", date=after.isoformat(), close=4600.0) == ("ok", None)
    assert cal.is_closed(after - timedelta(days=7 * 53)) is True  # a Saturday inside
    before = date.fromordinal(session_calendar("XHKG").first) - timedelta(days=1)
    while before.weekday() != 5:
        before -= timedelta(days=1)
    assert feed(symbol="0700.HK", date=before.isoformat(), close=1.0) == ("ok", None)


def test_each_calendar_is_built_once() -> None:
    assert session_calendar("XHKG") is session_calendar("XHKG")
    hkex = session_calendar("XHKG")
    assert date.fromordinal(hkex.first) <= date(2009, 1, 2)  # older than every file's start
    assert date.fromordinal(hkex.last) >= date(2049, 12, 1)


def test_registry_calendars() -> None:
    reg = Registry.load(None)
    assert reg.get("HSI").calendar == reg.get("HSTECH").calendar == "XHKG"
    assert (reg.get("CSI300").calendar, reg.get("CSI300").timezone) == ("XSHG", "Asia/Shanghai")
    assert reg.get("0700.HK").calendar == "XHKG"  # listed, calendar from its suffix
    assert reg.get("TMALL").calendar is None  # a platform, not quoted
    unlisted = reg.get("601318.ss")
    assert (unlisted.calendar, unlisted.timezone, unlisted.session_close.isoformat()) == (
        "XSHG",
        "Asia/Shanghai",
        "15:00:00",
    )
    for bare in ("AAPL", "BTC-USD", "X", "SYN003.0700"):
        assert reg.get(bare).calendar is None, bare
    own = Registry.from_toml('[instruments."0700.HK"]\ncalendar = "none"\n')
    assert own.get("0700.HK").calendar is None
    assert Registry().get("0700.HK").calendar == "XHKG"  # suffix rules hold without a file
    for name in {e.calendar for e in EXCHANGE_SUFFIXES.values()}:
        assert session_calendar(name).name == name


@pytest.mark.parametrize("bad", ['calendar = "XHKK"', "calendar = 7"])
def test_an_unknown_calendar_is_a_registry_error(bad: str) -> None:
    with pytest.raises(RegistryError, match="ABC"):
        Registry.from_toml(f"[instruments.ABC]\n{bad}\n")


def test_the_calendar_reasons_are_in_the_one_list_and_the_schema() -> None:
    """The list itself is checked against every ``Rejected`` by tests/unit/test_reasons.py."""
    schema = json.loads((REPO / "schemas" / "deadletter.json").read_text())
    assert set(schema["properties"]["reason"]["enum"]) == set(REASONS)
    assert {"closed_session", "no_trading"} <= set(QUOTE_REASONS)
    source = (REPO / "streams" / "domain" / "quotes.py").read_text()
    assert "Rejected(\n" in source or "Rejected(" in source
    assert '"closed_session"' in source and '"no_trading"' in source
