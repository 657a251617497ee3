"""How far a partition of ``alerts`` may be committed: the offset after the longest prefix of
records that every sink has finished with. Pure; one object per partition."""

from __future__ import annotations

from collections import deque


class OffsetWatermark:
    """Records of one partition in the order read, each waiting on a number of sinks.
    :attr:`committable` is the offset to commit (the next one to read after a restart), or
    ``None`` while nothing has finished since this object was made."""

    def __init__(self) -> None:
        self._order: deque[int] = deque()
        self._waiting: dict[int, int] = {}
        self.committable: int | None = None
        self.revoked = False

    def __len__(self) -> int:
        """Records read and not yet behind the watermark."""
        return len(self._order)

    def add(self, offset: int, sinks: int) -> None:
        """A record read at ``offset`` that ``sinks`` sinks have to finish."""
        if self._order and offset <= self._order[-1]:
            raise ValueError(f"offset {offset} read after {self._order[-1]}")
        self._order.append(offset)
        self._waiting[offset] = sinks
        self._advance()

    def finish(self, offset: int) -> None:
        """One sink is done with ``offset``: delivered, or recorded as undeliverable."""
        left = self._waiting[offset] - 1
        if left < 0:
            raise ValueError(f"offset {offset} finished more often than it was sent")
        self._waiting[offset] = left
        self._advance()

    def _advance(self) -> None:
        while self._order and self._waiting[self._order[0]] == 0:
            offset = self._order.popleft()
            del self._waiting[offset]
            self.committable = offset + 1
