"""Rolling indicators against pandas and naive loops on hypothesis-generated series."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.indicators import SCALE, CloseHistory, MonotonicWindow, to_fixed

pytestmark = pytest.mark.unit

prices = st.lists(
    st.decimals(min_value="0.01", max_value="100000", places=4).map(float), min_size=1, max_size=300
)
SMA = (1, 2, 5, 20, 60)
EXT = (1, 3, 20, 60)


def run(values: list[float]) -> list:
    hist = CloseHistory(SMA, EXT)
    snaps = []
    for v in values:
        snap = hist.view(to_fixed(v))
        hist.push(to_fixed(v))
        snaps.append(snap)
    return snaps


@settings(max_examples=200, deadline=None)
@given(prices)
def test_sma_matches_pandas_rolling_mean(values: list[float]) -> None:
    snaps = run(values)
    series = pd.Series(values)
    for n in SMA:
        expected = series.rolling(n).mean()
        for snap, exp in zip(snaps, expected, strict=True):
            got = snap.sma(n)
            if pd.isna(exp):
                assert got is None
            else:
                assert got == pytest.approx(exp, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(prices)
def test_high_low_match_pandas_rolling_max_min(values: list[float]) -> None:
    snaps = run(values)
    series = pd.Series(values)
    for n in EXT:
        highs, lows = series.rolling(n).max(), series.rolling(n).min()
        prev_highs = series.shift(1).rolling(n).max()
        prev_lows = series.shift(1).rolling(n).min()
        for snap, hi, lo, phi, plo in zip(snaps, highs, lows, prev_highs, prev_lows, strict=True):
            if pd.isna(hi):
                assert snap.highs[n] is None and snap.lows[n] is None
            else:
                assert snap.highs[n] / SCALE == pytest.approx(hi, rel=1e-12)
                assert snap.lows[n] / SCALE == pytest.approx(lo, rel=1e-12)
            if pd.isna(phi):
                assert snap.prev_highs[n] is None and snap.prev_lows[n] is None
            else:
                assert snap.prev_highs[n] / SCALE == pytest.approx(phi, rel=1e-12)
                assert snap.prev_lows[n] / SCALE == pytest.approx(plo, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(prices)
def test_streak_matches_naive_loop(values: list[float]) -> None:
    snaps = run(values)
    streak = 0
    for i, snap in enumerate(snaps):
        if i == 0 or values[i] == values[i - 1]:
            streak = 0
        elif values[i] > values[i - 1]:
            streak = streak + 1 if streak > 0 else 1
        else:
            streak = streak - 1 if streak < 0 else -1
        assert snap.streak == streak


@settings(max_examples=100, deadline=None)
@given(prices, prices)
def test_serialization_round_trip_gives_identical_future(
    first: list[float], then: list[float]
) -> None:
    """Invariant: restoring from to_dict() continues exactly as the live object would."""
    live = CloseHistory(SMA, EXT)
    for v in first:
        live.push(to_fixed(v))
    restored = CloseHistory.from_dict(live.to_dict(), SMA, EXT)
    for v in then:
        assert restored.view(to_fixed(v)) == live.view(to_fixed(v))
        live.push(to_fixed(v))
        restored.push(to_fixed(v))


def test_view_does_not_change_state() -> None:
    """add-then-view leaves state alone: a provisional price is not a close."""
    hist = CloseHistory((3,), (3,))
    for v in (10.0, 11.0, 12.0):
        hist.push(to_fixed(v))
    before = hist.to_dict()
    hist.view(to_fixed(99.0))
    assert hist.to_dict() == before


def test_changed_windows_rebuild_from_ring() -> None:
    hist = CloseHistory((2,), (2,))
    for v in (1.0, 2.0, 3.0, 4.0):
        hist.push(to_fixed(v))
    wider = CloseHistory.from_dict(hist.to_dict(), (2, 3, 4), (2,))
    snap = wider.view(to_fixed(5.0))
    assert snap.sma(2) == pytest.approx(4.5)
    assert snap.sma(3) == pytest.approx(4.0)  # the ring kept 3 and 4: enough for 3 days
    assert snap.sma(4) is None  # 1 and 2 are gone: a longer new window warms up again


def test_huge_sums_survive_serialization() -> None:
    """Sums above 2**63 travel as strings (orjson's integer range)."""
    hist = CloseHistory((250,), ())
    for _ in range(250):
        hist.push(to_fixed(1e12))
    import orjson

    data = orjson.loads(orjson.dumps(hist.to_dict()))
    again = CloseHistory.from_dict(data, (250,), ())
    assert again.view(to_fixed(1e12)).sma(250) == pytest.approx(1e12)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(1, 50), min_size=0, max_size=80),
    st.integers(1, 30),
    st.booleans(),
)
def test_both_extremes_in_one_scan_are_the_two_lookups(
    values: list[int], n: int, largest: bool
) -> None:
    window = MonotonicWindow(n, largest)
    for count, value in enumerate([*values, None]):
        for k in range(1, n + 2):
            want = (window.extreme_last(count, k), window.extreme_last(count, k - 1))
            if k == 1:
                want = (window.extreme_last(count, 1), None)
            assert window.extremes_last(count, k) == want, (count, k)
        if value is not None:
            window.push(count, value)


def _out(v: int) -> object:
    """A value as JSON carries it: an integer within 64 bits, else its decimal text."""
    return v if -(2**63) < v < 2**63 else str(v)


def _naive_wire(hist: CloseHistory) -> dict[str, object]:
    """The history's JSON object built value by value (integers beyond 64 bits as text)."""
    return {"ring": [_out(v) for v in hist.ring], "count": hist.count, "streak": hist.streak}


def _first_format(hist: CloseHistory) -> dict[str, object]:
    """The history as the first state format wrote it (the sums and extremes included),
    value by value: what a changelog written before the second format holds."""
    out = _out
    return {
        **_naive_wire(hist),
        "sums": {str(n): out(s) for n, s in hist.sums.items()},
        "highs": {str(n): [[i, out(v)] for i, v in w.items] for n, w in hist.highs.items()},
        "lows": {str(n): [[i, out(v)] for i, v in w.items] for n, w in hist.lows.items()},
    }


def _inside(hist: CloseHistory) -> tuple[object, ...]:
    return (
        list(hist.ring), hist.count, hist.streak, hist.sums, hist.wide,
        {n: list(w.items) for n, w in hist.highs.items()},
        {n: list(w.items) for n, w in hist.lows.items()},
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(1, 6), min_size=0, max_size=60),  # few values: many ties
    st.sampled_from([((3,), (1, 4)), ((2, 5), (5,)), ((20,), (2, 3, 20)), ((1,), ())]),
    st.booleans(),
)
def test_restore_rebuilds_sums_and_extremes_exactly(
    values: list[int], windows: tuple[tuple[int, ...], tuple[int, ...]], first_format: bool
) -> None:
    """The sums and monotonic extremes a restore rebuilds from the ring are the ones the
    pushes made (ties included), whether the changelog holds the second format or the first
    (whose sums and extremes are then not needed); the future after it is the same."""
    import orjson

    hist = CloseHistory(*windows)
    for v in values:
        hist.push(v)
    wire = _first_format(hist) if first_format else hist.to_dict()
    again = CloseHistory.from_dict(orjson.loads(orjson.dumps(wire)), *windows)
    assert _inside(again) == _inside(hist)
    for v in (3, 1, 6, 6, 2):
        assert again.view(v) == hist.view(v)
        again.push(v)
        hist.push(v)
        assert _inside(again) == _inside(hist)


def test_fewer_windows_keep_the_count() -> None:
    """Windows that still fit in the ring kept are rebuilt exactly, and the count goes on."""
    hist = CloseHistory((2, 5), (5,))
    for v in range(1, 13):
        hist.push(to_fixed(float(v)))
    fewer = CloseHistory.from_dict(hist.to_dict(), (2, 3), (3,))
    snap = fewer.view(to_fixed(13.0))
    assert snap.count == 13
    assert snap.sma(3) == pytest.approx(12.0)
    assert snap.highs[3] == to_fixed(13.0) and snap.prev_highs[3] == to_fixed(12.0)
    assert len(fewer.ring) == 3


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(0.0001, 1e6), st.sampled_from([9.3e10, 1e11, 2e12])),
        min_size=0,
        max_size=40,
    ),
    st.integers(0, 40),
)
def test_serialization_is_the_value_by_value_json(prices: list[float], restore_at: int) -> None:
    """The ring goes to orjson whole unless a value beyond 64 bits was pushed (a price above
    ~92 billion), and as its text once asked for: the bytes equal a value-by-value encoding
    either way, before and after a restore."""
    import orjson

    from streams import codec

    hist = CloseHistory((3, 20), (5, 20))
    for i, p in enumerate(prices):
        if i == restore_at:
            hist = CloseHistory.from_dict(
                orjson.loads(orjson.dumps(hist.to_dict())), (3, 20), (5, 20)
            )
        hist.push(to_fixed(p))
        expected = orjson.dumps(_naive_wire(hist))
        assert orjson.dumps(hist.to_dict()) == expected
        # the first format (WINDVANE_STATE_FORMAT=1): what the first format's code wrote
        assert orjson.dumps(hist.to_dict(derived=True)) == orjson.dumps(_first_format(hist))
        # the ring as its text, kept by push (the state's encoding) from the first ask on
        if i % 3 == 0 or hist.ring_text is not None:
            assert codec.dumps(hist.to_dict(codec.raw)) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0001, 1e6), min_size=0, max_size=70), st.integers(0, 70))
def test_the_kept_ring_text_follows_the_ring(prices: list[float], first_ask: int) -> None:
    """The ring's text, once asked for, is kept by each push (closes leaving the ring
    included) and is always the JSON of the ring."""
    from streams import codec

    hist = CloseHistory((3, 20), (5, 20))  # a ring of 20
    for i, p in enumerate(prices):
        hist.push(to_fixed(p))
        if i >= first_ask:
            assert codec.dumps(hist.to_dict(codec.raw)) == codec.dumps(_naive_wire(hist))
