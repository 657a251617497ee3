"""The built-in rule kinds: ``ma_cross``, ``sma_cross``, ``drawdown``, ``streak``,
``new_high`` and ``new_low``, each one :class:`~streams.domain.rule_api.Rule`.

Comparisons are exact: prices are fixed-point integers and decimal thresholds exact fractions.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from streams.domain.indicators import SCALE, Snapshot
from streams.domain.rule_api import Firing, Param, Rule, RuleState, Windows
from streams.domain.rule_api import number as _n


def _px(units: int | None) -> float | None:
    return None if units is None else units / SCALE


@functools.lru_cache(maxsize=256)
def _fraction(value: Any) -> Fraction:
    """A configured decimal parameter as an exact fraction, parsed once."""
    return Fraction(str(value))


def _side(close: int, total: int, n: int, band: Fraction) -> str | None:
    """``above``/``below`` the SMA widened by the hysteresis band; None inside it (exact)."""
    lhs = close * n
    if not band:
        return "above" if lhs > total else "below" if lhs < total else None
    # close * n against total * (1 +- p/q), in integers: multiplied by q > 0
    p, q = band.numerator, band.denominator
    lhs *= q
    if lhs > total * (q + p):
        return "above"
    if lhs < total * (q - p):
        return "below"
    return None


def _drawn_down(high: int, close: int, pct: Fraction) -> bool:
    """``(high - close) / high * 100 >= pct``, exactly, in integers (``high`` > 0; else as
    the fraction does: it raises)."""
    if high <= 0:
        return Fraction(high - close, high) * 100 >= pct
    return (high - close) * 100 * pct.denominator >= pct.numerator * high


class MaCross(Rule):
    """The close crossing its N-day SMA, widened by a hysteresis band; with trigger
    ``intraday`` also the first live crossing of a day (confirmed or withdrawn at the close)."""

    kind = "ma_cross"
    parameters = (
        Param("window", int, 60, minimum=1),
        Param("hysteresis", float, 0.0, minimum=0),
        Param("trigger", str, "close", choices=("close", "intraday")),
    )
    window: int
    hysteresis: float
    trigger: str

    def setup(self) -> None:
        self.band = _fraction(self.hysteresis)
        self.live = self.trigger == "intraday"

    def windows(self) -> Windows:
        return Windows(sma=(self.window,))

    def on_close(self, state: RuleState, snap: Snapshot) -> list[Firing]:
        n = self.window
        total = snap.sums.get(n)
        out: list[Firing] = []
        if total is None:
            return out
        side = _side(snap.close, total, n, self.band)
        sma = total / (n * SCALE)
        price = snap.close / SCALE
        prev_side = state.get("side")
        intraday = state.pop("intraday", None)  # {"direction":..., "price":...} by on_live
        crossed = side is not None and prev_side is not None and side != prev_side
        if crossed:
            out.append(
                Firing(
                    str(side),
                    price,
                    "close",
                    sma,
                    state.get("prev_price"),
                    state.get("prev_sma"),
                )
            )
        if intraday is not None and not (crossed and side == intraday["direction"]):
            out.append(
                Firing(
                    intraday["direction"],
                    price,
                    "withdrawn",
                    sma,
                    state.get("prev_price"),
                    state.get("prev_sma"),
                    {"intraday_price": intraday["price"]},
                )
            )
        if side is not None:
            state["side"] = side
        state["prev_price"] = price
        state["prev_sma"] = sma
        return out

    def on_live(self, state: RuleState, snap: Snapshot, day: str) -> list[Firing]:
        n = self.window
        total = snap.sums.get(n)
        prev_side = state.get("side")
        if total is None or prev_side is None or state.get("intraday_day") == day:
            return []
        side = _side(snap.close, total, n, self.band)
        if side is None or side == prev_side:
            return []
        price = snap.close / SCALE
        state["intraday_day"] = day  # once per bar
        state["intraday"] = {"direction": side, "price": price}
        return [
            Firing(
                side,
                price,
                "intraday",
                total / (n * SCALE),
                state.get("prev_price"),
                state.get("prev_sma"),
            )
        ]

    def summary(self, alert: Mapping[str, Any]) -> str:
        sym, price, direction = alert["symbol"], alert["price"], alert["direction"]
        window = alert["params"]["window"]
        confirmation = alert["confirmation"]
        if confirmation == "withdrawn":
            return (
                f"{sym} closed {_n(price)}: the intraday cross {direction} its {window}-day SMA"
                " did not hold"
            )
        text = f"{direction} its {window}-day SMA {_n(alert['sma'])}"
        if confirmation == "intraday":
            return f"intraday: {sym} traded {_n(price)}, {text}"
        return f"{sym} closed {_n(price)}, {text}"


class SmaCross(Rule):
    """The short SMA crossing the long one (golden cross above, death cross below)."""

    kind = "sma_cross"
    parameters = (Param("short", int, 20, minimum=1), Param("long", int, 60, minimum=1))
    short: int
    long: int

    def setup(self) -> None:
        if self.short >= self.long:
            raise ValueError("short must be less than long")

    def windows(self) -> Windows:
        return Windows(sma=(self.short, self.long))

    def on_close(self, state: RuleState, snap: Snapshot) -> list[Firing]:
        short, long = self.short, self.long
        s_total, l_total = snap.sums.get(short), snap.sums.get(long)
        if s_total is None or l_total is None:
            return []
        lhs, rhs = s_total * long, l_total * short
        side = "above" if lhs > rhs else "below" if lhs < rhs else None
        s_sma, l_sma = s_total / (short * SCALE), l_total / (long * SCALE)
        out: list[Firing] = []
        prev_side = state.get("side")
        if side is not None and prev_side is not None and side != prev_side:
            out.append(
                Firing(
                    side,
                    snap.close / SCALE,
                    "close",
                    l_sma,
                    state.get("prev_price"),
                    state.get("prev_sma"),
                    {
                        "short_sma": s_sma,
                        "prev_short_sma": state.get("prev_short_sma"),
                        "cross": "golden" if side == "above" else "death",
                    },
                )
            )
        if side is not None:
            state["side"] = side
        state.update(prev_price=snap.close / SCALE, prev_sma=l_sma, prev_short_sma=s_sma)
        return out

    def summary(self, alert: Mapping[str, Any]) -> str:
        p, d, direction = alert["params"], alert.get("details") or {}, alert["direction"]
        kind = "golden cross" if direction == "above" else "death cross"
        return (
            f"{alert['symbol']} {kind}: {p['short']}-day SMA {_n(d.get('short_sma'))} crossed "
            f"{direction} the {p['long']}-day SMA {_n(alert['sma'])}"
        )


class Drawdown(Rule):
    """The close entering (``below``) or leaving (``above``) a drawdown of at least ``pct``
    percent from the highest close of ``window`` days."""

    kind = "drawdown"
    parameters = (Param("pct", float, 10.0, minimum=0), Param("window", int, 250, minimum=1))
    pct: float
    window: int

    def setup(self) -> None:
        self.threshold = _fraction(self.pct)

    def windows(self) -> Windows:
        return Windows(extremes=(self.window,))

    def on_close(self, state: RuleState, snap: Snapshot) -> list[Firing]:
        high = snap.highs.get(self.window)
        if high is None:
            return []
        inside = _drawn_down(high, snap.close, self.threshold)
        was = state.get("inside")
        state["inside"] = inside
        if was is None or was == inside:
            return []
        dd = Fraction(high - snap.close, high) * 100
        return [
            Firing(
                "below" if inside else "above",
                snap.close / SCALE,
                prev_price=_px(snap.prev_close),
                details={"drawdown_pct": float(dd), "rolling_high": high / SCALE},
            )
        ]

    def summary(self, alert: Mapping[str, Any]) -> str:
        p, d = alert["params"], alert.get("details") or {}
        sym, price = alert["symbol"], alert["price"]
        if alert["direction"] == "below":
            return (
                f"{sym} closed {_n(price)}, {d.get('drawdown_pct', 0):.2f}% below its "
                f"{p['window']}-day high {_n(d.get('rolling_high'))}"
            )
        return f"{sym} closed {_n(price)}, back within {p['pct']}% of its {p['window']}-day high"


class Streak(Rule):
    """The N-th consecutive up (``above``) or down (``below``) close."""

    kind = "streak"
    parameters = (Param("days", int, 5, minimum=1),)
    days: int

    def on_close(self, state: RuleState, snap: Snapshot) -> list[Firing]:
        if abs(snap.streak) != self.days:
            return []
        return [
            Firing(
                "above" if snap.streak > 0 else "below",
                snap.close / SCALE,
                prev_price=_px(snap.prev_close),
                details={"streak": snap.streak},
            )
        ]

    def summary(self, alert: Mapping[str, Any]) -> str:
        d = alert.get("details") or {}
        word = "up" if alert["direction"] == "above" else "down"
        days = abs(int(d.get("streak", alert["params"]["days"])))
        return f"{alert['symbol']} closed {word} {days} days in a row, at {_n(alert['price'])}"


class NewHigh(Rule):
    """The close above every close of the previous ``window`` days."""

    kind = "new_high"
    parameters = (Param("window", int, 250, minimum=1),)
    window: int
    high = True
    word = "high"

    def windows(self) -> Windows:
        return Windows(extremes=(self.window,))

    def on_close(self, state: RuleState, snap: Snapshot) -> list[Firing]:
        high = self.high
        prior = (snap.prev_highs if high else snap.prev_lows).get(self.window)
        if prior is None:
            return []
        if (snap.close > prior) if high else (snap.close < prior):
            return [
                Firing(
                    "above" if high else "below",
                    snap.close / SCALE,
                    prev_price=_px(snap.prev_close),
                    details={"prior_extreme": prior / SCALE},
                )
            ]
        return []

    def summary(self, alert: Mapping[str, Any]) -> str:
        d = alert.get("details") or {}
        return (
            f"{alert['symbol']} closed {_n(alert['price'])}, a new {alert['params']['window']}"
            f"-day {self.word} (prior {_n(d.get('prior_extreme'))})"
        )


class NewLow(NewHigh):
    """The close below every close of the previous ``window`` days."""

    kind = "new_low"
    high = False
    word = "low"


BUILTIN: tuple[type[Rule], ...] = (MaCross, SmaCross, Drawdown, Streak, NewHigh, NewLow)
