"""The quote path's domain: quotes in, per-symbol state, signals and alerts out.

``QuoteEngine.apply(state, quote)`` is the whole computation; agents and the offline
command both call it, so the Kafka path and ``windvane offline`` give the same records.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any, Literal

from streams import codec
from streams.domain.calendars import SessionCalendar, session_calendar
from streams.domain.indicators import SCALE, CloseHistory, Snapshot, int_out, to_fixed
from streams.domain.instruments import Instrument, Registry
from streams.domain.outputs import Alert, BarPrices, Output, Signal
from streams.domain.rules import Firing, RuleBook, RuleSpec, RuleState
from streams.domain.timeutil import (
    MAX_EVENT_MS,
    MIN_EVENT_MS,
    LocalTime,
    TimestampError,
    bar_event_time,
    iso_utc,
    parse_event_time,
)

DEFAULT_SMA_WINDOWS = (5, 10, 20, 60, 120, 250)
DEFAULT_EXTREME_WINDOWS = (20, 60, 250)
DEFAULT_DRAWDOWN_WINDOW = 250

EQUITY_KINDS = frozenset({"stock"})
"""Instrument kinds whose daily volume means trades: a bar with volume 0 is no trading day.
Indexes are not among them: a provider may report an index's volume as 0 or leave it out."""


class Rejected(Exception):
    """A quote that must go to the dead-letter topic, with a machine-readable reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Tick:
    symbol: str
    ts: int  # epoch ms UTC
    price: float
    volume: float | None = None
    seq: int | None = None


@dataclass(slots=True)
class DailyBar:
    symbol: str
    day: date
    close: float
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: float | None = None


Quote = Tick | DailyBar


def _price(data: dict[str, Any], name: str, required: bool) -> float | None:
    value = data.get(name)
    if value is None:
        if required:
            raise Rejected("schema", f"missing {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected("schema", f"{name} is not a number")
    if not math.isfinite(value):
        raise Rejected("non_finite", f"{name} is {value}")
    if value <= 0:
        raise Rejected("non_positive", f"{name} is {value}")
    return float(value)


def quote_from_dict(data: dict[str, Any]) -> Quote:
    """A schema-valid quote value as a typed event; value rules (finite, > 0) checked here."""
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not symbol.strip():
        raise Rejected("schema", "symbol must be a non-empty string")
    if "date" in data:
        try:
            day = date.fromisoformat(str(data["date"]))
        except ValueError as exc:
            raise Rejected("schema", f"date is not YYYY-MM-DD: {str(data['date'])[:32]!r}") from exc
        close = _price(data, "close", True)
        assert close is not None
        bar = DailyBar(
            symbol=symbol,
            day=day,
            close=close,
            open=_price(data, "open", False),
            high=_price(data, "high", False),
            low=_price(data, "low", False),
            volume=_volume(data),
        )
        if bar.high is not None and bar.low is not None and bar.high < bar.low:
            raise Rejected("schema", "high is below low")
        return bar
    if "ts" not in data:
        raise Rejected("schema", "a quote needs `date` (daily bar) or `ts` (tick)")
    try:
        ts = parse_event_time(data["ts"])
    except TimestampError as exc:
        raise Rejected("bad_timestamp", str(exc)) from exc
    price = _price(data, "price", True)
    assert price is not None
    seq = data.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        raise Rejected("schema", "seq is not an integer")
    return Tick(symbol=symbol, ts=ts, price=price, volume=_volume(data), seq=seq)


_INF = math.inf
_BAR_FIELDS = frozenset({"symbol", "date", "close", "open", "high", "low", "volume"})
_TICK_FIELDS = frozenset({"symbol", "ts", "price", "volume", "seq"})
_PLAIN_DAYS: dict[str, date] = {}  # "YYYY-MM-DD" -> its date, for the texts seen (bounded)


def plain_quote(data: dict[str, Any]) -> Quote | None:
    """The quote of a decoded value with nothing unusual in it (only the fields of a daily
    bar or of a tick, each of its plain type and in range), or None on any doubt: the caller
    then validates it fully (schema and :func:`quote_from_dict`), which gives the same quote
    or the reason to reject it. A fast path: no schema validator call, no exception."""
    symbol = data.get("symbol")
    if type(symbol) is not str or not 0 < len(symbol) <= 64 or not symbol.strip():
        return None
    keys = data.keys()
    if "date" in data:
        if not keys <= _BAR_FIELDS:
            return None
        day = _plain_day(data["date"])
        close = data.get("close")
        if day is None or not (type(close) is float or type(close) is int) or not 0 < close < _INF:
            return None
        opening, high, low = data.get("open"), data.get("high"), data.get("low")
        volume = data.get("volume")
        if opening is None and high is None and low is None and volume is None:
            return DailyBar(symbol, day, float(close))
        bar = DailyBar(
            symbol,
            day,
            float(close),
            _plain_price(opening),
            _plain_price(high),
            _plain_price(low),
            _plain_volume(volume),
        )
        if (
            (opening is not None and bar.open is None)
            or (high is not None and bar.high is None)
            or (low is not None and bar.low is None)
            or (volume is not None and bar.volume is None)
            or (bar.high is not None and bar.low is not None and bar.high < bar.low)
        ):
            return None
        return bar
    if not keys <= _TICK_FIELDS:
        return None
    ts, price, seq = data.get("ts"), data.get("price"), data.get("seq")
    volume = data.get("volume")
    if (
        type(ts) is not int
        or not MIN_EVENT_MS <= ts < MAX_EVENT_MS
        or not (type(price) is float or type(price) is int)
        or not 0 < price < _INF
        or not (seq is None or type(seq) is int)
    ):
        return None
    tick_volume = _plain_volume(volume)
    if volume is not None and tick_volume is None:
        return None
    return Tick(symbol, ts, float(price), tick_volume, seq)


def _plain_day(text: Any) -> date | None:
    day = _PLAIN_DAYS.get(text) if type(text) is str else None
    if day is not None or type(text) is not str:
        return day
    if not (
        len(text) == 10
        and text.isascii()
        and text[4] == text[7] == "-"
        and (text[:4] + text[5:7] + text[8:]).isdigit()
    ):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    if len(_PLAIN_DAYS) >= 100_000:
        _PLAIN_DAYS.clear()
    _PLAIN_DAYS[text] = day
    return day


def _plain_price(value: Any) -> float | None:
    """A price > 0 as a float; None for None and for anything in doubt."""
    if (type(value) is float or type(value) is int) and 0 < value < _INF:
        return float(value)
    return None


def _plain_volume(value: Any) -> float | None:
    if (type(value) is float or type(value) is int) and 0 <= value < _INF:
        return float(value)
    return None


def _volume(data: dict[str, Any]) -> float | None:
    value = data.get("volume")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Rejected("schema", "volume is not a finite number")
    if value < 0:
        raise Rejected("schema", "volume is negative")
    return float(value)


@dataclass(slots=True)
class Outcome:
    """What one quote did: its signals and alerts in order (keyed by the quote's symbol), or
    nothing for a duplicate; and the quote's event time (:meth:`QuoteEngine.event_time`)."""

    emitted: list[Output] = field(default_factory=list)
    duplicate: bool = False
    event_ms: int | None = None


@dataclass
class DayBar:
    """The trading day being built (from ticks) or closed (by a daily bar)."""

    day: str
    open: int
    high: int
    low: int
    close: int
    open_key: tuple[int, int]  # (ts, seq) of the first tick by event time
    close_key: tuple[int, int]  # (ts, seq) of the last tick by event time
    event_time: int
    final: bool
    source: Literal["ticks", "bar"]
    bar_fingerprint: str | None = None
    # the daily bar's volume, for rules (``Snapshot.volume``); a day built from ticks has
    # none. Not persisted: a bar's day is closed in the call that applies it.
    volume: float | None = None

    def to_list(self) -> list[Any]:
        return [
            self.day,
            int_out(self.open),  # units beyond 64 bits (a price above ~92 billion) as text
            int_out(self.high),
            int_out(self.low),
            int_out(self.close),
            list(self.open_key),
            list(self.close_key),
            self.event_time,
            self.final,
            self.source,
            self.bar_fingerprint,
        ]

    @classmethod
    def from_list(cls, v: list[Any]) -> DayBar:
        return cls(
            v[0],
            int(v[1]),
            int(v[2]),
            int(v[3]),
            int(v[4]),
            (v[5][0], v[5][1]),
            (v[6][0], v[6][1]),
            v[7],
            v[8],
            v[9],
            v[10],
        )


@dataclass
class SymbolState:
    """Everything windvane remembers about one symbol; serializes to a table value."""

    history: CloseHistory
    day: DayBar | None = None
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_final_day: str | None = None  # the latest trading day whose close is final
    # the symbol's rules and their state dicts in ``rules``, looked up once (not persisted)
    rule_states: tuple[tuple[RuleSpec, ...], list[RuleState]] | None = field(
        default=None, repr=False, compare=False
    )

    def states_of(self, rules: tuple[RuleSpec, ...]) -> list[RuleState]:
        """The state dict of each of ``rules`` (created empty, in order, on first use)."""
        cached = self.rule_states
        if cached is None or cached[0] is not rules:
            states = self.rules
            cached = self.rule_states = (rules, [states.setdefault(r.id, {}) for r in rules])
        return cached[1]

    def to_bytes(self, version: int = 2) -> bytes:
        """The state record: format ``version`` 2, or 1 (the history's sums and extremes
        too) for a rolling upgrade from workers that read only 1."""
        return codec.dumps(
            {
                "v": version,
                "history": self.history.to_dict(codec.raw, derived=version == 1),
                "day": self.day.to_list() if self.day else None,
                "rules": self.rules,
                "last_final": self.last_final_day,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes, engine: QuoteEngine) -> SymbolState:
        data = codec.loads(raw)
        return cls(
            history=CloseHistory.from_dict(
                data["history"], engine.sma_windows, engine.extreme_windows
            ),
            day=DayBar.from_list(data["day"]) if data["day"] else None,
            rules=dict(data["rules"]),
            last_final_day=data.get("last_final"),
        )


def alert_id(
    rule: str,
    params: dict[str, Any],
    symbol: str,
    day: str,
    direction: str,
    confirmation: str,
    tag: str | None = None,
) -> str:
    """Deterministic: replaying the same input yields the same ids, so consumers can dedupe.

    The first 32 hex digits of SHA-256 over the compact JSON array (keys sorted)
    ``[rule, params, symbol, trading_day, direction, confirmation]``, with the rule's name
    (``rule_name``) appended when it is not the default ``kind:params`` identity: a ``name``
    set in the rules file, or ``kind:params#2`` for a second unnamed rule of the same kind and
    parameters. Rules with the default identity keep the ids they always had.
    """
    parts: list[Any] = [rule, params, symbol, day, direction, confirmation]
    if tag is not None:
        parts.append(tag)
    return hashlib.sha256(codec.dumps_sorted(parts)).hexdigest()[:32]


def _round(value: float | None, digits: int = 8) -> float | None:
    return None if value is None else round(value, digits)


def units_to_8(units: int) -> float:
    """``round(units / SCALE, 8)``, without the round: it changes nothing. ``units / SCALE``
    is the float nearest ``units`` * 1e-8; rounded to 8 decimals it gives that decimal when an
    ulp is below 1e-8, and a decimal within 0.5e-8 < half an ulp of it otherwise; either
    reads back as the same float (tested against round across magnitudes)."""
    return units / SCALE


class _Exchange:
    """What the symbols of one time zone, session close and calendar share, with what the
    engine derives from it per trading day (once: all its symbols trade the same days)."""

    __slots__ = ("calendar", "close", "days", "time", "tz")

    def __init__(self, tz: str, close: time, calendar: SessionCalendar | None) -> None:
        self.tz = tz
        self.close = close
        self.calendar = calendar
        self.time = LocalTime(tz)
        self.days: dict[date, tuple[str, bool, int]] = {}

    def day(self, day: date) -> tuple[str, bool, int]:
        """``day`` as ``YYYY-MM-DD``, whether the calendar has no session that day, and the
        event time of its daily bar (the session close, epoch ms)."""
        found = self.days.get(day)
        if found is None:
            closed = self.calendar is not None and self.calendar.is_closed(day)
            found = (day.isoformat(), closed, bar_event_time(day, self.tz, self.close))
            if len(self.days) >= 100_000:
                self.days.clear()
            self.days[day] = found
        return found


class QuoteEngine:
    """Applies quotes to per-symbol state. Pure: the clock is injected."""

    def __init__(
        self,
        rules: RuleBook | None = None,
        registry: Registry | None = None,
        sma_windows: tuple[int, ...] = DEFAULT_SMA_WINDOWS,
        extreme_windows: tuple[int, ...] = DEFAULT_EXTREME_WINDOWS,
        drawdown_window: int = DEFAULT_DRAWDOWN_WINDOW,
    ) -> None:
        self.rules = rules or RuleBook.default()
        self.registry = registry or Registry()
        self.signal_windows = tuple(sorted(set(sma_windows)))
        self.signal_extremes = tuple(sorted(set(extreme_windows)))
        self.drawdown_window = drawdown_window
        self.sma_windows = tuple(sorted({*self.signal_windows, *self.rules.sma_windows()}))
        self.extreme_windows = tuple(
            sorted({*self.signal_extremes, drawdown_window, *self.rules.extreme_windows()})
        )
        # signal maps: (window, its key on the wire, its divisor in fixed-point units)
        self._sma_keys = tuple((n, str(n), n * SCALE) for n in self.signal_windows)
        self._extreme_keys = tuple((n, str(n)) for n in self.signal_extremes)
        self._symbols: dict[str, tuple[Instrument, _Exchange]] = {}
        self._exchanges: dict[tuple[str, time, str | None], _Exchange] = {}

    def _where(self, symbol: str) -> tuple[Instrument, _Exchange]:
        """The symbol's instrument and exchange, looked up once per symbol (bounded)."""
        found = self._symbols.get(symbol)
        if found is None:
            inst = self.registry.get(symbol)
            key = (inst.timezone, inst.session_close, inst.calendar)
            exchange = self._exchanges.get(key)
            if exchange is None:
                name = inst.calendar
                calendar = session_calendar(name) if name is not None else None
                exchange = self._exchanges[key] = _Exchange(*key[:2], calendar)
            found = (inst, exchange)
            if len(self._symbols) >= 100_000:
                self._symbols.clear()
            self._symbols[symbol] = found
        return found

    def event_time(self, quote: Quote) -> int:
        """Epoch ms of a quote's event: the tick's time, or the bar day's session close."""
        if isinstance(quote, Tick):
            return quote.ts
        return self._where(quote.symbol)[1].day(quote.day)[2]

    def new_state(self) -> SymbolState:
        return SymbolState(history=CloseHistory(self.sma_windows, self.extreme_windows))

    # -- the computation ---------------------------------------------------------------
    def apply(
        self, state: SymbolState | None, quote: Quote, now_ms: int
    ) -> tuple[SymbolState, Outcome]:
        """Apply one quote. Raises :class:`Rejected` (state untouched) for late input and
        for a day without a session (``closed_session``) or without trades (``no_trading``)."""
        state = state if state is not None else self.new_state()
        if isinstance(quote, DailyBar):
            return state, self._apply_bar(state, quote, now_ms)
        return state, self._apply_tick(state, quote, now_ms)

    def _apply_bar(self, state: SymbolState, bar: DailyBar, now_ms: int) -> Outcome:
        inst, exchange = self._where(bar.symbol)
        day, closed, event_time = exchange.day(bar.day)
        if closed:
            raise Rejected(
                "closed_session", f"daily bar for {day}: no {inst.calendar} session that day"
            )
        fingerprint = codec.dumps([bar.close, bar.open, bar.high, bar.low, bar.volume]).decode()
        current = state.day
        out = Outcome([], False, event_time)
        if current is not None:
            if day < current.day:
                raise Rejected("late", f"daily bar for {day} after {current.day}")
            if day == current.day and current.final:
                if current.bar_fingerprint == fingerprint:
                    out.duplicate = True
                    return out
                raise Rejected("late", f"daily bar for {day}, which is already final")
        close = to_fixed(bar.close)
        if (
            bar.volume == 0
            and inst.calendar is not None
            and inst.kind in EQUITY_KINDS
            and current is not None
            and current.day < day
            and current.close == close
        ):
            raise Rejected("no_trading", f"daily bar for {day}: volume 0, close unchanged")
        if current is not None and day > current.day and not current.final:
            self._finalize(state, bar.symbol, exchange.time, now_ms, out)
        high = to_fixed(bar.high) if bar.high is not None else close
        low = to_fixed(bar.low) if bar.low is not None else close
        opening = to_fixed(bar.open) if bar.open is not None else close
        state.day = DayBar(
            day=day,
            open=opening,
            high=max(high, close, opening),
            low=min(low, close, opening),
            close=close,
            open_key=(event_time, -1),
            close_key=(event_time, -1),
            event_time=event_time,
            final=False,
            source="bar",
            bar_fingerprint=fingerprint,
            volume=bar.volume,
        )
        self._finalize(state, bar.symbol, exchange.time, now_ms, out)
        return out

    def _apply_tick(self, state: SymbolState, tick: Tick, now_ms: int) -> Outcome:
        inst, exchange = self._where(tick.symbol)
        day, closed, _ = exchange.day(exchange.time.day(tick.ts))
        if closed:
            raise Rejected("closed_session", f"tick on {day}: no {inst.calendar} session that day")
        price = to_fixed(tick.price)
        key = (tick.ts, -1 if tick.seq is None else tick.seq)
        out = Outcome([], False, tick.ts)
        current = state.day
        if current is not None and day < current.day:
            raise Rejected("late", f"tick for {day} after {current.day} began")
        if current is not None and day == current.day:
            if current.final:
                raise Rejected("late", f"tick for {day}, which is already final")
            if (
                key <= current.close_key
                and current.low <= price <= current.high
                and (key > current.open_key or (key == current.open_key and price == current.open))
                and (key < current.close_key or price == current.close)
            ):
                # Changes nothing in the day's bar: an exact duplicate (re-applying a tick is
                # a no-op: max, min, first and last by event time), or a stale tick with no
                # new information. O(1), no fingerprints kept.
                out.duplicate = True
                return out
            current.high = max(current.high, price)
            current.low = min(current.low, price)
            if key < current.open_key:
                current.open, current.open_key = price, key
            if key >= current.close_key:
                current.close, current.close_key, current.event_time = price, key, tick.ts
        else:
            if current is not None and not current.final:
                self._finalize(state, tick.symbol, exchange.time, now_ms, out)
            state.day = DayBar(day, price, price, price, price, key, key, tick.ts, False, "ticks")
        self._live(state, tick.symbol, exchange.time, now_ms, out)
        return out

    def _live(
        self, state: SymbolState, symbol: str, local: LocalTime, now_ms: int, out: Outcome
    ) -> None:
        """A provisional snapshot of the current day, and intraday rules."""
        bar = state.day
        assert bar is not None
        snap = state.history.view(bar.close)
        out.emitted.append(self._signal(symbol, bar, snap, False, state.last_final_day, local))
        rules = self.rules.for_symbol(symbol)
        if rules:
            for spec, rule_state in zip(rules, state.states_of(rules), strict=True):
                if spec.live:
                    fired = spec.on_live(rule_state, snap, bar.day)
                    if fired:
                        out.emitted += [
                            self._alert(symbol, bar, spec, f, now_ms, local) for f in fired
                        ]

    def _finalize(
        self, state: SymbolState, symbol: str, local: LocalTime, now_ms: int, out: Outcome
    ) -> None:
        """Close the current day: final snapshot, close-triggered rules, push the close."""
        bar = state.day
        assert bar is not None and not bar.final
        snap = state.history.view(bar.close)
        snap.volume = bar.volume
        out.emitted.append(self._signal(symbol, bar, snap, True, state.last_final_day, local))
        rules = self.rules.for_symbol(symbol)
        if rules:
            for spec, rule_state in zip(rules, state.states_of(rules), strict=True):
                fired = spec.on_close(rule_state, snap)
                if fired:
                    out.emitted += [self._alert(symbol, bar, spec, f, now_ms, local) for f in fired]
        state.history.push(bar.close)
        state.last_final_day = bar.day
        bar.final = True

    # -- output values -------------------------------------------------------------------
    def _signal(
        self,
        symbol: str,
        bar: DayBar,
        snap: Snapshot,
        final: bool,
        prev_day: str | None,
        local: LocalTime,
    ) -> Signal:
        units = bar.close
        close = units / SCALE
        sums = snap.sums
        smas: dict[str, float | None] = {}
        distance: dict[str, float | None] = {}
        for n, key, divisor in self._sma_keys:
            total = sums[n]
            if total is None:
                smas[key] = distance[key] = None
            else:
                sma = smas[key] = round(total / divisor, 8)
                distance[key] = round((close - sma) / sma * 100, 6)
        highs, lows = snap.highs, snap.lows
        high: dict[str, float | None] = {}
        low: dict[str, float | None] = {}
        for n, key in self._extreme_keys:
            h, lo = highs[n], lows[n]
            high[key] = None if h is None else h / SCALE
            low[key] = None if lo is None else lo / SCALE
        dd_high = highs.get(self.drawdown_window)
        prev = snap.prev_close
        return Signal(
            symbol,
            bar.day,
            final,
            bar.source,
            local.iso(bar.event_time),
            close,
            BarPrices(bar.open / SCALE, bar.high / SCALE, bar.low / SCALE, close),
            snap.count,
            smas,
            distance,
            high,
            low,
            None if dd_high is None else round((dd_high - units) / dd_high * 100, 6),
            None if dd_high is None else dd_high / SCALE,
            snap.streak,
            None if prev is None else prev / SCALE,
            prev_day,
            None if prev is None else units_to_8(units - prev),
            None if prev is None else round((units - prev) / prev * 100, 6),
        )

    def _alert(
        self,
        symbol: str,
        bar: DayBar,
        spec: RuleSpec,
        fired: Firing,
        now_ms: int,
        local: LocalTime,
    ) -> Alert:
        params = dict(spec.params)
        alert = Alert(
            alert_id(
                spec.kind,
                params,
                symbol,
                bar.day,
                fired.direction,
                fired.confirmation,
                spec.id_tag,
            ),
            spec.kind,
            spec.id,
            params,
            symbol,
            bar.day,
            fired.direction,
            fired.confirmation,
            fired.price,
            _round(fired.sma),
            fired.prev_price,
            _round(fired.prev_sma),
            local.iso(bar.event_time),
            iso_utc(now_ms),
            spec.severity,
            fired.details,
            [],
        )
        alert.summary = spec.rule.summary(alert.to_wire())
        return alert
