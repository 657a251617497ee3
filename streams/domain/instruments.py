"""The instrument registry: names, aliases, exchange time zone and session close per symbol.

Any symbol is valid; the registry only adds facts about the ones it knows.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any

from streams.domain.timeutil import DEFAULT_SESSION_CLOSE, DEFAULT_TIMEZONE, zone


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


@dataclass(frozen=True)
class Registry:
    instruments: dict[str, Instrument] = field(default_factory=dict)
    default_timezone: str = DEFAULT_TIMEZONE

    def get(self, symbol: str) -> Instrument:
        found = self.instruments.get(symbol)
        if found is None:
            return Instrument(symbol=symbol, timezone=self.default_timezone)
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
    tz = raw.get("timezone", default_tz)
    try:
        zone(tz)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError
        raise RegistryError(f"{symbol}: unknown time zone {tz!r}") from exc
    close = raw.get("session_close", "16:00")
    try:
        session_close = time.fromisoformat(close)
    except ValueError as exc:
        raise RegistryError(f"{symbol}: session_close must be HH:MM") from exc
    return Instrument(
        symbol=symbol,
        name=raw.get("name"),
        aliases=tuple(raw.get("aliases", ())),
        timezone=tz,
        session_close=session_close,
        kind=raw.get("kind", "stock"),
    )
