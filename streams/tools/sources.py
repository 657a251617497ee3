"""Input files for ``replay`` and ``offline``: CSVs of daily closes and JSON-lines quotes."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from streams import codec

_CLOSE_COLUMNS = ("close", "Close", "adj_close", "Adj Close")
_DATE_COLUMNS = ("date", "Date")


class SourceError(ValueError):
    """A file that is not one of the supported layouts."""


def _number(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def csv_bars(path: Path, symbol: str) -> Iterator[dict[str, Any]]:
    """Daily bars from ``date,close,...`` or ``Date,Close,High,Low,Open,Volume`` CSVs."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        date_col = next((c for c in _DATE_COLUMNS if c in fields), None)
        close_col = next((c for c in _CLOSE_COLUMNS if c in fields), None)
        if date_col is None or close_col is None:
            raise SourceError(f"{path}: needs a date and a close column, has {fields}")
        lower = {c.lower(): c for c in fields}
        for row in reader:
            bar: dict[str, Any] = {"symbol": symbol, "date": row[date_col].strip()[:10]}
            bar["close"] = _number(row[close_col])
            for name in ("open", "high", "low", "volume"):
                col = lower.get(name)
                if col is not None:
                    value = _number(row[col])
                    if value is not None:
                        bar[name] = value
            yield bar


def jsonl_values(path: Path) -> Iterator[bytes]:
    """Raw quote values, one per non-empty line, exactly as written."""
    with path.open("rb") as fh:
        for line in fh:
            stripped = line.strip()
            if stripped:
                yield stripped


def quote_records(path: Path, symbol: str | None) -> Iterator[tuple[bytes | None, bytes]]:
    """(key, value) pairs as they go to ``quotes.raw``: keyed by symbol."""
    if path.suffix.lower() == ".csv":
        if not symbol:
            raise SourceError("a CSV of daily closes needs --symbol")
        key = symbol.encode()
        for bar in csv_bars(path, symbol):
            yield key, codec.dumps(bar)
        return
    for raw in jsonl_values(path):
        found = _symbol_of(raw)
        if symbol and found is not None and found != symbol:
            continue  # --symbol selects; lines without a readable symbol still go through
        yield (found.encode("utf-8") if found is not None else None), raw


def bar_as_ticks(raw: bytes) -> list[bytes]:
    """A daily bar (JSON) as the ticks of its day in Hong Kong hours: open, the extreme met
    first (the low on an up day), the other, close; a bar of a close only gives one tick."""
    bar = codec.loads(raw)
    close, opening = bar["close"], bar.get("open")
    if opening is None:
        prices = [close]
    else:
        extremes = [bar["low"], bar["high"]] if close >= opening else [bar["high"], bar["low"]]
        prices = [opening, *extremes, close]
    day = date.fromisoformat(bar["date"])
    times = ["09:30", "11:00", "14:00", "15:59"][-len(prices) :]
    out = []
    for seq, (hhmm, price) in enumerate(zip(times, prices, strict=True)):
        ts = int(datetime.fromisoformat(f"{day}T{hhmm}:00+08:00").timestamp() * 1000)
        out.append(codec.dumps({"symbol": bar["symbol"], "ts": ts, "price": price, "seq": seq}))
    return out


def _symbol_of(raw: bytes) -> str | None:
    """The symbol of a raw value, which is its record key; None when unreadable."""
    try:
        data = codec.loads(raw)
    except codec.DecodeError:
        return None
    found = data.get("symbol") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


def article_records(
    path: Path, published_at: str | None, source: str | None, article_id: str | None
) -> Iterator[tuple[bytes | None, bytes]]:
    """(key, value) pairs for ``articles.raw``: a .txt article (first line the title), or
    JSON lines of article records (ours or EventRegistry's), keyed by article id."""
    import hashlib
    from datetime import UTC, datetime

    if path.suffix.lower() == ".txt":
        text = path.read_text(encoding="utf-8")
        title, _, body = text.partition("\n")
        ident = article_id or f"{path.stem}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
        record = {
            "id": ident,
            "source": source or "file",
            "title": title.strip() or None,
            "body": body.strip() or title,
            "published_at": published_at or datetime.now(tz=UTC).date().isoformat(),
            "url": None,
            "lang": None,
        }
        yield ident.encode(), codec.dumps(record)
        return
    for raw in jsonl_values(path):
        try:
            data = codec.loads(raw)
        except codec.DecodeError:
            yield None, raw
            continue
        found = (data.get("id") or data.get("uri")) if isinstance(data, dict) else None
        yield (str(found).encode() if found else None), raw
