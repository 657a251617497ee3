"""WINDVANE_SIGNAL_SHAPE: the compact signal loses nothing.

Every real price history of ../shared/data/quotes goes in as input bytes through the path
the worker runs (``Task.process`` in rounds, then ``take_commit``), as daily bars (as
``windvane replay`` sends them) and as ticks made from each day's open, high, low and
close, once with ``full`` and once with ``compact``. For every signal,
``orjson.dumps(expand(compact))`` is the full shape's bytes; each compact value satisfies
``schemas/signal-compact.json``; its headers say ``dev.windvane.signal.compact.v1`` and the
compact schema; alerts, dead letters, day records and states are the same in both runs.
Then the edges: prices across magnitudes (the derived fields are kept from 10,000,000 up),
a close exactly on or a hair under its SMA (``-0.0``), non-default windows refused."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from aiokafka import ConsumerRecord
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.article_pipeline import ArticlePipeline
from streams.cloudevents import SIGNAL_COMPACT_TYPE, SIGNAL_TYPE, CloudEvents
from streams.config import ConfigError, Settings
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine
from streams.domain.rules import RuleBook
from streams.pipeline import OutRecord, QuotePipeline
from streams.runtime.task import Task
from streams.signal_shapes import EXACT_BELOW, SCALE, SignalShape, expand
from streams.tools.sources import bar_as_ticks, quote_records
from tests.reference import QUOTES
from tests.schemas import REPO, validator

pytestmark = pytest.mark.unit

TOPIC = "quotes.raw"
SIGNALS = "quotes.signals"
RULES = REPO / "examples" / "rules.toml"
FILES = sorted(QUOTES.glob("*.csv"))
ROUND = 4000  # records per Task.process call, as the runner's getmany
COMPACT_ID = "https://windvane.dev/schemas/signal-compact/v1"
TICK_DAYS = 1000  # days of each file fed as ticks (all of them as bars)


@dataclass
class Run:
    """What one shape's run wrote: output records, changelog entries."""

    records: list[OutRecord] = field(default_factory=list)
    states: list[tuple[bytes, bytes | None]] = field(default_factory=list)
    days: list[tuple[bytes, bytes | None]] = field(default_factory=list)

    def topic(self, name: str) -> list[OutRecord]:
        return [r for r in self.records if r.topic == name]

    def others(self) -> list[tuple[str, bytes | None, bytes, Any]]:
        return [(r.topic, r.key, r.value, r.event) for r in self.records if r.topic != SIGNALS]


def run(inputs: list[tuple[bytes, bytes]], shape: SignalShape | None) -> Run:
    """``inputs`` through a task of a worker with ``shape`` (None: the default)."""
    registry = Registry.load(None)
    engine = QuoteEngine(RuleBook.load(RULES), registry)
    quotes = (
        QuotePipeline(engine, clock=lambda: 1_760_000_000_000)
        if shape is None
        else QuotePipeline(engine, clock=lambda: 1_760_000_000_000, signal_shape=shape)
    )
    task = Task(0, quotes, ArticlePipeline(ArticleEnricher(registry), clock=lambda: 0))
    out = Run()
    records = [
        ConsumerRecord(TOPIC, 0, i, 0, 0, k, v, None, len(k), len(v), ())
        for i, (k, v) in enumerate(inputs)
    ]
    for start in range(0, len(records), ROUND):
        task.process(records[start : start + ROUND], TOPIC)
        commit = task.take_commit()
        out.records += commit.batch.records
        out.states += commit.states
        out.days += commit.days
    return out


def bars(path: Path) -> list[tuple[bytes, bytes]]:
    """The file's rows as daily bars (open/high/low/volume when the file has them)."""
    return list(quote_records(path, path.stem))


def ticks(path: Path) -> list[tuple[bytes, bytes]]:
    """The last :data:`TICK_DAYS` days' bars as ticks in Hong Kong hours
    (``bar_as_ticks``: open, the extreme met first, the other, close)."""
    return [(key, t) for key, raw in bars(path)[-TICK_DAYS:] for t in bar_as_ticks(raw)]


def expanded(record: OutRecord) -> bytes:
    return orjson.dumps(expand(orjson.loads(record.value)))


@pytest.fixture(scope="module")
def compact_schema() -> jsonschema.Draft202012Validator:
    return validator("signal-compact")


@pytest.mark.parametrize("feed", [bars, ticks], ids=["bars", "ticks"])
def test_the_compact_shape_expands_to_the_full_bytes_on_real_histories(
    feed: Any, compact_schema: jsonschema.Draft202012Validator
) -> None:
    inputs = [record for path in FILES for record in feed(path)]
    full, small = run(inputs, "full"), run(inputs, "compact")
    if feed is bars:  # the default is the full shape, record for record
        assert [(r.topic, r.key, r.value, r.event) for r in run(inputs, None).records] == [
            (r.topic, r.key, r.value, r.event) for r in full.records
        ]
    # everything but the signals is the same in both shapes: alerts, dead letters, state
    assert small.others() == full.others()
    assert small.states == full.states and small.days == full.days
    assert len(full.topic("alerts")) > 100
    signals = list(zip(full.topic(SIGNALS), small.topic(SIGNALS), strict=True))
    assert len(signals) > (27_000 if feed is bars else 30_000)
    headers = CloudEvents("windvane").headers
    seen: dict[str, int] = {}
    for whole, part in signals:
        assert part.key == whole.key
        assert expanded(part) == whole.value
        assert part.event is not None and whole.event is not None
        assert whole.event[0] == SIGNAL_TYPE and part.event[0] == SIGNAL_COMPACT_TYPE
        assert part.event[2:] == whole.event[2:]  # time, subject
        value = orjson.loads(part.value)
        final = value["final"]
        if final:  # a provisional one's id hashes the value written
            assert part.event[1] == whole.event[1]
        for what, present in (
            ("bar", "bar" in value),
            ("warm-up", len(value["sma"]) < 6),
            ("provisional", not final),
            ("first", value["prev_close"] is None),
        ):
            seen[what] = seen.get(what, 0) + present
    # the data went through every rule of the shape
    assert all(seen[k] > 0 for k in ("bar", "warm-up", "first")), seen
    assert (seen["provisional"] > 0) == (feed is ticks), seen
    # each compact value satisfies its schema (a sample: jsonschema takes ~0.3 ms a value;
    # every value is checked by the fast validator below)
    fast = fast_validator()
    for _, part in signals:
        fast(orjson.loads(part.value))
    for _, part in signals[:: max(1, len(signals) // 3000)]:
        compact_schema.validate(orjson.loads(part.value))
    wired = headers(SIGNALS, signals[-1][1].event)
    assert wired is not None
    as_text = {k: v.decode() for k, v in wired}
    validator("cloudevents-headers").validate(as_text)
    assert as_text["ce_type"] == SIGNAL_COMPACT_TYPE and as_text["ce_dataschema"] == COMPACT_ID


def fast_validator() -> Any:
    """The compact schema compiled by fastjsonschema (as the edge compiles its schemas)."""
    from streams.contracts import validator as compiled

    return compiled("signal-compact")


# -- the edges ----------------------------------------------------------------------------


def tick_feed(prices: list[float], per_day: int = 1) -> list[tuple[bytes, bytes]]:
    """``per_day`` ticks a day from 10:00 UTC, an hour apart, weekdays and weekends alike
    (symbol X: no calendar)."""
    start = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000 + 36_000_000
    out = []
    for i, price in enumerate(prices):
        ts = start + (i // per_day) * 86_400_000 + (i % per_day) * 3_600_000
        out.append((b"X", orjson.dumps({"symbol": "X", "ts": ts, "price": price})))
    return out


def both(inputs: list[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """(full bytes, compact value) of every signal, after checking the runs agree."""
    full, small = run(inputs, "full"), run(inputs, "compact")
    assert small.others() == full.others()
    for whole, part in zip(full.topic(SIGNALS), small.topic(SIGNALS), strict=True):
        assert expanded(part) == whole.value
        yield whole.value, orjson.loads(part.value)


MAX_PRICE = 2e12
"""Past ~9.2e10 a price's units pass 2^63 (the state then writes them as text)."""


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=1e-4, max_value=MAX_PRICE),
    st.lists(st.floats(min_value=-0.2, max_value=0.2), min_size=1, max_size=300),
    st.sampled_from([2, 4, 8, 12]),
)
def test_any_price_walk_expands_to_the_full_bytes(
    start: float, moves: list[float], digits: int
) -> None:
    """Random walks from 1e-4 to 2e12, through the 10,000,000 line and past 64-bit units:
    lossless either way."""
    prices, price = [], start
    for move in moves:
        price = min(max(round(price * (1 + move), digits), 1e-4), MAX_PRICE)
        prices.append(price)
    for _, value in both(tick_feed(prices)):
        prices_in = [value["price"], value["prev_close"] or 0.0, value["high"].get("250", 0.0)]
        assert ("change" in value) == (max(prices_in) >= EXACT_BELOW)


@pytest.mark.parametrize("level", [1e-3, 1.0, 1e3, 1e6, 9.9e6, 1.01e7, 3e7, 1e9, 4e10])
def test_price_levels_around_the_line(level: float) -> None:
    """A walk of 600 ticks (3 a day, ~3% a tick) at each level: the three derived fields are
    left out exactly while price, prev_close and high[250] are below 10,000,000."""
    rng = random.Random(int(level * 1000))
    prices, price = [], level
    for _ in range(600):
        price = float(f"{price * (1 + rng.gauss(0, 0.03)):.{rng.choice([4, 6, 9])}g}")
        prices.append(price)
    kept = derived = 0
    for _, value in both(tick_feed(prices, per_day=3)):
        line = max(value["price"], value["prev_close"] or 0.0, value["high"].get("250", 0.0))
        assert ("change" in value) == (line >= EXACT_BELOW)
        kept += "change" in value
        derived += "change" not in value
    assert derived if level < 9e6 else kept
    if 9e6 <= level <= 1.1e7:
        assert kept and derived  # the walk crosses the line


def test_units_come_back_exactly_below_the_line_and_not_far_above_it() -> None:
    """Why the line is at 10,000,000: below it a price has < 2^50 units and ``round(price *
    1e8)`` gives them back; from 2^51 units (22,517,998) on it does not always."""
    rng = random.Random(5)
    below = [rng.randrange(1, int(EXACT_BELOW) * SCALE) for _ in range(200_000)]
    below += [int(EXACT_BELOW) * SCALE - 1 - i for i in range(1000)]
    assert all(round(u / SCALE * SCALE) == u for u in below)
    above = [rng.randrange(2**52, 2**53) for _ in range(1000)]
    assert any(round(u / SCALE * SCALE) != u for u in above)


def test_a_close_a_hair_under_its_sma_gives_negative_zero_in_both_shapes() -> None:
    prices = [100.00000005, 100.0, 100.0, 100.0, 100.0, 100.0]
    values = list(both(tick_feed(prices)))
    fifth, sixth = values[8], values[10]  # each day: a provisional tick, then its final one
    assert b'"distance_pct":{"5":-0.0,' in fifth[0]  # sma5 100.00000001, close 100.0
    assert b'"distance_pct":{"5":0.0,' in sixth[0]  # on the line: 0.0
    assert "distance_pct" not in fifth[1]


def test_what_the_compact_shape_leaves_out() -> None:
    inputs = [(b"X", orjson.dumps({"symbol": "X", "date": f"2025-01-{d:02}", **bar}))
              for d, bar in ((2, {"close": 10.0}), (3, {"close": 11.0, "open": 10.5, "high": 11.5,
                                                         "low": 10.25}))]  # fmt: skip
    (first_full, first), (_, second) = both(inputs)
    assert first == {
        "symbol": "X", "final": True, "source": "bar",
        "event_time": "2025-01-02T16:00:00.000+08:00", "price": 10.0, "days": 1,
        "sma": {}, "high": {}, "low": {}, "streak": 0, "prev_close": None,
        "prev_trading_day": None,
    }  # fmt: skip
    assert orjson.loads(first_full)["bar"] == dict.fromkeys(("open", "high", "low", "close"), 10.0)
    assert second["bar"] == {"open": 10.5, "high": 11.5, "low": 10.25}
    assert second["prev_close"] == 10.0 and "change" not in second


def test_compact_needs_the_default_windows() -> None:
    with pytest.raises(ValueError, match="fixed windows"):
        QuotePipeline(QuoteEngine(sma_windows=(5, 30)), lambda: 0, signal_shape="compact")
    QuotePipeline(QuoteEngine(sma_windows=(5, 30)), lambda: 0)  # the full shape takes any
    with pytest.raises(ValueError, match="signal shape"):
        QuotePipeline(QuoteEngine(), lambda: 0, signal_shape="tiny")  # type: ignore[arg-type]


def test_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WINDVANE_SIGNAL_SHAPE", raising=False)
    assert Settings.from_env().signal_shape == "full"
    monkeypatch.setenv("WINDVANE_SIGNAL_SHAPE", "compact")
    assert Settings.from_env().signal_shape == "compact"
    monkeypatch.setenv("WINDVANE_SIGNAL_SHAPE", "small")
    with pytest.raises(ConfigError, match="WINDVANE_SIGNAL_SHAPE='small': expected one of full"):
        Settings.from_env()


def test_offline_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.tools.cli import offline_quote_lines

    path = QUOTES / "HSTECH.csv"
    monkeypatch.delenv("WINDVANE_SIGNAL_SHAPE", raising=False)
    full = [x["value"] for x in offline_quote_lines(path, "HSTECH", None) if x["topic"] == SIGNALS]
    monkeypatch.setenv("WINDVANE_SIGNAL_SHAPE", "compact")
    small = [x["value"] for x in offline_quote_lines(path, "HSTECH", None) if x["topic"] == SIGNALS]
    assert [orjson.dumps(expand(c)) for c in small] == [orjson.dumps(f) for f in full]
    assert "distance_pct" not in small[-1]


def test_the_readme_snippet_reads_both_shapes() -> None:
    """The README's consumer snippet, run as it is printed, on records of either shape."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("#### The compact signal", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(snippet, scope)  # the README's own code
    inputs = bars(QUOTES / "9988.HK.csv")[-300:]
    headers = CloudEvents("windvane").headers
    for shape in ("full", "compact"):
        for out in run(inputs, shape).topic(SIGNALS):
            record = ConsumerRecord(SIGNALS, 0, 0, 0, 0, out.key, out.value, None, 0, 0,
                                    headers(SIGNALS, out.event))  # fmt: skip
            whole = scope["full_signal"](record)
            assert validator("signal").is_valid(whole)
            assert "distance_pct" in whole and "rolling_high" in whole
