"""Independent references for the indicators and rules: pandas and naive loops.

Nothing here imports windvane's domain code; tests compare windvane against these.
"""

from __future__ import annotations

import csv
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

SHARED = Path(
    os.environ.get("WINDVANE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
QUOTES = SHARED / "quotes"


def shared_path(*parts: str) -> Path:
    """A file of ../shared/data; fails loudly when the checkout lacks it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the tests read real data from ../shared/data")
    return path


def closes(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.columns = [c.lower() for c in frame.columns]
    frame = frame[["date", "close"]].dropna()
    return frame.reset_index(drop=True)


def ma_crossings(frame: pd.DataFrame, window: int = 60) -> list[tuple[str, str]]:
    """(date, direction) of each close crossing its SMA, per the architecture page."""
    sma = frame["close"].rolling(window).mean()
    state: str | None = None
    out: list[tuple[str, str]] = []
    for day, close, avg in zip(frame["date"], frame["close"], sma, strict=True):
        if pd.isna(avg):
            continue
        side = "above" if close > avg else "below" if close < avg else None
        if side is None:
            continue
        if state is not None and side != state:
            out.append((str(day), side))
        state = side
    return out


def naive_sma(values: list[float], n: int) -> list[float | None]:
    return [None if i + 1 < n else sum(values[i + 1 - n : i + 1]) / n for i in range(len(values))]


def exact_crossings(
    values: list[Fraction], n: int, h: Fraction = Fraction(0)
) -> list[tuple[int, str]]:
    """Crossings with exact rational arithmetic and a hysteresis band, by a naive loop."""
    state: str | None = None
    out: list[tuple[int, str]] = []
    for i in range(len(values)):
        if i + 1 < n:
            continue
        avg = sum(values[i + 1 - n : i + 1]) / n
        c = values[i]
        side = "above" if c > avg * (1 + h) else "below" if c < avg * (1 - h) else None
        if side is None:
            continue
        if state is not None and side != state:
            out.append((i, side))
        state = side
    return out


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


# Days the 0700.HK file has a row for although Hong Kong did not trade (issue 12): two
# Saturdays, and four typhoon closures. Each row repeats the previous close with volume 0.
HK_NOT_TRADED = (
    "2011-12-24",  # Saturday
    "2011-12-31",  # Saturday
    "2013-08-14",  # typhoon Utor
    "2016-08-02",  # typhoon Nida
    "2016-10-21",  # typhoon Haima
    "2017-08-23",  # typhoon Hato
)


def without(frame: pd.DataFrame, days: tuple[str, ...] | set[str]) -> pd.DataFrame:
    """``frame`` less the rows of ``days``."""
    return frame[~frame["date"].isin(list(days))].reset_index(drop=True)


def drawdown_crossings(frame: pd.DataFrame, pct: float, window: int) -> list[tuple[str, str]]:
    """(date, direction) each time the close enters (``below``) or leaves (``above``) the zone
    ``pct``% or more below the highest close of the last ``window`` days, day included."""
    high = frame["close"].rolling(window).max()
    state: bool | None = None
    out: list[tuple[str, str]] = []
    for day, close, top in zip(frame["date"], frame["close"], high, strict=True):
        if pd.isna(top):
            continue
        inside = (top - close) / top * 100 >= pct
        if state is not None and inside != state:
            out.append((str(day), "below" if inside else "above"))
        state = inside
    return out


def streaks(frame: pd.DataFrame, days: int) -> list[tuple[str, str]]:
    """(date, direction) of the ``days``-th consecutive higher (``above``) or lower
    (``below``) close; an unchanged close ends a run."""
    out: list[tuple[str, str]] = []
    run = 0
    change = frame["close"].diff()
    for day, delta in zip(frame["date"], change, strict=True):
        if pd.isna(delta):
            continue
        if delta > 0:
            run = run + 1 if run > 0 else 1
        elif delta < 0:
            run = run - 1 if run < 0 else -1
        else:
            run = 0
        if abs(run) == days:
            out.append((str(day), "above" if run > 0 else "below"))
    return out


def new_extremes(frame: pd.DataFrame, window: int, high: bool) -> list[tuple[str, str]]:
    """(date, direction) of closes above every (``high``) or below every close of the
    previous ``window`` days."""
    prev = frame["close"].shift(1).rolling(window)
    bound = prev.max() if high else prev.min()
    beyond = frame["close"] > bound if high else frame["close"] < bound
    return [(str(d), "above" if high else "below") for d in frame["date"][beyond]]


def rule_alerts(frame: pd.DataFrame, rule: dict[str, Any]) -> list[tuple[str, str]]:
    """The close-confirmed alerts of one ``[[rules]]`` table over ``frame``'s closes."""
    kind = rule["rule"]
    if kind == "ma_cross":
        assert rule.get("hysteresis", 0.0) == 0.0
        return ma_crossings(frame, rule["window"])
    if kind == "drawdown":
        return drawdown_crossings(frame, rule["pct"], rule["window"])
    if kind == "streak":
        return streaks(frame, rule["days"])
    if kind in ("new_high", "new_low"):
        return new_extremes(frame, rule["window"], kind == "new_high")
    raise NotImplementedError(kind)
