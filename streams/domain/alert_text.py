"""One-line, human summaries of alerts ("HSTECH closed 5760.38, below its 60-day SMA 5877.94")."""

from __future__ import annotations

from typing import Any


def _n(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def summary(alert: dict[str, Any]) -> str:
    rule, p, d = alert["rule"], alert["params"], alert.get("details") or {}
    sym, price, direction = alert["symbol"], alert["price"], alert["direction"]
    prefix = {"intraday": "intraday: ", "withdrawn": "withdrawn: "}.get(alert["confirmation"], "")
    verb = "traded" if alert["confirmation"] == "intraday" else "closed"
    if rule == "ma_cross":
        text = f"{sym} {verb} {_n(price)}, {direction} its {p['window']}-day SMA {_n(alert['sma'])}"
        if alert["confirmation"] == "withdrawn":
            text = f"{sym} closed {_n(price)}: the intraday cross {direction} its {p['window']}-day SMA did not hold"
        return prefix + text if alert["confirmation"] != "withdrawn" else text
    if rule == "sma_cross":
        kind = "golden cross" if direction == "above" else "death cross"
        return (
            f"{sym} {kind}: {p['short']}-day SMA {_n(d.get('short_sma'))} crossed {direction} "
            f"the {p['long']}-day SMA {_n(alert['sma'])}"
        )
    if rule == "drawdown":
        if direction == "below":
            return f"{sym} closed {_n(price)}, {d.get('drawdown_pct', 0):.2f}% below its {p['window']}-day high {_n(d.get('rolling_high'))}"
        return f"{sym} closed {_n(price)}, back within {p['pct']}% of its {p['window']}-day high"
    if rule == "streak":
        word = "up" if direction == "above" else "down"
        return f"{sym} closed {word} {abs(int(d.get('streak', p['days'])))} days in a row, at {_n(price)}"
    if rule in ("new_high", "new_low"):
        word = "high" if rule == "new_high" else "low"
        return f"{sym} closed {_n(price)}, a new {p['window']}-day {word} (prior {_n(d.get('prior_extreme'))})"
    return f"{sym} {rule} {direction} at {_n(price)}"
