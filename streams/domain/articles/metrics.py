"""Metrics from English market-news text: money, price, percent, index points, multiples,
valuation percentiles and counts, each with its normalized value and unit.

Rule-based and deterministic: every rule below says what it is for. A number becomes a
metric only when the text gives it a unit (a currency, %, points, times) or counts a noun;
dates, years, codes, ordinals, durations and model names are not metrics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from streams.domain.articles.text import (
    NUMERIC_DATE_RE,
    DateMention,
    Sentence,
    dates_in,
)

SCALES = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "bln": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "dozen": 12.0,
    "tn": 1e12,
    "trn": 1e12,
}
WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100, "a hundred": 100, "dozen": 12, "a dozen": 12,
}  # fmt: skip
CURRENCY_PREFIX = {
    "HK$": "HKD", "US$": "USD", "$": "USD", "RMB": "CNY", "CNY": "CNY", "HKD": "HKD",
    "USD": "USD", "EUR": "EUR", "€": "EUR", "£": "GBP", "GBP": "GBP", "¥": "CNY", "S$": "SGD",
}  # fmt: skip
CURRENCY_SUFFIX = [
    (r"hong kong dollars?|hk dollars?|hkd", "HKD"),
    (r"us dollars?|u\.s\. dollars?|usd", "USD"),
    (r"yuan|rmb|cny|renminbi", "CNY"),
    (r"euros?|eur", "EUR"),
    (r"pounds? sterling|gbp", "GBP"),
    (r"yen|jpy", "JPY"),
    (r"dollars?", "USD"),
]
TIME_UNITS = {"day", "days", "week", "weeks", "month", "months", "year", "years", "quarter",
              "quarters", "hour", "hours", "minute", "minutes", "second", "seconds", "decade",
              "decades"}  # fmt: skip
QUALIFIERS = [
    (
        r"more than|over|exceed(?:ed|ing|s)?|surpass(?:ed|ing|es)?|past|above|beyond|at least|topp(?:ed|ing)",
        "over",
    ),
    (r"nearly|almost|close to|approaching", "nearly"),
    (r"about|around|approximately|roughly|some|an estimated", "about"),
    (r"less than|under|below|fewer than", "under"),
    (r"up to|at most|as much as|as many as", "up_to"),
]
UP_VERBS = r"rose|rise|rises|rising|increased?|increasing|up|gained?|gaining|climbed?|climbing|jumped?|jumping|surged?|surging|grew|grow|growing|growth|soared?|rebounded?|added|advanced?"
DOWN_VERBS = r"fell|fall|falls|falling|dropped|drop|drops|dropping|declined?|declining|down|lost|losing|slid|slide|sliding|decreased?|decreasing|plunged?|plunging|tumbled?|sank|shed|lower(?:ed)?"
BASES = [
    (r"year[- ]on[- ]year|yoy|y/y|from a year (?:earlier|ago)|compared with (?:a|the) year", "yoy"),
    (r"month[- ]on[- ]month|mom|m/m", "mom"),
    (r"quarter[- ]on[- ]quarter|qoq|q/q", "qoq"),
]
SUBJECT_VERBS = re.compile(
    r"\b(reached|reaching|hit|hitting|exceeded|exceeding|surpassed|surpassing|was|were|is|are|"
    r"stood|totall?ed|amounted|rose|fell|dropped|increased|decreased|grew|climbed|declined|"
    r"jumped|purchased|bought|sold|raised|invested|posted|reported|recorded|saw|had|has|"
    r"lowered|cut|set|estimated|stated|ranked|experienced|achieved|at|of|to|by)\b",
    re.IGNORECASE,
)
_DETERMINERS = {
    "the",
    "this",
    "that",
    "these",
    "those",
    "its",
    "their",
    "our",
    "both",
    "all",
    "a",
    "an",
    "his",
    "her",
}
_SOURCING = re.compile(
    r"^\s*(familiar|with (direct )?knowledge|briefed|close to|who (spoke|declined|asked|said))",
    re.I,
)
_SOURCE_NOUNS = {"sources", "people", "persons", "insiders", "officials", "analysts", "executives"}
_NOT_COUNT_NOUNS = {"percent", "points", "times", "dollars", "yuan", "euros", "shares", "cents"}
_IRREGULAR_PLURALS = {"people", "staff", "children", "personnel", "police", "cattle"}
_STOP = {"of", "the", "and", "to", "in", "on", "for", "from", "with", "by", "at", "as", "or",
         "a", "an", "its", "their", "than", "that", "which", "is", "was", "were", "are"}  # fmt: skip
_NOT_A_QUANTITY_BEFORE = re.compile(
    r"(?:\b(?:double|no\.|number|version|v|model|chapter|article|phase|round|grade|tier|"
    r"series|h|q|fy|top|page|item)|#)\s*$",
    re.IGNORECASE,
)

NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_PREFIX = "|".join(re.escape(c) for c in sorted(CURRENCY_PREFIX, key=len, reverse=True))
NUMBER_RE = re.compile(
    rf"(?<![\w.,/$€£¥-])(?P<cur>(?:{_PREFIX})\s?)?(?P<sign>[-+−](?=\d))?(?P<num>{NUM})(?![\w/]|\.\d|,\d)"
    rf"|(?<![\w-])(?P<word>{'|'.join(sorted(WORD_NUMBERS, key=len, reverse=True))})(?![\w-])",
    re.IGNORECASE,
)
_SCALE_RE = re.compile(
    r"^(?:\s?(?P<scale>thousand|million|billion|trillion|dozen|bn|mn|mln|bln|tn|trn)\b|(?P<tight>[kmb])\b)",
    re.IGNORECASE,
)
_UNIT_RE = re.compile(
    r"^\s?(?P<unit>%|per ?cent\b|percentage points?\b|points?\b|pts\b|times\b|x\b"
    + "".join(f"|{pattern}\\b" for pattern, _ in CURRENCY_SUFFIX)
    + r")",
    re.IGNORECASE,
)
_WORD = re.compile(r"^\s+([A-Za-z][A-Za-z0-9&+'-]*)")


@dataclass
class Metric:
    """One distinct metric of an article (merged over its mentions)."""

    kind: str
    value: float
    unit: str
    text: str
    sentence: str
    start: int  # offset of the number in the cleaned body
    subject: str | None = None
    qualifier: str | None = None
    basis: str | None = None
    direction: str | None = None
    date: str | None = None
    mentions: int = 1
    spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, float, str]:
        return (self.kind, self.value, self.unit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "unit": self.unit,
            "text": self.text,
            "subject": self.subject,
            "qualifier": self.qualifier,
            "basis": self.basis,
            "direction": self.direction,
            "date": self.date,
            "mentions": self.mentions,
            "span": list(self.spans[0]) if self.spans else None,
        }


def _number_value(m: re.Match[str]) -> float:
    if m.group("word"):
        return float(WORD_NUMBERS[m.group("word").lower()])
    return float(m.group("num").replace(",", ""))


def _last_words(text: str, n: int) -> str:
    return " ".join(text.split()[-n:])


def _qualifier(before: str) -> tuple[str, int] | None:
    """The bound qualifier just before a number, and where it starts in ``before``."""
    for pattern, name in QUALIFIERS:
        m = re.search(rf"\b(?:{pattern})(?:\s+(?:a|the|net|of|by|to))*\s*$", before, re.IGNORECASE)
        if m:
            return name, m.start()
    return None


def _direction(before: str) -> str | None:
    tail = re.sub(r"\bup to\b", " ", _last_words(before, 5).lower())
    if re.search(rf"\b(?:{UP_VERBS})\b", tail):
        return "up"
    if re.search(rf"\b(?:{DOWN_VERBS})\b", tail):
        return "down"
    return None


def _basis(before: str, after: str) -> str | None:
    window = (_last_words(before, 6) + " | " + " ".join(after.split()[:5])).lower()
    for pattern, name in BASES:
        if re.search(rf"\b(?:{pattern})\b", window):
            return name
    return None


def _subject(before: str) -> str | None:
    """The noun phrase the clause says the number is about, when it says one."""
    clause = re.split(
        r",\s|[;:(]|\bwhile\b|\bwith\b|\band\b(?= [a-z]+ (?:saw|reached|rose))", before
    )[-1]
    verbs = list(SUBJECT_VERBS.finditer(clause))
    if not verbs:
        return None
    head = clause[: verbs[0].start()].strip()
    words = [w for w in head.split() if w]
    while words and (words[0].lower() in _DETERMINERS or words[0].lower() in _STOP):
        words.pop(0)
    if not words or len(words) > 8:
        return None
    while words and words[-1].lower() in _AUXILIARIES:
        words.pop()
    phrase = " ".join(words).strip(" '\"“”")
    if not phrase or _BAD_SUBJECT.search(phrase) or (len(words) == 1 and phrase.islower()):
        return None
    return phrase


_AUXILIARIES = {
    "have",
    "has",
    "had",
    "will",
    "would",
    "been",
    "be",
    "could",
    "may",
    "might",
    "also",
    "which",
}
_BAD_SUBJECT = re.compile(
    r"^(it|after|since|which|that|this|there|if|when|while|as|so|although|however|in|on|for)\b"
    r"|[|()]| - |\b(also|clearly|previously|recently|said|shows?|it|they|them|this|these)$|^\W|\bthat\b",
    re.IGNORECASE,
)


def _count_unit(after: str) -> str | None:
    """The counted noun: up to two modifiers, then a plural noun ("derivative models")."""
    rest = after
    words: list[str] = []
    for _ in range(3):
        m = _WORD.match(rest)
        if not m:
            break
        words.append(m.group(1))
        rest = rest[m.end() :]
    for word in words:
        low = word.lower()
        if low in _STOP:
            return None
        if low in _IRREGULAR_PLURALS or (
            low.endswith("s") and not low.endswith("ss") and len(low) > 3 and low.isalpha()
        ):
            return low
    return None


def _looks_like_year(m: re.Match[str], unit_found: bool) -> bool:
    num = m.group("num")
    return bool(num) and not unit_found and bool(re.fullmatch(r"(19|20)\d{2}", num))


class MetricExtractor:
    """Extracts distinct metrics from the sentences of an English article."""

    def extract(self, sents: list[Sentence], published: date | None) -> list[Metric]:
        found: dict[tuple[str, float, str], Metric] = {}
        for sent in sents:
            for metric in self._sentence(sent, published):
                prior = found.get(metric.key)
                if prior is None:
                    found[metric.key] = metric
                    continue
                prior.mentions += 1
                prior.spans.extend(metric.spans)
                for name in ("subject", "qualifier", "basis", "direction", "date"):
                    if getattr(prior, name) is None and getattr(metric, name) is not None:
                        setattr(prior, name, getattr(metric, name))
        return sorted(found.values(), key=lambda m: m.start)

    def _sentence(self, sent: Sentence, published: date | None) -> list[Metric]:
        text = sent.text
        masked = NUMERIC_DATE_RE.sub(lambda m: " " * len(m.group()), text)
        dates = dates_in(text, published)
        masked = _mask(masked, [(d.start, d.end) for d in dates])
        out: list[Metric] = []
        consumed = 0  # "two dozen": the scale word is not a number of its own
        for m in NUMBER_RE.finditer(masked):
            if m.start() < consumed:
                continue
            scale_m = _SCALE_RE.match(masked[m.end() :])
            if scale_m:
                consumed = m.end() + scale_m.end()
            metric = self._classify(m, masked, text, sent)
            if metric is not None:
                out.append(metric)
        _attach_dates(out, dates, sent.start)
        return out

    def _classify(self, m: re.Match[str], masked: str, text: str, sent: Sentence) -> Metric | None:
        before, after = masked[: m.start()], masked[m.end() :]
        if _NOT_A_QUANTITY_BEFORE.search(before):
            return None
        value = _number_value(m)
        scale_m = _SCALE_RE.match(after)
        scale = 1.0
        if scale_m:
            word = (scale_m.group("scale") or scale_m.group("tight") or "").lower()
            if scale_m.group("tight") and (m.group("word") or after[:1] == " "):
                scale_m = None  # "5 m" is five metres, not five million
            else:
                scale = SCALES[word]
                after = after[scale_m.end() :]
        if m.group("word") and scale_m is None and value < 2:
            return None  # "one of", "one person": not a quantity
        unit_m = _UNIT_RE.match(after)
        unit_text = unit_m.group("unit").lower() if unit_m else ""
        if unit_m:
            after = after[unit_m.end() :]
        cur_prefix = (m.group("cur") or "").strip()
        if _looks_like_year(m, bool(unit_m or scale_m or cur_prefix)):
            return None
        sign = -1.0 if m.group("sign") in ("-", "−") else 1.0
        number = sign * value * scale
        kind, unit = self._kind(
            number, unit_text, cur_prefix, scale_m is not None, masked, before, after
        )
        if kind is None or unit is None:
            if unit_text or cur_prefix:
                return None
            counted = self._count(m, before, after, scale_m is not None)
            if counted is None:
                return None
            kind, unit = "count", counted
        end = m.end() + (scale_m.end() if scale_m else 0) + (unit_m.end() if unit_m else 0)
        if kind == "count" and not unit_m:
            noun_at = masked.lower().find(unit, end)
            end = noun_at + len(unit) if noun_at >= 0 else end
        found_q = _qualifier(before)
        qualifier = found_q[0] if found_q else None
        start = found_q[1] if found_q else m.start()
        span_text = text[start:end].strip()
        return Metric(
            kind=kind,
            value=_clean(number),
            unit=unit,
            text=span_text,
            sentence=text,
            start=sent.start + m.start(),
            subject=_subject(before),
            qualifier=qualifier,
            basis=_basis(before, after) if kind in ("percent", "money", "count") else None,
            direction=_direction(before)
            if kind in ("percent", "money", "price", "index_points")
            else None,
            spans=[(sent.start + m.start(), sent.start + m.end())],
        )

    def _kind(
        self,
        number: float,
        unit_text: str,
        cur_prefix: str,
        scaled: bool,
        sentence: str,
        before: str,
        after: str,
    ) -> tuple[str | None, str | None]:
        if unit_text in ("%", "percent", "per cent") or unit_text.startswith("percentage point"):
            if re.match(r"^[\s\w-]{0,40}?\bpercentile\b", after, re.IGNORECASE):
                return "percentile", "pct"
            return "percent", "pct"
        if unit_text in ("points", "point", "pts") and not cur_prefix:
            return "index_points", "points"
        if unit_text in ("times", "x"):
            valuation = re.search(
                r"\b(P/?E|PE-TTM|P/?B|price[- ]to[- ]|valuation|multiple|earnings)", sentence, re.I
            )
            if valuation and not scaled:
                return "multiple", "x"
            counted = re.search(r"\b([a-z]+) (?:volume|count|number)\b", before, re.IGNORECASE)
            return "count", (counted.group(1).lower() + "s") if counted else "times"
        currency = CURRENCY_PREFIX.get(cur_prefix) if cur_prefix else None
        if currency is None and unit_text:
            for pattern, code in CURRENCY_SUFFIX:
                if re.fullmatch(pattern, unit_text):
                    currency = code
                    break
        if currency is None:
            return None, None
        if scaled or abs(number) >= 100_000:
            return "money", currency
        return "price", currency

    def _count(self, m: re.Match[str], before: str, after: str, scaled: bool) -> str | None:
        noun = _count_unit(after)
        if noun is None or noun in _NOT_COUNT_NOUNS:
            return None
        if m.group("word") and re.search(
            r"\b(the|these|those|its|their|our|both|all|his|her)\s*$", before, re.I
        ):
            return None  # "the two platforms" refers back; it does not measure
        if after.startswith("-") or before.endswith("-"):
            return None  # "5-month", "60-day": adjectives, not counts
        if noun in TIME_UNITS and not re.match(r"^\s+consecutive\b", after, re.IGNORECASE):
            return None  # durations ("past 10 years", "two weeks") are not metrics
        if noun == "sources" or (
            noun in _SOURCE_NOUNS
            and _SOURCING.search(
                after[after.lower().find(noun) + len(noun) :] if noun in after.lower() else ""
            )
        ):
            return None  # "two people familiar with the matter": who said it, not what

        return noun


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _attach_dates(metrics: list[Metric], dates: list[DateMention], offset: int) -> None:
    """A date belongs to the nearest metric of its sentence with no other metric between."""
    for d in dates:
        best: Metric | None = None
        best_gap = None
        for metric in metrics:
            pos = metric.start - offset
            lo, hi = sorted((pos, d.start))
            between = [x for x in metrics if x is not metric and lo < x.start - offset < hi]
            if between:
                continue
            gap = abs(pos - d.start)
            if best_gap is None or gap < best_gap:
                best, best_gap = metric, gap
        if best is not None and best.date is None:
            best.date = d.day.isoformat()


def _clean(value: float) -> float:
    """Scaled decimals without binary noise: 540.3 billion is 540300000000.0 exactly."""
    return float(f"{value:.10g}") if value == value else value


__all__ = ["Metric", "MetricExtractor"]
