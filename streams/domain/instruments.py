"""The instrument registry: names, aliases, exchange time zone, session close and exchange
calendar per symbol.

Any symbol is valid; the registry only adds facts about the ones it knows. A symbol it does not
list still gets its exchange's calendar, time zone and close from its suffix (``.HK``, ``.SS``,
``.SZ``); any other unlisted symbol has no calendar: every day with data is a trading day.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any

from streams.domain.calendars import CalendarError, check_name
from streams.domain.timeutil import DEFAULT_SESSION_CLOSE, DEFAULT_TIMEZONE, zone

NO_CALENDAR = "none"
"""``calendar = "none"`` in the registry: no exchange sessions (crypto, synthetic series)."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """What a symbol's suffix tells about an unlisted symbol: where it trades."""

    calendar: str  # an exchange_calendars name
    timezone: str
    session_close: time


EXCHANGE_SUFFIXES: dict[str, Exchange] = {
    ".HK": Exchange("XHKG", "Asia/Hong_Kong", time(16, 0)),
    ".SS": Exchange("XSHG", "Asia/Shanghai", time(15, 0)),
    # Shenzhen keeps Shanghai's holidays; exchange_calendars has no separate XSHE.
    ".SZ": Exchange("XSHG", "Asia/Shanghai", time(15, 0)),
}
"""Suffix rules (Yahoo-style tickers). A bare ticker (``AAPL``, ``BTC-USD``, ``X``) names no
exchange: it gets no calendar unless the registry lists it with one."""


def exchange_of(symbol: str) -> Exchange | None:
    """The exchange a symbol's suffix names, if any (case-insensitive)."""
    dot = symbol.rfind(".")
    return None if dot < 0 else EXCHANGE_SUFFIXES.get(symbol[dot:].upper())


class RegistryError(ValueError):
    """A registry file that does not describe valid instruments."""


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    name: str | None = None
    aliases: tuple[str, ...] = ()
    timezone: str = DEFAULT_TIMEZONE
    session_close: time = DEFAULT_SESSION_CLOSE
    kind: str = "stock"
    calendar: str | None = None  # exchange_calendars name; None: every day with data trades


@dataclass(frozen=True)
class Registry:
    instruments: dict[str, Instrument] = field(default_factory=dict)
    default_timezone: str = DEFAULT_TIMEZONE
    # the Instrument of each unlisted symbol asked for, made once (bounded)
    _unlisted: dict[str, Instrument] = field(default_factory=dict, compare=False, repr=False)

    def get(self, symbol: str) -> Instrument:
        found = self.instruments.get(symbol) or self._unlisted.get(symbol)
        if found is None:
            exchange = exchange_of(symbol)
            if exchange is None:
                found = Instrument(symbol=symbol, timezone=self.default_timezone)
            else:
                found = Instrument(
                    symbol=symbol,
                    timezone=exchange.timezone,
                    session_close=exchange.session_close,
                    calendar=exchange.calendar,
                )
            if len(self._unlisted) >= 100_000:
                self._unlisted.clear()
            self._unlisted[symbol] = found
        return found

    @classmethod
    def from_toml(cls, text: str) -> Registry:
        doc = tomllib.loads(text)
        default_tz = doc.get("default_timezone", DEFAULT_TIMEZONE)
        found: dict[str, Instrument] = {}
        for symbol, raw in doc.get("instruments", {}).items():
            found[symbol] = _instrument(symbol, raw, default_tz)
        return cls(found, default_tz)

    @classmethod
    def load(cls, path: str | Path | None) -> Registry:
        """``path``, or the registry shipped in the package (read as package data)."""
        shipped = resources.files("streams.domain").joinpath("instruments.toml")
        target = Path(path) if path else shipped
        return cls.from_toml(target.read_text(encoding="utf-8"))


def _instrument(symbol: str, raw: dict[str, Any], default_tz: str) -> Instrument:
    exchange = exchange_of(symbol)  # an entry's own fields win over its suffix's
    tz = raw.get("timezone", exchange.timezone if exchange else default_tz)
    try:
        zone(tz)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError
        raise RegistryError(f"{symbol}: unknown time zone {tz!r}") from exc
    close = raw.get("session_close", exchange.session_close.isoformat() if exchange else "16:00")
    try:
        session_close = time.fromisoformat(close)
    except ValueError as exc:
        raise RegistryError(f"{symbol}: session_close must be HH:MM") from exc
    calendar = raw.get("calendar", exchange.calendar if exchange else NO_CALENDAR)
    if not isinstance(calendar, str):
        raise RegistryError(f"{symbol}: calendar must be a string")
    if calendar != NO_CALENDAR:
        try:
            check_name(calendar)
        except CalendarError as exc:
            raise RegistryError(f"{symbol}: {exc}") from exc
    return Instrument(
        symbol=symbol,
        name=raw.get("name"),
        aliases=tuple(raw.get("aliases", ())),
        timezone=tz,
        session_close=session_close,
        kind=raw.get("kind", "stock"),
        calendar=None if calendar == NO_CALENDAR else calendar,
    )
