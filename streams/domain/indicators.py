"""Rolling indicators over final daily closes, updated in O(1) (amortized) per event.

Prices are held as fixed-point integers (``SCALE`` units per currency unit), so running
sums never drift and a close exactly on its SMA compares equal, as it does on paper.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

SCALE = 10**8
_I64 = 2**63 - 1


def to_fixed(price: float) -> int:
    """A price in fixed-point units (rounded to 1e-8)."""
    return round(price * SCALE)


def from_fixed(units: int | float) -> float:
    return units / SCALE


def int_out(value: int) -> int | str:
    """orjson carries 64-bit integers; a larger sum travels as a decimal string."""
    return value if -_I64 <= value <= _I64 else str(value)


class MonotonicWindow:
    """Max (or min) of the last ``n`` values of an indexed series, amortized O(1) per push."""

    __slots__ = ("items", "largest", "n")

    def __init__(self, n: int, largest: bool, items: Iterable[tuple[int, int]] = ()) -> None:
        self.n = n
        self.largest = largest
        self.items: deque[tuple[int, int]] = deque(items)  # (index, value), monotonic

    @classmethod
    def over(cls, n: int, largest: bool, values: list[int], first: int) -> MonotonicWindow:
        """The window after pushing ``values`` (indexes ``first``, ``first + 1``, ...): in one
        pass from the newest, each value beyond every later one (a later equal one replaces
        it, as in :meth:`push`) among the last ``n``."""
        items: list[tuple[int, int]] = []
        best: int | None = None
        for j in range(len(values) - 1, max(0, len(values) - n) - 1, -1):
            v = values[j]
            if best is None or (v > best if largest else v < best):
                items.append((first + j, v))
                best = v
        items.reverse()
        return cls(n, largest, items)

    def push(self, index: int, value: int) -> None:
        items = self.items
        if self.largest:
            while items and value >= items[-1][1]:
                items.pop()
        else:
            while items and value <= items[-1][1]:
                items.pop()
        items.append((index, value))
        while items[0][0] <= index - self.n:
            items.popleft()

    def extreme_last(self, count: int, k: int) -> int | None:
        """Extreme of the last ``k`` (<= n) values of a series of ``count`` values."""
        if count < k or k <= 0:
            return None
        floor = count - k  # indexes < floor are outside
        for index, value in self.items:
            if index >= floor:
                return value
        return None

    def extremes_last(self, count: int, n: int) -> tuple[int | None, int | None]:
        """``(extreme_last(count, n), extreme_last(count, n - 1))`` in one scan."""
        if n - 1 <= 0 or count < n - 1:
            return self.extreme_last(count, n), None
        floor = count - n
        wide: int | None = None
        for index, value in self.items:
            if index >= floor:
                if wide is None:
                    wide = value
                if index > floor:
                    return (wide if count >= n else None), value
        return (wide if count >= n else None), None


@dataclass(slots=True)
class Snapshot:
    """Indicators for one trading day, computed with ``close`` as that day's close."""

    count: int  # trading days with data, this day included
    close: int  # fixed-point
    prev_close: int | None
    sums: dict[int, int | None]  # window -> sum of the last n closes (None: warm-up)
    highs: dict[int, int | None]  # window -> max of the last n closes, day included
    lows: dict[int, int | None]
    prev_highs: dict[int, int | None]  # window -> max of the n closes before this day
    prev_lows: dict[int, int | None]
    streak: int  # +k: k-th consecutive up day; -k: down; 0: unchanged or first day
    volume: float | None = None  # the day's volume, when a daily bar gave one (final days)

    def sma(self, n: int) -> float | None:
        total = self.sums.get(n)
        return None if total is None else total / (n * SCALE)


class CloseHistory:
    """A bounded ring of final closes with running sums and monotonic extremes.

    Lifecycle: ``view(close)`` computes a :class:`Snapshot` as if ``close`` were the next
    day's close (provisional or final); ``push(close)`` makes it final.
    """

    def __init__(self, sma_windows: Iterable[int], extreme_windows: Iterable[int]) -> None:
        self.sma_windows = tuple(sorted(set(sma_windows)))
        self.extreme_windows = tuple(sorted(set(extreme_windows)))
        self.capacity = max((*self.sma_windows, *self.extreme_windows, 1))
        self.ring: deque[int] = deque()
        self.count = 0
        self.streak = 0
        self.sums = {n: 0 for n in self.sma_windows}
        self.highs = {n: MonotonicWindow(n, True) for n in self.extreme_windows}
        self.lows = {n: MonotonicWindow(n, False) for n in self.extreme_windows}
        # a value beyond 64 bits was pushed (a price above ~92 billion): serialization then
        # checks every value; otherwise the ring and extremes go to orjson as they are
        self.wide = False
        # the ring as its JSON array text, kept up to date by push once something asked for
        # it (to_dict with ``raw``): a commit then copies it instead of encoding 250 numbers
        self.ring_text: bytes | None = None

    # -- lifecycle -------------------------------------------------------------------
    def view(self, close: int) -> Snapshot:
        ring, count = self.ring, self.count
        new_count = count + 1
        prev = ring[-1] if ring else None
        sums: dict[int, int | None] = {}
        for n, total in self.sums.items():
            if new_count < n:
                sums[n] = None
            else:
                leaving = ring[-n] if count >= n else 0
                sums[n] = total - leaving + close
        highs: dict[int, int | None] = {}
        lows: dict[int, int | None] = {}
        prev_highs: dict[int, int | None] = {}
        prev_lows: dict[int, int | None] = {}
        all_highs, all_lows = self.highs, self.lows
        for n in self.extreme_windows:
            if new_count < n:  # then count < n too: no extremes of n days before this one
                highs[n] = lows[n] = prev_highs[n] = prev_lows[n] = None
            elif n == 1:
                prev_highs[n] = all_highs[n].extreme_last(count, 1)
                prev_lows[n] = all_lows[n].extreme_last(count, 1)
                highs[n] = lows[n] = close
            else:
                # extremes_last, inlined for its common case: the front of the deque is inside
                # the last n - 1 days, so it is the extreme of both n and n - 1 days
                floor = count - n
                hi: int | None
                lo: int | None
                items = all_highs[n].items
                if items and items[0][0] > floor:
                    hi = items[0][1]
                    prev_highs[n] = hi if count >= n else None
                else:
                    prev_highs[n], hi = all_highs[n].extremes_last(count, n)
                items = all_lows[n].items
                if items and items[0][0] > floor:
                    lo = items[0][1]
                    prev_lows[n] = lo if count >= n else None
                else:
                    prev_lows[n], lo = all_lows[n].extremes_last(count, n)
                highs[n] = close if hi is None or close > hi else hi
                lows[n] = close if lo is None or close < lo else lo
        return Snapshot(
            new_count, close, prev, sums, highs, lows, prev_highs, prev_lows,
            self._next_streak(prev, close),
        )  # fmt: skip

    def push(self, close: int) -> None:
        ring = self.ring
        if not -_I64 <= close <= _I64:
            self.wide = True
        self.streak = self._next_streak(ring[-1] if ring else None, close)
        sums, size = self.sums, len(ring)
        for n in self.sma_windows:
            sums[n] += close - ring[-n] if size >= n else close
        index = self.count
        highs, lows = self.highs, self.lows
        for n in self.extreme_windows:  # MonotonicWindow.push, inlined (hot path)
            items = highs[n].items
            while items and close >= items[-1][1]:
                items.pop()
            items.append((index, close))
            while items[0][0] <= index - n:
                items.popleft()
            items = lows[n].items
            while items and close <= items[-1][1]:
                items.pop()
            items.append((index, close))
            while items[0][0] <= index - n:
                items.popleft()
        ring.append(close)
        text = self.ring_text
        if len(ring) > self.capacity:
            ring.popleft()
            if text is not None:  # the first close leaves, this one comes
                first = text.find(b",")
                rest = b"" if first < 0 else memoryview(text)[first + 1 : -1]
                text = b"".join((b"[", rest, b",%d]" % close if rest else b"%d]" % close))
        elif text is not None:
            text = b"[%d]" % close if len(text) == 2 else b"".join((text[:-1], b",%d]" % close))
        self.ring_text = None if self.wide else text
        self.count += 1

    def _next_streak(self, prev: int | None, close: int) -> int:
        if prev is None or close == prev:
            return 0
        if close > prev:
            return self.streak + 1 if self.streak > 0 else 1
        return self.streak - 1 if self.streak < 0 else -1

    # -- serialization ---------------------------------------------------------------
    def to_dict(
        self, raw: Callable[[bytes], Any] | None = None, derived: bool = False
    ) -> dict[str, Any]:
        """The history as a JSON object: the ring, the count and the streak. The running sums
        and extremes are not written: they are functions of the ring (see :meth:`from_dict`),
        and a live feed writes a symbol's state at nearly every commit; ``derived`` adds them
        (the first format, which workers before the second need to restore). ``raw`` (the
        encoder's "already JSON" wrapper, e.g. :func:`streams.codec.raw`) lets the ring go as
        its text, kept up to date by :meth:`push`: the same bytes, without encoding every
        close at every commit."""
        ring: Any
        if self.wide:  # a value beyond 64 bits: each one checked (those travel as text)
            ring = [int_out(v) for v in self.ring]
        elif raw is None:
            ring = list(self.ring)
        else:
            text = self.ring_text
            if text is None:
                text = self.ring_text = ("[" + ",".join(map(str, self.ring)) + "]").encode()
            ring = raw(text)
        out = {"ring": ring, "count": self.count, "streak": self.streak}
        if derived:
            wide = self.wide
            out["sums"] = {str(n): int_out(s) for n, s in self.sums.items()}
            for name, windows in (("highs", self.highs), ("lows", self.lows)):
                out[name] = {
                    str(n): [[i, int_out(v)] for i, v in w.items] if wide else list(w.items)
                    for n, w in windows.items()
                }
        return out

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], sma_windows: Iterable[int], extreme_windows: Iterable[int]
    ) -> CloseHistory:
        """Restore from :meth:`to_dict` (or from the first format, which also carried the
        sums and extremes: those are rebuilt from the ring all the same).

        The ring holds the last ``capacity`` closes, so every window that fits in it has its
        sum and extremes rebuilt exactly as the pushes made them, and the count goes on. If a
        window is now longer than the closes the ring kept (the windows were changed), the
        ring is replayed instead: the count starts again from the ring, and that window warms
        up again."""
        hist = cls(sma_windows, extreme_windows)
        ring = [int(v) for v in data["ring"]]
        count = int(data["count"])
        if count > len(ring) and hist.capacity > len(ring):  # the longest window needs more
            for close in ring:
                hist.push(close)
        else:
            ring = ring[-hist.capacity :]
            hist.ring = deque(ring)
            hist.count = count
            hist.wide = not all(-_I64 <= v <= _I64 for v in ring)
            hist.sums = {n: sum(ring[-n:]) for n in hist.sma_windows}
            first = count - len(ring)  # the index of ring[0] in the series
            for n in hist.extreme_windows:
                hist.highs[n] = MonotonicWindow.over(n, True, ring, first)
                hist.lows[n] = MonotonicWindow.over(n, False, ring, first)
        hist.streak = int(data["streak"])
        return hist
