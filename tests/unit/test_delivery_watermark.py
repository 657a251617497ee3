"""The commit watermark of a partition, against a naive reference on random completion orders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.delivery.watermark import OffsetWatermark

pytestmark = pytest.mark.unit


def reference(records: list[tuple[int, int]], finished: dict[int, int]) -> int | None:
    """Offset after the longest read prefix whose every record has all its sinks finished."""
    committable = None
    for offset, sinks in records:
        if finished.get(offset, 0) < sinks:
            break
        committable = offset + 1
    return committable


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_watermark_is_the_end_of_the_finished_prefix(data: st.DataObject) -> None:
    gaps = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=25))  # control records
    sinks = data.draw(st.lists(st.integers(0, 3), min_size=len(gaps), max_size=len(gaps)))
    offsets = [sum(gaps[: i + 1]) + 100 for i in range(len(gaps))]
    records = list(zip(offsets, sinks, strict=True))
    watermark = OffsetWatermark()
    read: list[tuple[int, int]] = []
    finished: dict[int, int] = {}
    open_events: list[int] = []  # one entry per (record, sink) not yet finished
    while len(read) < len(records) or open_events:
        if len(read) < len(records) and (not open_events or data.draw(st.booleans())):
            offset, count = records[len(read)]
            watermark.add(offset, count)
            read.append((offset, count))
            open_events += [offset] * count
        else:
            offset = open_events.pop(data.draw(st.integers(0, len(open_events) - 1)))
            watermark.finish(offset)
            finished[offset] = finished.get(offset, 0) + 1
        assert watermark.committable == reference(read, finished)
        assert len(watermark) == len(read) - sum(
            1 for o, _ in read if watermark.committable is not None and o < watermark.committable
        )
    assert watermark.committable == offsets[-1] + 1 and len(watermark) == 0


def test_a_stuck_record_holds_the_watermark_and_later_ones_wait_behind_it() -> None:
    watermark = OffsetWatermark()
    for offset in (10, 11, 12):
        watermark.add(offset, 2)
    for offset in (10, 12, 12, 10, 11):
        watermark.finish(offset)
    assert watermark.committable == 11  # 11 still waits on one sink; 12 is done but behind it
    watermark.finish(11)
    assert watermark.committable == 13 and len(watermark) == 0


def test_misuse_is_refused() -> None:
    watermark = OffsetWatermark()
    watermark.add(4, 1)
    watermark.add(5, 1)
    with pytest.raises(ValueError):
        watermark.add(5, 1)
    watermark.finish(5)
    with pytest.raises(ValueError):  # 5 waits behind 4, and has no sink left to finish
        watermark.finish(5)
    watermark.finish(4)
    watermark.add(6, 0)
    assert watermark.committable == 7
    with pytest.raises(KeyError):
        watermark.finish(5)
