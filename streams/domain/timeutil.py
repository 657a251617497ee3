"""Event time and trading days: epoch milliseconds internally, ISO-8601 with offset on the wire."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Hong_Kong"
DEFAULT_SESSION_CLOSE = time(16, 0)

# Event times outside this range are rejected as implausible (reason `bad_timestamp`).
MIN_EVENT_MS = 0  # 1970-01-01
MAX_EVENT_MS = 4102444800000  # 2100-01-01


class TimestampError(ValueError):
    """A timestamp that cannot be read as an instant."""


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The zone for an IANA name, cached (ZoneInfo construction is not free)."""
    return ZoneInfo(name)


def parse_event_time(value: object) -> int:
    """Epoch ms UTC from epoch milliseconds (int/float) or an ISO-8601 string with offset."""
    if isinstance(value, bool):
        raise TimestampError("boolean is not a timestamp")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise TimestampError("timestamp is not finite")
        ms = int(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise TimestampError(f"not ISO-8601: {value[:64]!r}") from exc
        if parsed.tzinfo is None:
            raise TimestampError("ISO-8601 timestamp without an offset is ambiguous")
        ms = int(parsed.timestamp() * 1000)
    else:
        raise TimestampError(f"unsupported timestamp type {type(value).__name__}")
    if not MIN_EVENT_MS <= ms < MAX_EVENT_MS:
        raise TimestampError(f"timestamp {ms} outside 1970..2100")
    return ms


def trading_day(ts_ms: int, tz: str) -> date:
    """Calendar date of the event time in the exchange's time zone."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=zone(tz)).date()


def bar_event_time(day: date, tz: str, session_close: time = DEFAULT_SESSION_CLOSE) -> int:
    """Event time of a daily bar: the session close of its day, in the exchange's zone."""
    local = datetime.combine(day, session_close, tzinfo=zone(tz))
    return int(local.timestamp() * 1000)


def iso(ts_ms: int, tz: str) -> str:
    """ISO-8601 with the exchange's offset, millisecond precision."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=zone(tz)).isoformat(timespec="milliseconds")


def iso_utc(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def parse_day(value: str) -> date:
    """A YYYY-MM-DD trading day."""
    return date.fromisoformat(value)


def utc_now_ms() -> int:
    return int(datetime.now(tz=UTC).timestamp() * 1000)


__all__ = [
    "DEFAULT_SESSION_CLOSE",
    "DEFAULT_TIMEZONE",
    "MAX_EVENT_MS",
    "MIN_EVENT_MS",
    "TimestampError",
    "bar_event_time",
    "iso",
    "iso_utc",
    "parse_day",
    "parse_event_time",
    "trading_day",
    "utc_now_ms",
    "zone",
]
