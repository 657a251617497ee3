"""Alert rules against naive references, plus table-driven edge cases."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.indicators import CloseHistory, to_fixed
from streams.domain.rules import RuleBook, RuleConfigError, _drawn_down, _side, rule_from_mapping
from tests.reference import exact_crossings

pytestmark = pytest.mark.unit


def evaluate(rule: dict, values: list[float]) -> list[tuple[int, str, str]]:
    spec = rule_from_mapping(rule)
    hist = CloseHistory(spec.sma_windows() or (1,), spec.extreme_windows() or (1,))
    state: dict = {}
    fired = []
    for i, v in enumerate(values):
        snap = hist.view(to_fixed(v))
        for d in spec.on_close(state, snap):
            fired.append((i, d.direction, d.confirmation))
        hist.push(to_fixed(v))
    return fired


series = st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=120)


@settings(max_examples=300, deadline=None)
@given(series, st.integers(min_value=1, max_value=12), st.sampled_from(["0", "0.01", "0.05"]))
def test_ma_cross_matches_exact_naive_loop(ints: list[int], n: int, h: str) -> None:
    """Small integer prices make exact ties frequent: the band and ties must be right."""
    values = [float(x) for x in ints]
    got = evaluate({"rule": "ma_cross", "window": n, "hysteresis": float(h)}, values)
    expected = exact_crossings([Fraction(x) for x in ints], n, Fraction(h))
    assert [(i, d) for i, d, _ in got] == expected
    assert all(c == "close" for _, _, c in got)


@settings(max_examples=200, deadline=None)
@given(series)
def test_sma_cross_matches_naive_loop(ints: list[int]) -> None:
    values = [float(x) for x in ints]
    got = evaluate({"rule": "sma_cross", "short": 3, "long": 7}, values)
    state, expected = None, []
    for i in range(6, len(values)):
        # integer prices: compare exactly via sums, so ties are ties
        a, b = sum(ints[i - 2 : i + 1]) * 7, sum(ints[i - 6 : i + 1]) * 3
        side = "above" if a > b else "below" if a < b else None
        if side is None:
            continue
        if state is not None and side != state:
            expected.append((i, side))
        state = side
    assert [(i, d) for i, d, _ in got] == expected


@settings(max_examples=200, deadline=None)
@given(series)
def test_drawdown_streak_new_high_match_naive(ints: list[int]) -> None:
    values = [float(x) for x in ints]
    dd = evaluate({"rule": "drawdown", "pct": 20.0, "window": 5}, values)
    exp_dd, inside = [], None
    for i in range(len(values)):
        if i + 1 < 5:
            continue
        high = max(ints[i - 4 : i + 1])
        now = Fraction(high - ints[i], high) * 100 >= 20
        if inside is not None and now != inside:
            exp_dd.append((i, "below" if now else "above"))
        inside = now
    assert [(i, d) for i, d, _ in dd] == exp_dd

    streak = evaluate({"rule": "streak", "days": 3}, values)
    exp_st, run = [], 0
    for i in range(1, len(values)):
        if ints[i] > ints[i - 1]:
            run = run + 1 if run > 0 else 1
        elif ints[i] < ints[i - 1]:
            run = run - 1 if run < 0 else -1
        else:
            run = 0
        if abs(run) == 3:
            exp_st.append((i, "above" if run > 0 else "below"))
    assert [(i, d) for i, d, _ in streak] == exp_st

    highs = evaluate({"rule": "new_high", "window": 4}, values)
    lows = evaluate({"rule": "new_low", "window": 4}, values)
    exp_hi = [(i, "above") for i in range(4, len(ints)) if ints[i] > max(ints[i - 4 : i])]
    exp_lo = [(i, "below") for i in range(4, len(ints)) if ints[i] < min(ints[i - 4 : i])]
    assert [(i, d) for i, d, _ in highs] == exp_hi
    assert [(i, d) for i, d, _ in lows] == exp_lo


@pytest.mark.parametrize(
    ("case", "values", "expected"),
    [
        ("warm-up: nothing before N days", [1, 2, 3], []),
        ("first state after warm-up is not a crossing", [1, 1, 5], []),
        ("cross below", [5, 5, 5, 6, 1], [(4, "below")]),
        ("closes exactly on the SMA keep the state", [2, 4, 3, 5, 4, 1], [(5, "below")]),
        ("plain cross below then above", [3, 3, 4, 3, 2, 4], [(3, "below"), (5, "above")]),
        ("tie exactly on the line, then back the same side", [3, 3, 4, 4, 4, 5], []),
        ("gap in days is just the next day with data", [10, 10, 10, 9, 11], [(4, "above")]),
    ],
)
def test_ma_cross_edge_cases(case: str, values: list[float], expected: list) -> None:
    got = evaluate({"rule": "ma_cross", "window": 3}, [float(v) for v in values])
    assert [(i, d) for i, d, _ in got] == expected, case


def test_hysteresis_band_suppresses_whipsaw() -> None:
    values = [100.0] * 5 + [100.5, 99.6, 100.4, 99.5, 95.0]
    plain = evaluate({"rule": "ma_cross", "window": 5}, values)
    banded = evaluate({"rule": "ma_cross", "window": 5, "hysteresis": 0.01}, values)
    assert len(plain) > len(banded)
    assert [(i, d) for i, d, _ in banded] == []  # 95 is below, but the first state is set there


@pytest.mark.parametrize(
    "bad",
    [
        {"rule": "nope"},
        {"rule": "ma_cross", "window": 0},
        {"rule": "ma_cross", "window": "60"},
        {"rule": "ma_cross", "trigger": "sometimes"},
        {"rule": "ma_cross", "hysteresis": -0.1},
        {"rule": "sma_cross", "short": 60, "long": 20},
        {"rule": "ma_cross", "severity": "page-everyone"},
        {"rule": "ma_cross", "windw": 60},
    ],
)
def test_bad_rule_config_is_refused(bad: dict) -> None:
    with pytest.raises(RuleConfigError):
        rule_from_mapping(bad)


def test_rulebook_selects_by_symbol_pattern() -> None:
    book = RuleBook.from_toml(
        """
        [[rules]]
        rule = "ma_cross"
        symbols = ["HS*"]
        [[rules]]
        rule = "streak"
        days = 4
        symbols = ["*.HK"]
        severity = "info"
        """
    )
    assert [r.kind for r in book.for_symbol("HSTECH")] == ["ma_cross"]
    assert [r.kind for r in book.for_symbol("0700.HK")] == ["streak"]
    assert book.for_symbol("AAPL") == ()


BANDS = [Fraction(0), Fraction(1, 100), Fraction(1, 20), Fraction(1, 3), Fraction(7, 10)]


def test_sides_and_drawdowns_in_integers_are_the_fraction_rules() -> None:
    """The band and drawdown comparisons, done in integers, against the Fraction arithmetic
    they replaced, over every small case (ties on each edge included)."""
    for n in (1, 2, 3, 5, 20):
        for band in BANDS:
            for close in range(0, 41):
                for total in range(0, 41 * n, max(1, n // 3)):
                    lhs = Fraction(close * n)
                    want = (
                        "above"
                        if lhs > total * (1 + band)
                        else "below"
                        if lhs < total * (1 - band)
                        else None
                    )
                    assert _side(close, total, n, band) == want, (close, total, n, band)
    for pct in (Fraction(0), Fraction(10), Fraction(20), Fraction(25, 2), Fraction(100, 3)):
        for high in range(1, 61):
            for close in range(0, 61):
                want = Fraction(high - close, high) * 100 >= pct
                assert _drawn_down(high, close, pct) == want, (high, close, pct)
    with pytest.raises(ZeroDivisionError):
        _drawn_down(0, 0, Fraction(10))
