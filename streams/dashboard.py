"""The operator's dashboard: a live view of ``alerts`` and per-symbol charts.

``AlertBoard`` keeps what the page shows; the worker fills it from its own read of the
``alerts`` topic (every worker sees every alert, as any downstream consumer would) and
serves the page and a small JSON API. No Kafka or Faust imports here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from streams import codec
from streams.domain.alert_text import summary

PAGE: Traversable = resources.files("streams").joinpath("web", "dashboard.html")
SERIES_WINDOWS = ("20", "60", "250")


class AlertBoard:
    """Latest alerts, each once (by id), with a sequence number for incremental polling."""

    def __init__(self, keep: int = 2000, per_symbol: int = 2000) -> None:
        self._latest: deque[dict[str, Any]] = deque(maxlen=keep)
        self._by_symbol: dict[str, deque[dict[str, Any]]] = {}
        self._ids: set[str] = set()
        self._per_symbol = per_symbol
        self.seq = 0

    def add(self, alert: dict[str, Any]) -> bool:
        if alert.get("id") in self._ids:
            return False  # an at-least-once redelivery: shown once
        self.seq += 1
        entry = {"seq": self.seq, **alert}
        if "summary" not in entry:  # an alert from before alerts carried their summary
            entry["summary"] = summary(alert)
        if len(self._latest) == self._latest.maxlen:
            self._ids.discard(self._latest[0]["id"])
        self._latest.append(entry)
        self._ids.add(alert["id"])
        self._by_symbol.setdefault(alert["symbol"], deque(maxlen=self._per_symbol)).append(entry)
        return True

    def after(self, seq: int, limit: int = 200) -> list[dict[str, Any]]:
        """Alerts with a sequence number above ``seq``, newest last."""
        found = [a for a in self._latest if a["seq"] > seq]
        return found[-limit:]

    def for_symbol(self, symbol: str) -> list[dict[str, Any]]:
        return list(self._by_symbol.get(symbol, ()))

    def symbols(self) -> list[str]:
        return sorted(self._by_symbol)


def series(
    symbol: str, last_day: str | None, lookup: Callable[[str], bytes | None], days: int
) -> list[dict[str, Any]]:
    """Up to ``days`` final daily points, oldest first, walking back from ``last_day``
    through each day record's ``prev_trading_day``."""
    points: list[dict[str, Any]] = []
    day = last_day
    while day and len(points) < days:
        raw = lookup(f"{symbol}|{day}")
        if raw is None:
            break
        rec = codec.loads(raw)
        points.append(
            {
                "day": rec["trading_day"],
                "close": rec["price"],
                **{f"sma{n}": rec["sma"].get(n) for n in SERIES_WINDOWS},
            }
        )
        day = rec.get("prev_trading_day")
    points.reverse()
    return points
