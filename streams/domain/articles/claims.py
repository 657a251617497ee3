"""Claims that market data can check, and the check itself (pure: quotes come through a
lookup function, so it runs wherever a symbol's day records live)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from streams.domain.articles.metrics import WORD_NUMBERS
from streams.domain.articles.text import Sentence, dates_in

# Index names as news writes them; the registry resolves the ones windvane has quotes for.
INDEX_NAME = re.compile(
    r"\b(Hang Seng(?: [A-Z][A-Za-z&-]*){0,4} Index|Hang Seng Index|HSI|HSTECH|CSI ?300(?: Index)?|"
    r"Shanghai Composite(?: Index)?|Shenzhen Component(?: Index)?|S&P 500|Nasdaq(?: Composite)?|"
    r"Dow Jones Industrial Average|Nikkei 225|STAR 50)\b"
)
_NUM = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_MA_CROSS = re.compile(
    r"\b(?:dropped|dropping|fell|falling|broke|breaking|slipped|slipping|crossed|crossing|moved|"
    r"plunged|rose|rising|climbed|climbing|went|dipped|dipping)\s+(?P<dir>below|under|beneath|above|over)\s+"
    r"(?:the|its)\s+(?P<n>\d+)[- ]day\s+(?:moving average|simple moving average|line|MA|average)",
    re.IGNORECASE,
)
_LEVEL = re.compile(
    rf"\b(?P<what>low|high|peak|trough|level|close|closed|closing|closing level|record)\s+(?:of\s+|at\s+)?{_NUM}\s+points",
    re.IGNORECASE,
)
_DRAWDOWN_PCT = re.compile(
    rf"\b(?:downside|drawdown|decline|fall|drop|correction|loss)\s+(?:of\s+)?{_NUM}%", re.IGNORECASE
)
_STREAK = re.compile(
    r"\b(?P<q>nearly |almost |about |over |more than )?(?P<n>\d+|"
    + "|".join(WORD_NUMBERS)
    + r")\s+consecutive\s+(?:trading\s+)?days\s+of\s+(?:continuous\s+|consecutive\s+)?(?P<what>rebound|rise|rises|gains?|"
    r"increases?|advance|declines?|falls?|drops?|losses)",
    re.IGNORECASE,
)
_UP = {"rebound", "rise", "rises", "gain", "gains", "increase", "increases", "advance"}


@dataclass
class Claim:
    type: str  # index_level | ma_cross | drawdown | streak
    instrument: str | None
    text: str
    params: dict[str, Any] = field(default_factory=dict)
    symbol: str | None = None

    def claim_id(self, article_id: str) -> str:
        material = f"{article_id}|{self.type}|{self.instrument}|{sorted(self.params.items())}"
        return hashlib.sha256(material.encode()).hexdigest()[:24]

    def to_dict(self, article_id: str) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id(article_id),
            "type": self.type,
            "instrument": self.instrument,
            "symbol": self.symbol,
            "text": self.text,
            **self.params,
        }


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _instrument(sentence: str, before: int, last_seen: str | None) -> str | None:
    """The index the sentence speaks of: the nearest name before the position, else any in
    the sentence, else the last one the paragraph named."""
    names = list(INDEX_NAME.finditer(sentence))
    prior = [m for m in names if m.start() < before]
    if prior:
        return prior[-1].group(0)
    if names:
        return names[0].group(0)
    return last_seen


class ClaimExtractor:
    def extract(
        self, sents: list[Sentence], published_at: str | None, lang: str = "en"
    ) -> list[Claim]:
        """Claims of an article's sentences; ``published_at`` is its ISO date or date-time."""
        published = _published_date(published_at)
        claims: list[Claim] = []
        last_seen: str | None = None
        paragraph = -1
        para_levels: list[
            tuple[str, float, str | None, str | None]
        ] = []  # (what, value, date, name)
        for sent in sents:
            if sent.paragraph != paragraph:  # "the index" refers to the last index named
                paragraph, para_levels = sent.paragraph, []
            text = sent.text
            dates = dates_in(text, published)
            for m in _MA_CROSS.finditer(text):
                direction = (
                    "below" if m.group("dir").lower() in ("below", "under", "beneath") else "above"
                )
                when = _nearest_date(dates, m.start())
                claims.append(
                    Claim(
                        "ma_cross",
                        _instrument(text, m.start(), last_seen),
                        text,
                        {"window": int(m.group("n")), "direction": direction, "date": when},
                    )
                )
            for m in _LEVEL.finditer(text):
                when = _nearest_date(dates, m.end())
                name = _instrument(text, m.start(), last_seen)
                value = _num(m.group(2))
                what = m.group("what").lower()
                what = "close" if what.startswith("clos") else what
                para_levels.append((what, value, when, name))
                printed = m.group(2)
                decimals = len(printed.split(".")[1]) if "." in printed else 0
                params = {"value": value, "date": when, "note": what, "decimals": decimals}
                claims.append(Claim("index_level", name, text, params))
            for m in _DRAWDOWN_PCT.finditer(text):
                highs = [lv for lv in para_levels if lv[0] in ("high", "peak", "record")]
                lows = [lv for lv in para_levels if lv[0] in ("low", "trough")]
                if highs and lows:
                    hi, lo = highs[-1], lows[-1]
                    pct = _num(m.group(1))
                    implied = (hi[1] - lo[1]) / hi[1] * 100
                    claims.append(
                        Claim(
                            "drawdown",
                            hi[3] or lo[3],
                            text,
                            {
                                "from_value": hi[1],
                                "from_date": hi[2],
                                "to_value": lo[1],
                                "to_date": lo[2],
                                "value_pct": pct,
                                "implied_pct": round(implied, 4),
                                "arithmetic_ok": abs(implied - pct) <= 0.005 + 1e-9,
                            },
                        )
                    )
            for m in _STREAK.finditer(text):
                raw = m.group("n").lower()
                days = int(raw) if raw.isdigit() else WORD_NUMBERS.get(raw, 0)
                qualifier = (m.group("q") or "").strip().lower() or None
                claims.append(
                    Claim(
                        "streak",
                        _instrument(text, m.start(), last_seen),
                        text,
                        {
                            "direction": "up" if m.group("what").lower() in _UP else "down",
                            "days": days,
                            "qualifier": qualifier,
                            "as_of": published.isoformat() if published else None,
                        },
                    )
                )
            names = list(INDEX_NAME.finditer(text))
            if names:
                last_seen = names[-1].group(0)
        return _dedupe(claims)


def _published_date(published_at: str | None) -> date | None:
    if not published_at:
        return None
    try:
        return date.fromisoformat(published_at[:10])
    except ValueError:
        return None


def _nearest_date(dates: list[Any], pos: int, after_only: bool = False) -> str | None:
    candidates = [d for d in dates if d.start >= pos] if after_only else dates
    if not candidates:
        return None
    best = min(candidates, key=lambda d: abs(d.start - pos))
    return str(best.day.isoformat())


def _dedupe(claims: list[Claim]) -> list[Claim]:
    seen: dict[tuple[str, str | None, str], Claim] = {}
    for claim in claims:
        key = (
            claim.type,
            claim.instrument,
            repr(sorted((k, v) for k, v in claim.params.items() if k != "note")),
        )
        if key not in seen:
            seen[key] = claim
            continue
        # the same level stated again with a date: keep the dated one
        kept = seen[key]
        for k, v in claim.params.items():
            if kept.params.get(k) is None and v is not None:
                kept.params[k] = v
    # an undated level equal to a dated one of the same instrument is the same claim
    out = list(seen.values())
    dated = {
        (c.instrument, c.params.get("value"))
        for c in out
        if c.type == "index_level" and c.params.get("date")
    }
    return [
        c
        for c in out
        if not (
            c.type == "index_level"
            and not c.params.get("date")
            and (c.instrument, c.params.get("value")) in dated
        )
    ]


# -- checking ---------------------------------------------------------------------------
DayLookup = Callable[[str, str], dict[str, Any] | None]


def _side(close: float, sma: float) -> str | None:
    return "above" if close > sma else "below" if close < sma else None


def _tolerance(value: float, qualifier: str | None, decimals: int | None) -> float:
    """Half a unit of the last printed digit ("5760.38" -> 0.005); 1% when hedged."""
    if qualifier in ("about", "nearly", "over", "under"):
        return abs(value) * 0.01
    if decimals is None:
        text = f"{value:.10g}"
        decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10 ** (-decimals) + 1e-9


def check_claim(
    claim: dict[str, Any], lookup: DayLookup, latest: Callable[[str], str | None] | None = None
) -> dict[str, Any]:
    """``confirmed``, ``contradicted`` or ``unknown``, with the numbers compared."""
    symbol = claim.get("symbol")
    if not symbol:
        return {
            "verdict": "unknown",
            "reason": "no instrument windvane has quotes for",
            "compared": {},
        }
    kind = claim["type"]
    if kind == "ma_cross":
        return _check_ma_cross(claim, symbol, lookup)
    if kind == "index_level":
        return _check_level(claim, symbol, lookup)
    if kind == "drawdown":
        return _check_drawdown(claim, symbol, lookup)
    if kind == "streak":
        return _check_streak(claim, symbol, lookup)
    return {"verdict": "unknown", "reason": f"no check for {kind}", "compared": {}}


def _check_ma_cross(claim: dict[str, Any], symbol: str, lookup: DayLookup) -> dict[str, Any]:
    day, window = claim.get("date"), str(claim["window"])
    if not day:
        return {"verdict": "unknown", "reason": "the claim gives no date", "compared": {}}
    rec = lookup(symbol, day)
    if rec is None:
        return {"verdict": "unknown", "reason": f"no close for {symbol} on {day}", "compared": {}}
    prev = lookup(symbol, rec["prev_trading_day"]) if rec.get("prev_trading_day") else None
    sma, prev_sma = rec["sma"].get(window), (prev or {}).get("sma", {}).get(window)
    if sma is None or prev is None or prev_sma is None:
        return {"verdict": "unknown", "reason": f"SMA{window} not defined on {day}", "compared": {}}
    compared = {
        "trading_day": day,
        "close": rec["price"],
        f"sma{window}": sma,
        "prev_trading_day": rec["prev_trading_day"],
        "prev_close": prev["price"],
        f"prev_sma{window}": prev_sma,
    }
    side, prev_side = _side(rec["price"], sma), _side(prev["price"], prev_sma)
    ok = side == claim["direction"] and prev_side != claim["direction"]
    return {"verdict": "confirmed" if ok else "contradicted", "compared": compared}


def _check_level(claim: dict[str, Any], symbol: str, lookup: DayLookup) -> dict[str, Any]:
    day = claim.get("date")
    if not day:
        return {"verdict": "unknown", "reason": "the claim gives no date", "compared": {}}
    rec = lookup(symbol, day)
    if rec is None:
        return {"verdict": "unknown", "reason": f"no close for {symbol} on {day}", "compared": {}}
    value = float(claim["value"])
    tolerance = round(_tolerance(value, claim.get("qualifier"), claim.get("decimals")), 10)
    close = float(rec["price"])
    compared = {"trading_day": day, "close": close, "claimed": value, "tolerance": tolerance}
    verdict = "confirmed" if abs(close - value) <= tolerance else "contradicted"
    return {"verdict": verdict, "compared": compared}


def _check_drawdown(claim: dict[str, Any], symbol: str, lookup: DayLookup) -> dict[str, Any]:
    if not claim.get("from_date") or not claim.get("to_date"):
        return {
            "verdict": "unknown",
            "reason": "the claim does not date its high and low",
            "compared": {},
        }
    hi, lo = lookup(symbol, claim["from_date"]), lookup(symbol, claim["to_date"])
    if hi is None or lo is None:
        return {
            "verdict": "unknown",
            "reason": f"no closes for {symbol} on those days",
            "compared": {},
        }
    actual = (hi["price"] - lo["price"]) / hi["price"] * 100
    compared = {
        "high": hi["price"],
        "low": lo["price"],
        "drawdown_pct": round(actual, 4),
        "claimed_pct": claim["value_pct"],
    }
    ok = abs(actual - float(claim["value_pct"])) <= 0.005 + 1e-9
    return {"verdict": "confirmed" if ok else "contradicted", "compared": compared}


def _check_streak(claim: dict[str, Any], symbol: str, lookup: DayLookup) -> dict[str, Any]:
    as_of = claim.get("as_of")
    if not as_of:
        return {"verdict": "unknown", "reason": "no date to check the streak at", "compared": {}}
    day = date.fromisoformat(as_of)
    for back in range(0, 8):
        rec = lookup(symbol, (day - timedelta(days=back)).isoformat())
        if rec is not None:
            streak = int(rec["streak"])
            want = int(claim["days"]) * (1 if claim["direction"] == "up" else -1)
            slack = 1 if claim.get("qualifier") in ("nearly", "about", "almost") else 0
            ok = streak * want > 0 and abs(abs(streak) - abs(want)) <= slack
            compared = {"trading_day": rec["trading_day"], "streak": streak, "claimed": want}
            return {"verdict": "confirmed" if ok else "contradicted", "compared": compared}
    return {"verdict": "unknown", "reason": f"no close for {symbol} near {as_of}", "compared": {}}
