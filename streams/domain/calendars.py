"""Exchange session calendars from ``exchange_calendars``: which dates an exchange is open.

Each calendar is built once per process, the first time a quote needs it (building XHKG
takes ~0.15 s, importing the library ~0.5 s), over the widest range the library supports
(its ``bound_min``/``bound_max``, else 1970..2099), so its answer does not depend on the
day the worker started. The per-quote check is one index into a bytes table.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from functools import cache

EARLIEST = date(1970, 1, 1)  # for calendars without a bound_min: no event is older
LATEST = date(2099, 12, 31)  # for calendars without a bound_max: no event is newer


class CalendarError(ValueError):
    """A calendar name exchange_calendars does not know."""


@dataclass(frozen=True, slots=True)
class SessionCalendar:
    """The sessions of one exchange between ``first`` and ``last`` (its first and last
    session the library knows). Dates outside that range are not judged: the data is
    trusted there."""

    name: str
    first: int  # date ordinal of the first session
    last: int  # date ordinal of the last session
    open_days: bytes  # one byte per day from first to last: 1 = a session

    def is_closed(self, day: date) -> bool:
        """True when ``day`` is inside the calendar's range and not a session."""
        ordinal = day.toordinal()
        if ordinal < self.first or ordinal > self.last:
            return False
        return not self.open_days[ordinal - self.first]


def calendar_names() -> frozenset[str]:
    """Every name (and alias) exchange_calendars accepts."""
    import exchange_calendars as xcals

    return frozenset(xcals.get_calendar_names(include_aliases=True))


def check_name(name: str) -> None:
    """Raise :class:`CalendarError` unless ``name`` is a calendar exchange_calendars has."""
    if name not in calendar_names():
        raise CalendarError(f"unknown exchange calendar {name!r} (exchange_calendars names)")


@cache
def session_calendar(name: str) -> SessionCalendar:
    """The calendar called ``name`` (an exchange_calendars name such as ``XHKG``), built on
    first use and kept for the life of the process."""
    import exchange_calendars as xcals

    check_name(name)
    with warnings.catch_warnings():  # the library still calls pandas APIs pandas 3 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        kind = type(xcals.get_calendar(name))  # the class, for its bounds
        low, high = kind.bound_min(), kind.bound_max()
        start = low.date() if low is not None else EARLIEST
        end = high.date() if high is not None else LATEST
        built = xcals.get_calendar(name, start=start, end=end)
    ordinals = [d.toordinal() for d in built.sessions.date]
    first, last = ordinals[0], ordinals[-1]
    table = bytearray(last - first + 1)
    for ordinal in ordinals:
        table[ordinal - first] = 1
    return SessionCalendar(name, first, last, bytes(table))
