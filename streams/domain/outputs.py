"""The quote path's outputs as typed values: a :class:`Signal` per quote, an :class:`Alert`
per rule that fires, a :class:`DayRecord` per final day (kept for claim checks).

Each has one ``to_wire()``: the JSON object of its record, keys in the order they have on
the wire (``schemas/signal.json``, ``schemas/alert.json``). The domain builds values; the
pipeline encodes them (:mod:`streams.codec`), so the bytes are made in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(slots=True)
class BarPrices:
    """The day's open, high, low and close (currency units)."""

    open: float
    high: float
    low: float
    close: float


@dataclass(slots=True)
class Signal:
    """A snapshot of a symbol's trading day (``quotes.signals``): provisional while the day
    is being built, final once closed. Maps keyed by window length (as text)."""

    symbol: str
    trading_day: str
    final: bool
    source: Literal["ticks", "bar"]
    event_time: str
    price: float
    bar: BarPrices
    days: int
    sma: dict[str, float | None]
    distance_pct: dict[str, float | None]
    high: dict[str, float | None]
    low: dict[str, float | None]
    drawdown_pct: float | None
    rolling_high: float | None
    streak: int
    prev_close: float | None
    prev_trading_day: str | None
    change: float | None
    change_pct: float | None

    def to_wire(self) -> dict[str, Any]:
        bar = self.bar
        return {
            "symbol": self.symbol,
            "trading_day": self.trading_day,
            "final": self.final,
            "source": self.source,
            "event_time": self.event_time,
            "price": self.price,
            "bar": {"open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close},
            "days": self.days,
            "sma": self.sma,
            "distance_pct": self.distance_pct,
            "high": self.high,
            "low": self.low,
            "drawdown_pct": self.drawdown_pct,
            "rolling_high": self.rolling_high,
            "streak": self.streak,
            "prev_close": self.prev_close,
            "prev_trading_day": self.prev_trading_day,
            "change": self.change,
            "change_pct": self.change_pct,
        }

    def day_record(self) -> DayRecord:
        """What is kept of a final day (see :class:`DayRecord`)."""
        bar = self.bar
        ranged = not (bar.open == bar.high == bar.low == bar.close)
        return DayRecord(
            self.trading_day,
            self.price,
            self.sma,
            self.prev_trading_day,
            self.prev_close,
            self.streak,
            bar.open if ranged else None,
            bar.high if ranged else None,
            bar.low if ranged else None,
        )


@dataclass(slots=True)
class DayRecord:
    """What claim checks and the dashboard read of a final day; the rest of the signal is
    not kept (day records stay in memory for as long as they are kept: ~680 B as full
    signals). ``open``/``high``/``low`` are kept when the day had a range: a bar of closes
    only (an index's daily close) has open = high = low = close, and a claim about its
    intraday high must get ``unknown``, not a verdict on a made-up high."""

    trading_day: str
    price: float
    sma: dict[str, float | None]
    prev_trading_day: str | None
    prev_close: float | None
    streak: int
    open: float | None = None
    high: float | None = None
    low: float | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "trading_day": self.trading_day,
            "price": self.price,
            "sma": self.sma,
            "prev_trading_day": self.prev_trading_day,
            "prev_close": self.prev_close,
            "streak": self.streak,
        }
        if self.open is not None:
            wire.update(open=self.open, high=self.high, low=self.low)
        return wire


@dataclass(slots=True)
class Alert:
    """A rule that fired (``alerts``). ``id`` is deterministic (see
    :func:`streams.domain.quotes.alert_id`)."""

    id: str
    rule: str
    rule_name: str
    params: dict[str, Any]
    symbol: str
    trading_day: str
    direction: str
    confirmation: str
    price: float
    sma: float | None
    prev_price: float | None
    prev_sma: float | None
    event_time: str
    emitted_at: str
    severity: str
    details: dict[str, Any]
    related_articles: list[str] = field(default_factory=list)
    summary: str | None = None  # one line for people, by the rule (last on the wire)

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "id": self.id,
            "rule": self.rule,
            "rule_name": self.rule_name,
            "params": self.params,
            "symbol": self.symbol,
            "trading_day": self.trading_day,
            "direction": self.direction,
            "confirmation": self.confirmation,
            "price": self.price,
            "sma": self.sma,
            "prev_price": self.prev_price,
            "prev_sma": self.prev_sma,
            "event_time": self.event_time,
            "emitted_at": self.emitted_at,
            "severity": self.severity,
            "details": self.details,
            "related_articles": self.related_articles,
        }
        if self.summary is not None:
            wire["summary"] = self.summary
        return wire


Output = Signal | Alert
"""What :meth:`streams.domain.quotes.QuoteEngine.apply` emits, in order."""
