"""The two shapes of a ``quotes.signals`` value: ``full`` (``schemas/signal.json``, the
default) and ``compact`` (``schemas/signal-compact.json``, ``WINDVANE_SIGNAL_SHAPE=compact``).

The compact shape is the full one less what a consumer derives exactly from what is left;
:func:`expand` derives it, so ``orjson.dumps(expand(compact))`` is the full value byte for
byte, key order included. Left out:

* ``trading_day``: the first 10 characters of ``event_time`` (the event time is written in
  the exchange's time zone, whose date is the trading day); kept if it ever were not.
* ``bar``: its ``close`` is always ``price``; the whole ``bar`` when open = high = low =
  close (a feed of closes only), else ``{"open", "high", "low"}``.
* ``null`` entries of ``sma``, ``high`` and ``low``: the windows are fixed (:data:`SMA_WINDOWS`,
  :data:`EXTREME_WINDOWS`); a window missing from a map is ``null`` (warm-up).
* ``distance_pct``: ``round((price - sma) / sma * 100, 6)`` per SMA window, the engine's own
  expression on the very floats on the wire.
* ``rolling_high``: ``high["250"]`` (the drawdown window is one of the extreme windows).
* ``change``, ``change_pct``, ``drawdown_pct``: from the fixed-point units (1e-8) of
  ``price``, ``prev_close`` and ``rolling_high``, recovered as ``round(x * 1e8)``. That is
  exact below :data:`EXACT_BELOW`; a signal with a price at or above it keeps these three
  fields (as in the full shape), and :func:`expand` takes them as they are.

``round(x, 6)`` is Python's: the exact binary value of ``x`` rounded half to even at the 6th
decimal (Java: ``new BigDecimal(x).setScale(6, RoundingMode.HALF_EVEN).doubleValue()``).

Pure: no orjson, no Kafka; the worker encodes (:mod:`streams.codec`). A consumer needs only
this module and :mod:`streams.domain.indicators` (its ``SCALE``), both standard library only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

from streams.domain.indicators import SCALE  # fixed-point units per currency unit

if TYPE_CHECKING:
    from streams.domain.outputs import Signal

SignalShape = Literal["full", "compact"]
SHAPES: Final = ("full", "compact")

SMA_WINDOWS: Final = ("5", "10", "20", "60", "120", "250")
EXTREME_WINDOWS: Final = ("20", "60", "250")
DRAWDOWN_WINDOW: Final = "250"
"""The windows of a signal's maps (the engine's defaults, which the worker uses), in their
order on the wire; the compact shape is defined for these only."""


EXACT_BELOW: Final = 10_000_000.0
"""Prices below this have at most 10^15 < 2^50 units, so ``round(price * 1e8)`` gives back
the units exactly (the float error of the division and the product is below 0.25 unit)."""


def compact(signal: Signal) -> dict[str, Any]:
    """The compact value of ``signal`` (see the module's docstring)."""
    price = signal.price
    wire: dict[str, Any] = {"symbol": signal.symbol}
    if not signal.event_time.startswith(signal.trading_day):
        wire["trading_day"] = signal.trading_day
    wire["final"] = signal.final
    wire["source"] = signal.source
    wire["event_time"] = signal.event_time
    wire["price"] = price
    bar = signal.bar
    if not (bar.open == bar.high == bar.low == price):
        wire["bar"] = {"open": bar.open, "high": bar.high, "low": bar.low}
    wire["days"] = signal.days
    wire["sma"] = _known(signal.sma)
    wire["high"] = _known(signal.high)
    wire["low"] = _known(signal.low)
    wire["streak"] = signal.streak
    prev = signal.prev_close
    wire["prev_close"] = prev
    wire["prev_trading_day"] = signal.prev_trading_day
    if not _exact(price, prev, signal.rolling_high):
        wire["change"] = signal.change
        wire["change_pct"] = signal.change_pct
        wire["drawdown_pct"] = signal.drawdown_pct
    return wire


def expand(value: dict[str, Any]) -> dict[str, Any]:
    """The full (v1) value of a compact one: ``orjson.dumps(expand(c))`` is the bytes the
    worker writes under ``WINDVANE_SIGNAL_SHAPE=full`` for the same quote."""
    price = value["price"]
    sma = _windowed(value["sma"], SMA_WINDOWS)
    high = _windowed(value["high"], EXTREME_WINDOWS)
    rolling_high = high[DRAWDOWN_WINDOW]
    prev = value["prev_close"]
    bar = value.get("bar")
    if "change" in value:  # kept: a price too large to derive them exactly
        change, change_pct = value["change"], value["change_pct"]
        drawdown_pct = value["drawdown_pct"]
    else:
        change, change_pct = _change(price, prev)
        drawdown_pct = _drawdown(price, rolling_high)
    return {
        "symbol": value["symbol"],
        "trading_day": value.get("trading_day") or value["event_time"][:10],
        "final": value["final"],
        "source": value["source"],
        "event_time": value["event_time"],
        "price": price,
        "bar": {
            "open": price if bar is None else bar["open"],
            "high": price if bar is None else bar["high"],
            "low": price if bar is None else bar["low"],
            "close": price,
        },
        "days": value["days"],
        "sma": sma,
        "distance_pct": {k: None if v is None else _distance(price, v) for k, v in sma.items()},
        "high": high,
        "low": _windowed(value["low"], EXTREME_WINDOWS),
        "drawdown_pct": drawdown_pct,
        "rolling_high": rolling_high,
        "streak": value["streak"],
        "prev_close": prev,
        "prev_trading_day": value["prev_trading_day"],
        "change": change,
        "change_pct": change_pct,
    }


def fits_compact(sma_windows: tuple[int, ...], extremes: tuple[int, ...], drawdown: int) -> bool:
    """Whether an engine with these signal windows writes signals the compact shape can carry
    (its maps have exactly the shape's fixed windows)."""
    return (
        tuple(str(n) for n in sma_windows) == SMA_WINDOWS
        and tuple(str(n) for n in extremes) == EXTREME_WINDOWS
        and str(drawdown) == DRAWDOWN_WINDOW
    )


# -- the derivations (the engine's expressions, streams/domain/quotes.py QuoteEngine._signal) --


def _exact(price: float, prev: float | None, rolling_high: float | None) -> bool:
    """Whether every price a derivation reads is below :data:`EXACT_BELOW`."""
    return (
        price < EXACT_BELOW
        and (prev is None or prev < EXACT_BELOW)
        and (rolling_high is None or rolling_high < EXACT_BELOW)
    )


def _units(price: float) -> int:
    """A price's fixed-point units (exact below :data:`EXACT_BELOW`)."""
    return round(price * SCALE)


def _distance(price: float, sma: float) -> float:
    return round((price - sma) / sma * 100, 6)


def _change(price: float, prev: float | None) -> tuple[float | None, float | None]:
    if prev is None:
        return None, None
    units, prev_units = _units(price), _units(prev)
    return (units - prev_units) / SCALE, round((units - prev_units) / prev_units * 100, 6)


def _drawdown(price: float, rolling_high: float | None) -> float | None:
    if rolling_high is None:
        return None
    high = _units(rolling_high)
    return round((high - _units(price)) / high * 100, 6)


def _known(windowed: dict[str, float | None]) -> dict[str, float | None]:
    """The map without its null entries (the map itself when it has none: after warm-up)."""
    if None in windowed.values():
        return {k: v for k, v in windowed.items() if v is not None}
    return windowed


def _windowed(found: dict[str, float], windows: tuple[str, ...]) -> dict[str, float | None]:
    return {k: found.get(k) for k in windows}
