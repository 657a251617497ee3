"""Text preparation: paragraphs without repeats or boilerplate, sentences, dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

BOILERPLATE_LINES = re.compile(
    r"^(related articles?|recommend(ed)?|read more|more from .{0,40}|advertisement|"
    r"sign up.{0,60}|subscribe.{0,60}|share this.{0,40})$",
    re.IGNORECASE,
)
_NOISE = re.compile(r",\s*opens new tab", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+(?=[\"“(‘A-Z0-9])|(?<=[。！？])")
_SPACE = re.compile(r"[ \t\u00a0\u3000]+")

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
DATE_RE = re.compile(
    r"\b(?P<month>January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?"
    r"\b(?:,?\s+(?P<year>(?:19|20)\d{2})\b)?"
)
NUMERIC_DATE_RE = re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}\b")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    paragraph: int
    start: int  # offset of the sentence in the cleaned body


@dataclass(frozen=True, slots=True)
class DateMention:
    start: int
    end: int
    day: date


def spaces(m: re.Match[str]) -> str:
    """A match as that many spaces: blanking keeps every offset of the text."""
    return " " * (m.end() - m.start())


def paragraphs(body: str) -> list[str]:
    """Paragraphs in order, each once: exact repeats and boilerplate headers dropped."""
    seen: set[str] = set()
    out: list[str] = []
    for raw in body.replace("\r\n", "\n").split("\n"):
        para = _SPACE.sub(" ", _NOISE.sub("", raw)).strip()
        if not para or BOILERPLATE_LINES.match(para):
            continue
        key = para.casefold()
        if key in seen:
            continue
        seen.add(key)
        out.append(para)
    return out


def sentences(paras: list[str]) -> list[Sentence]:
    out: list[Sentence] = []
    offset = 0
    for index, para in enumerate(paras):
        pos = 0
        for piece in _SENTENCE_END.split(para):
            if piece and piece.strip():
                start = para.find(piece, pos)
                out.append(Sentence(piece.strip(), index, offset + max(start, 0)))
                pos = max(start, 0) + len(piece)
        offset += len(para) + 1
    return out


def dates_in(text: str, published: date | None) -> list[DateMention]:
    """Dates like "November 5th" or "Aug 26, 2025"; the year comes from the publication
    date when the text gives none (the latest such date not after publication)."""
    out: list[DateMention] = []
    for m in DATE_RE.finditer(text):
        month = MONTHS[m.group("month").lower().rstrip(".")]
        day_of_month = int(m.group("day"))
        if m.group("year"):
            year = int(m.group("year"))
        elif published is not None:
            year = published.year
            if (month, day_of_month) > (published.month, published.day):
                year -= 1
        else:
            continue
        try:
            out.append(DateMention(m.start(), m.end(), date(year, month, day_of_month)))
        except ValueError:
            continue
    return out
