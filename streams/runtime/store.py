"""Changelogged state: an in-memory map whose writes and deletes since the last commit are
known, so a commit appends exactly those to the compacted changelog (deletes as tombstones)."""

from __future__ import annotations

from collections import deque
from datetime import date, timedelta
from typing import TypeVar

V = TypeVar("V")


class ChangelogStore(dict[bytes, V]):
    """A dict that records every key set or deleted since :meth:`take_changes`.

    ``store[key] = value`` / :meth:`set` and ``del store[key]`` / :meth:`delete` are the
    writes a commit persists; :meth:`load` applies a restored changelog record without
    recording it. A plain ``dict`` underneath: reads cost what a dict read costs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.changed: set[bytes] = set()

    def __setitem__(self, key: bytes, value: V) -> None:
        super().__setitem__(key, value)
        self.changed.add(key)

    def set(self, key: bytes, value: V) -> None:
        self[key] = value

    def __delitem__(self, key: bytes) -> None:
        super().__delitem__(key)
        self.changed.add(key)

    def delete(self, key: bytes) -> None:
        """Remove ``key``; the next commit writes its tombstone."""
        if key in self:
            del self[key]

    def take_changes(self) -> list[tuple[bytes, V | None]]:
        """Each key changed since the last call with its value now (None: deleted)."""
        changed, self.changed = self.changed, set()
        get = super().get
        return [(key, get(key)) for key in changed]

    def load(self, key: bytes, value: V | None) -> None:
        """Apply a restored changelog record (None: a tombstone); not a change."""
        if value is None:
            super().pop(key, None)
        else:
            super().__setitem__(key, value)


class DayStore(ChangelogStore[bytes]):
    """Final-day records (``SYMBOL|YYYY-MM-DD``) and pending claims (``SYMBOL|pending``).

    Day records are kept for ``retention_days`` calendar days before the symbol's newest day
    (event time, not the wall clock, so a replay of history keeps what a live run would):
    older ones are deleted, and their tombstones go to the changelog with the next commit.
    ``retention_days=0`` keeps every day.
    """

    def __init__(self, retention_days: int = 0) -> None:
        super().__init__()
        self.retention_days = retention_days
        # symbol -> (day, key) of its day records, oldest first
        self._days: dict[bytes, deque[tuple[bytes, bytes]]] = {}
        self._cutoffs: dict[bytes, bytes] = {}

    def __setitem__(self, key: bytes, value: bytes) -> None:
        new = key not in self
        super().__setitem__(key, value)
        if new:
            self._track(key)

    def load(self, key: bytes, value: bytes | None) -> None:
        new = key not in self
        super().load(key, value)
        if value is not None and new:
            self._track(key)

    def _track(self, key: bytes) -> None:
        symbol, sep, day = key.rpartition(b"|")
        if not sep or day == b"pending" or not self.retention_days:
            return
        days = self._days.get(symbol)
        if days is None:
            days = self._days[symbol] = deque()
        if days and day < days[-1][0]:
            # an older day (a restore's order, or a late final): keep the deque sorted
            days.append((day, key))
            ordered = sorted(days)
            days.clear()
            days.extend(ordered)
        else:
            days.append((day, key))
        edge = self._cutoff(days[-1][0])
        while days and days[0][0] < edge:
            _, old = days.popleft()
            if old in self:
                del self[old]

    def _cutoff(self, newest: bytes) -> bytes:
        """The oldest day kept when ``newest`` is a symbol's newest (cached: symbols share
        their days)."""
        edge = self._cutoffs.get(newest)
        if edge is None:
            try:
                then = date.fromisoformat(newest.decode()) - timedelta(days=self.retention_days)
                edge = then.isoformat().encode()
            except (ValueError, OverflowError):
                edge = b""  # not a date: keep it
            if len(self._cutoffs) > 100_000:
                self._cutoffs.clear()
            self._cutoffs[newest] = edge
        return edge
