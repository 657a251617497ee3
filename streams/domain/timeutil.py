"""Event time and trading days: epoch milliseconds internally, ISO-8601 with offset on the wire."""

from __future__ import annotations

import math
import time as _time
from datetime import UTC, date, datetime, time, timedelta
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


_SPAN_MS = 900_000  # 15 minutes: every UTC offset in use since 1970 is a multiple of it
_DAY_MS = 86_400_000
_NO_SPAN = (date.min, "", 0, "")


class LocalTime:
    """:func:`trading_day` and :func:`iso` in one time zone, without a datetime per call.

    Event times in 1970..2100 fall in 15-minute spans of UTC; a span with one UTC offset and
    one local date throughout (all but the spans of an offset change, and of zones whose offset
    is not a multiple of 15 minutes) is looked up once, and its times are formatted from it.
    Any other time falls back to :func:`iso` and :func:`trading_day`: the same text either way (tested
    against them across zones and their transitions)."""

    __slots__ = ("_spans", "_texts", "tz", "zone")

    def __init__(self, tz: str) -> None:
        self.tz = tz
        self.zone = zone(tz)
        self._spans: dict[int, tuple[date, str, int, str]] = {}  # span -> (day, text, offset)
        self._texts: dict[int, str] = {}  # recent iso texts (bar closes repeat: many symbols)

    def _span(self, ts_ms: int) -> tuple[date, str, int, str]:
        if not MIN_EVENT_MS <= ts_ms < MAX_EVENT_MS:
            # outside 1970..2100 (a daily bar's session close can be), datetime's float
            # seconds may not round to the exact millisecond: leave those to it
            return _NO_SPAN
        key = ts_ms // _SPAN_MS
        found = self._spans.get(key)
        if found is None:
            start = key * _SPAN_MS
            first = datetime.fromtimestamp(start / 1000, tz=self.zone)
            last = datetime.fromtimestamp((start + _SPAN_MS - 1) / 1000, tz=self.zone)
            offset = first.utcoffset()
            if offset is None or offset != last.utcoffset() or first.date() != last.date():
                found = _NO_SPAN
            else:
                text = first.isoformat(timespec="milliseconds")
                found = (first.date(), text[:10], offset // timedelta(milliseconds=1), text[23:])
            if len(self._spans) >= 100_000:
                self._spans.clear()
            self._spans[key] = found
        return found

    def day(self, ts_ms: int) -> date:
        """The date of ``ts_ms`` in the zone: :func:`trading_day`."""
        span = self._span(ts_ms)
        return span[0] if span is not _NO_SPAN else trading_day(ts_ms, self.tz)

    def iso(self, ts_ms: int) -> str:
        """ISO-8601 with the zone's offset, millisecond precision: :func:`iso`."""
        text = self._texts.get(ts_ms)
        if text is not None:
            return text
        span = self._span(ts_ms)
        if span is _NO_SPAN:
            text = iso(ts_ms, self.tz)
        else:
            _, day_text, offset_ms, offset_text = span
            seconds, milli = divmod((ts_ms + offset_ms) % _DAY_MS, 1000)
            minutes, seconds = divmod(seconds, 60)
            hours, minutes = divmod(minutes, 60)
            text = f"{day_text}T{hours:02d}:{minutes:02d}:{seconds:02d}.{milli:03d}{offset_text}"
        if len(self._texts) >= 4096:
            self._texts.clear()
        self._texts[ts_ms] = text
        return text


def iso_utc(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def parse_day(value: str) -> date:
    """A YYYY-MM-DD trading day."""
    return date.fromisoformat(value)


def utc_now_ms() -> int:
    """The wall clock, epoch ms."""
    return _time.time_ns() // 1_000_000


__all__ = [
    "DEFAULT_SESSION_CLOSE",
    "DEFAULT_TIMEZONE",
    "MAX_EVENT_MS",
    "MIN_EVENT_MS",
    "LocalTime",
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
