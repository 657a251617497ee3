"""Independent references for the indicators and rules: pandas and naive loops.

Nothing here imports windvane's domain code; tests compare windvane against these.
"""

from __future__ import annotations

import csv
import os
from fractions import Fraction
from pathlib import Path

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
