"""Claims that market data can check, in English and Chinese, and the check itself.

A claim is what a market wrap states about an instrument's quotes on a trading day: a daily
or weekly change in percent (``index_change_pct``) or points (``index_change_points``), a
close, intraday high or low, open or unqualified level (``index_level`` with ``field``), a
streak of up or down days or weeks (``streak``), a cross of a moving-average line
(``ma_cross``) and a drawdown between two dated levels (``drawdown``). The types and fields
are those of ``samples/articles/labels/README.md``. The Chinese rules live in
:mod:`streams.domain.articles.claims_zh`, written once in Simplified over ASCII digits.

Who a claim is about: the index (or registry stock) named before the predicate in the same
clause; a clause with no name of its own ("上涨234.53点或0.93%", "or 615 points") continues
the subject of the clause before it in the sentence; "the index", "the benchmark", 大市,
该指数 are the last index named in the paragraph. Names joined by 、/and before one predicate
("美团、腾讯涨逾1%") each get the claim, and 均 ("周K均连3红") gives it to every index the
sentence named. Any other subject in between (a sector, shares, the yuan, turnover, an index
windvane does not know) stops the claim: precision before recall.

Dates, the article-date rule:

* A date in the claim's clause ("on Aug 21", "8月21日", "今(21)日") or, failing that, the
  last one before it in the sentence, is the claim's day (``date_basis`` ``text``); a year
  is the publication's (the previous one when the day would be later than publication).
  Dates in parentheses annotate a phrase ("新高(2015/8/17)") and are not the sentence's day.
* "yesterday", 昨日, 昨天, 前一交易日 are the calendar day before the publication date
  (``yesterday``); weekdays ("on Monday", 周一, 星期一) are the latest such day on or before
  the publication date, 上周一 the one of the week before (``weekday``). Publication dates
  are taken in the instrument's exchange time zone.
* A claim with no date in its sentence is about the article's trading day
  (``publication``): the session of the publication date in the instrument's exchange time
  zone (the registry's ``timezone``, default Asia/Hong_Kong), or the one before it when the
  article came out before that session's close (the registry's ``session_close``: 16:00
  in Hong Kong, 15:00 in Shanghai); weekends are skipped. There is no holiday calendar
  yet: a day that turns out to have no session is read by the check as the last session
  before it. A bare publication date (no time) is that date's session.
* Intraday statements (盘中, 早盘, 开盘, 一度, "at midday", "in early trade", an open gap
  "高开0.4%", a high or low) are about the session in progress: the publication date's
  session even before its close (the last session when none has opened yet: no exchange
  opens are in the registry, 09:30 local is assumed). So is a change or level with no date
  and no close word ("收", "终场", "closed") in an article that came out while that session
  was open ("腾讯涨超2%" at 11:00 in Hong Kong): changes are marked ``field`` ``intraday``
  (``open`` for open gaps), and a level of an unfinished session is a ``level``, not a
  ``close``.
* "本周", "for the week", 周线 make a change weekly (``period`` ``week``, dated the claim's
  day); "上周", "last week" the week before (dated its Friday); 年内, 今年以来, "so far this
  year" make it ``ytd`` (against the last close of the year before). A change over any
  other span (since April, 近5个交易日, 累计 alone, in the quarter) or from another level
  (较年内高点, "from its peak") is not a claim windvane checks and is not extracted; a level
  with such a span ("a peak of 3572.70 in September") keeps ``date`` null.
* A streak that a predicate ends ("终止连四日走跌", "snapped a four-day losing streak") is
  dated the weekday before the claim's day (a streak of weeks: the week before's Friday).

Checks (:func:`check_claim`) are pure functions of the claim, a day-record lookup and the
latest final day per symbol; their tolerances are described at :func:`_within`.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import re._constants as _sre  # type: ignore[import-not-found]  # the parser's opcodes (3.11)
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from re._parser import parse as _sre_parse  # type: ignore[import-not-found]
from typing import Any

from streams.domain.articles.entities import hk_symbol
from streams.domain.articles.text import Sentence, dates_in, spaces
from streams.domain.instruments import Registry
from streams.domain.timeutil import DEFAULT_SESSION_CLOSE, DEFAULT_TIMEZONE, zone

NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_HK, _SH, _NY, _TK, _SE = (
    "Asia/Hong_Kong",
    "Asia/Shanghai",
    "America/New_York",
    "Asia/Tokyo",
    "Asia/Seoul",
)


@dataclass(frozen=True, slots=True)
class IndexDef:
    """An index as news names it: ``key`` is windvane's symbol when it has one."""

    key: str
    en: str  # regex, case-sensitive
    zh: str  # regex over normalized (Simplified, ASCII) text
    timezone: str = _HK
    close: time = DEFAULT_SESSION_CLOSE


_C15, _C1530 = time(15, 0), time(15, 30)
INDEXES: tuple[IndexDef, ...] = (
    IndexDef("HSTECH", r"Hang Seng (?:Tech|TECH|Technology|Internet Technology)(?: [Ii]ndex)?\b"
             r"|\bHSTECH\b|\b[Tt]he (?:Hong Kong )?tech(?:nology)?(?:-heavy)? (?:sub-)?(?:index|gauge|benchmark)\b",
             r"恒生科技指数|恒生科指|恒科指|科指|恒生科技(?=[涨跌升挫收报])"),
    IndexDef("HSCEI", r"Hang Seng China Enterprises? [Ii]ndex|\bHSCEI\b|\bChina Enterprises Index"
             r"|\bH-share index", r"恒生中国企业指数|国企指数|国指|H股指数"),
    IndexDef("HSI", r"\bHang Seng [Ii]ndex\b(?! futures)|\bHSI\b|\bHang Seng\b(?! ?(?:[A-Z0-9&]|[Ii]ndex))",
             r"恒生指数(?!公司)|恒指"),
    IndexDef("CSI300", r"\bCSI ?300(?: [Ii]ndex)?", r"沪深300(?:指数)?", _SH, _C15),
    IndexDef("SSE50", r"\bSSE 50(?: [Ii]ndex)?", r"上证50(?:指数)?", _SH, _C15),
    IndexDef("SSEC", r"\bShanghai Composite(?: [Ii]ndex)?|\bSSE Composite(?: [Ii]ndex)?"
             r"|\bShanghai (?:stock )?index\b",
             r"上证综合指数|上证综指|上证指数|沪综指|沪指|上证(?=[涨跌升挫收])", _SH, _C15),
    IndexDef("SZSC", r"\bShenzhen Component(?: [Ii]ndex)?|\bShenzhen (?:stock )?index\b",
             r"深证成份指数|深证成分指数|深证成指|深成指", _SH, _C15),
    IndexDef("CHINEXT", r"\bChiNext(?: [Ii]ndex)?(?! board)", r"创业板指(?:数)?", _SH, _C15),
    IndexDef("STAR50", r"\bSTAR ?50(?: [Ii]ndex)?", r"科创50(?:指数)?", _SH, _C15),
    IndexDef("CSIA500", r"\bCSI A500(?: [Ii]ndex)?", r"中证A500(?:指数)?", _SH, _C15),
    IndexDef("NDX", r"\bNasdaq[- ]100(?: [Ii]ndex)?", r"纳斯达克100(?:指数)?|纳指100", _NY),
    IndexDef("IXIC", r"\bNasdaq(?: Composite)?(?: [Ii]ndex)?",
             r"纳斯达克综合指数|纳斯达克指数|纳指|纳斯达克", _NY),
    IndexDef("SPX", r"\bS&P ?500(?: [Ii]ndex)?", r"标普500(?:指数)?|标普", _NY),
    IndexDef("DJI", r"\bDow Jones Industrial Average|\bDow Jones(?: [Ii]ndex)?|\bthe Dow\b",
             r"道琼斯工业平均指数|道琼斯指数|道指|道琼斯", _NY),
    IndexDef("N225", r"\bNikkei(?: 225)?(?: (?:share )?average| [Ii]ndex)?",
             r"日经225(?:指数)?|日经平均指数|日经指数|日经", _TK, _C1530),
    IndexDef("KOSPI", r"\bKOSPI\b|\bKospi\b", r"韩国综合指数|韩综指|KOSPI", _SE, _C1530),
)  # fmt: skip
# "the Hang Seng Consumer Index": an index all the same (a claim without a symbol)
_HANG_SENG_OTHER = re.compile(r"\bHang Seng(?: [A-Z][A-Za-z&-]*){1,4} [Ii]ndex\b")
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}  # fmt: skip


# -- what the grammars find ---------------------------------------------------------------
@dataclass(slots=True)
class Mention:
    start: int
    end: int
    kind: str  # index | stock | anaphora | block | object (an index after "on", "in", "led")
    key: str | None = None  # index key, or a stock's symbol
    code: str | None = None  # a stock's HK code as written
    was: str | None = None  # an object's kind before it was found to be one


@dataclass(frozen=True, slots=True)
class DateRef:
    start: int
    end: int
    basis: str  # text | today | yesterday | weekday | unresolved ("that day")
    day: date | None = None
    weekday: int | None = None  # 0 = Monday
    weeks_back: int = 0


@dataclass(slots=True)
class Pred:
    """A predicate: what is said, without whom it is said of."""

    start: int
    end: int
    type: str
    params: dict[str, Any]
    marks: frozenset[str] = frozenset()  # close | intraday | open | ended | all | week


@dataclass(slots=True)
class Subject:
    name: str  # as written
    key: str | None
    kind: str  # index | stock
    symbol: str | None


# -- the claim ----------------------------------------------------------------------------
@dataclass
class Claim:
    type: str
    instrument: str | None
    text: str
    params: dict[str, Any] = field(default_factory=dict)
    symbol: str | None = None
    key: str | None = None  # index key or stock symbol (dedupe), not published

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
            **{k: v for k, v in self.params.items() if not (k == "qualifier" and v is None)},
        }


def printed(text: str) -> tuple[float, int, int]:
    """(value, decimals, trailing zeros of a whole number) of a number as printed."""
    raw = text.replace(",", "")
    if "." in raw:
        return float(raw), len(raw.split(".")[1]), 0
    return float(raw), 0, len(raw) - len(raw.rstrip("0")) if raw.strip("0") else 0


def number_params(text: str, sign: int = 1) -> dict[str, Any]:
    value, decimals, zeros = printed(text)
    out: dict[str, Any] = {"value": sign * value if value else 0.0, "decimals": decimals}
    if zeros:
        out["zeros"] = zeros
    return out


# -- English -------------------------------------------------------------------------------
_Q = (
    r"(?P<{n}>about|around|roughly|approximately|some|nearly|almost|close to|just under|"
    r"just over|over|more than|upwards of|in excess of|less than|under)\s+"
)
_QUALIFIER = {
    "about": "about", "around": "about", "roughly": "about", "approximately": "about",
    "some": "about", "nearly": "nearly", "almost": "nearly", "close to": "nearly",
    "just under": "nearly", "just over": "over", "over": "over", "more than": "over",
    "upwards of": "over", "in excess of": "over", "less than": "under", "under": "under",
    "逾": "over", "超": "over", "超过": "over", "多": "over", "以上": "over", "有余": "over",
    "近": "nearly", "接近": "nearly", "将近": "nearly", "约": "about", "左右": "about",
    "不足": "under", "不到": "under",
}  # fmt: skip
_EN_UP = (
    r"rose|rise|rises|rising|gained|gain|gains|gaining|climbed|climbs|climbing|advanced|"
    r"advances|advancing|jumped|jumps|jumping|surged|surges|surging|rallied|rallies|rallying|"
    r"added|adding|soared|soaring|rebounded|rebounding|edged up|edged higher|ticked up|"
    r"inched up|inched higher|edging up|edging higher|inching up|inching higher|ticking up|"
    r"firmed|rocketed|rocketing|spiked|leapt|leaped|leaping|popped|"
    r"bounced|bouncing|recovered|recovering|zoomed|sprang|powered|shot up|picked up|up"
)
_EN_DOWN = (
    r"fell|falls|falling|dropped|drops|dropping|declined|declines|declining|lost|loses|losing|"
    r"slid|slides|sliding|slipped|slips|slipping|sank|sinks|sinking|tumbled|tumbles|tumbling|"
    r"plunged|plunges|plunging|slumped|slumps|slumping|shed|sheds|shedding|eased|eases|easing|"
    r"retreated|retreats|retreating|dipped|dips|dipping|edged down|edged lower|ticked down|"
    r"edging down|edging lower|inching down|inching lower|ticking down|"
    r"weakened|plummeted|plummeting|plummets|dived|dove|diving|dives|crashed|crashing|"
    r"tanked|tanking|sagged|sagging|skidded|skidding|nosedived|gave up|gave back|down"
)
_EN_UNIT = r"(?:%|\s?percent\b|\s?per cent\b|\s?pct\b|\s?pc\b|\s?points?\b|\s?pts?\b)"
_EN_LEVEL = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{3,6}(?:\.\d+)?"
_EN_CLOSE_VERB = (
    r"closed|ended|finished|settled|closing|ending|finishing|settling|to close|to end|to finish|"
    r"to settle"
)
_EN_CHANGE = re.compile(
    r"(?<![A-Za-z])"  # not inside a word: the engine skips most positions (2x)
    rf"(?P<close>\b(?:{_EN_CLOSE_VERB})\s+(?:the\s+(?:day|session|week)\s+)?)?"
    rf"(?:\b(?P<verb>{_EN_UP}|{_EN_DOWN})\s+(?:by\s+)?(?:{_Q.format(n='q')})?(?P<num>{NUM}){_EN_UNIT}"
    rf"|(?:{_Q.format(n='qb')})?(?P<numb>{NUM}){_EN_UNIT}\s+(?P<dirb>higher|lower|up|down)\b)"
    rf"(?:\s*,?\s*(?:or|and)\s+(?:{_Q.format(n='q2')})?(?P<num2>{NUM}){_EN_UNIT},?)?"
    r"(?:\s+(?:on|last)\s+(?:Monday|Tuesday|Wednesday|Thursday|Friday)|\s+yesterday"
    r"|\s+(?:for|on|over) the (?:week|day|session)|\s+this week)?"
    rf"(?:\s*,?\s*(?:to|at|closing at|ending at|finishing at|settling at)\s+"
    rf"(?:(?:close|end|finish|settle)\s+at\s+)?(?P<cur>HK\$|HKD ?|US\$|\$)?\s?(?P<level>{NUM})"
    r"(?!\s*(?:%|percent|per cent|pc\b|-day|-week|\d)))?",
    re.IGNORECASE,
)
# "an 8.6% surge", "the 626.86-point advance", "a 3 per cent drop"
_EN_CHANGE_NOUN = re.compile(
    rf"\b(?:a|an|the|its)\s+(?:{_Q.format(n='q')})?(?P<num>{NUM})(?P<unit>%|-point|-pt| percent| per cent|pc)\s+"
    r"(?P<noun>gain|rise|advance|jump|surge|rally|rebound|climb|increase|leap|"
    r"drop|fall|decline|slide|loss|plunge|slump|tumble|retreat|dip|decrease|slump)\b",
    re.IGNORECASE,
)
_EN_UP_NOUNS = {"gain", "rise", "advance", "jump", "surge", "rally", "rebound", "climb",
                "increase", "leap"}  # fmt: skip
_EN_UNIT_OF = re.compile(r"%|percent|per cent|pct|pc\b", re.IGNORECASE)
_EN_CUR = r"(?P<cur>HK\$|HKD ?|US\$|\$)?\s?"  # a price level: any number; else an index level
_EN_CLOSE_AT = re.compile(
    rf"\b(?:{_EN_CLOSE_VERB}|close|end|finish|settle)\s+(?:the\s+(?:day|session)\s+)?"
    rf"(?:at|on)\s+(?:{_Q.format(n='q')})?{_EN_CUR}(?P<num>{NUM})(?!\s*(?:%|percent|-day|\d))",
    re.IGNORECASE,
)
_EN_THRESHOLD = re.compile(
    rf"\b(?:{_EN_CLOSE_VERB}|held|holding|stayed|staying)\s+(?P<dir>above|below|under|over)\s+"
    rf"(?:the\s+)?(?P<num>{_EN_LEVEL})(?:[- ]points?)?(?:[- ](?:mark|level|line))?"
    r"(?!\s*(?:%|percent|-day|\d))",
    re.IGNORECASE,
)
_EN_HIGH_LOW = re.compile(
    rf"\b(?:(?:intraday|session|day's|daily)\s+|(?:touching|touched|hitting|hit|reaching|reached|"
    rf"marking|set|setting)\s+(?:a|an|its)\s+(?:intraday\s+|session\s+)?)(?P<what>high|low)\s+"
    rf"(?:of\s+)?{_EN_CUR}(?P<num>{NUM})(?!\s*(?:%|percent|-day|\d))",
    re.IGNORECASE,
)
_EN_OPEN_VERB = r"opened|opening|started|starting|began|beginning"
_EN_OPEN = re.compile(
    rf"\b(?:{_EN_OPEN_VERB})\s+(?:the\s+(?:day|session)\s+)?(?:(?:up|down|higher|lower|flat|"
    rf"(?:{_Q.format(n='q')})?(?P<gap>{NUM})%\s+(?P<dir>higher|lower|up|down))\s+)?"
    rf"at\s+{_EN_CUR}(?P<num>{NUM})(?!\s*(?:%|percent|\d))",
    re.IGNORECASE,
)
_EN_OPEN_GAP = re.compile(
    rf"\b(?:{_EN_OPEN_VERB})\s+(?:the\s+(?:day|session)\s+)?(?:(?P<verb>up|down)\s+(?P<num>{NUM})%"
    rf"|(?:{_Q.format(n='qb')})?(?P<numb>{NUM})%\s+(?P<dirb>higher|lower|up|down))",
    re.IGNORECASE,
)
# the levels of the seed article: "a temporary low of 2580.36 points"
_EN_LEVEL_NOUN = re.compile(
    rf"\b(?P<what>low|high|peak|trough|level|closing level|close|record)\s+(?:of\s+|at\s+)(?:{_Q.format(n='q')})?"
    rf"(?P<num>{NUM})\s*points",
    re.IGNORECASE,
)
_MA_WINDOWS = (
    r"(?P<{n}>\d{{1,3}}[- ]day(?:\s*(?:,|and|&|as well as)\s*(?:its\s+|the\s+)?\d{{1,3}}[- ]day)*)\s+"
    r"(?:simple\s+)?(?:moving[- ]averages?|MAs?\b|averages?|lines?)"
)
_EN_MA = re.compile(
    r"(?<![A-Za-z])"  # not inside a word: the engine skips most positions (2x)
    r"\b(?P<verb>dropped|dropping|drops|fell|falls|falling|broke|breaking|breaks|slipped|slipping|"
    r"crossed|crossing|moved|moving|plunged|rose|rising|climbed|climbing|went|dipped|dipping|sank|"
    r"closed|ended|finished|jumped|surged|held|holding|stayed|staying|was|is|lifted|lifting|"
    r"pushed|pushing|sent|sending|dragged|dragging|pulled|pulling|returned|returning|"
    r"(?:fell|falling|broke|breaking|dropped|dropping|slipped|slipping|sliced|slicing|crashed|"
    r"plunged|cut|cutting|punched|pushed|pushing)\s+through)\s+(?:(?:the|it|its|them|the gauge|"
    r"the index|the benchmark)\s+)?(?:back\s+)?(?:(?P<dir>below|under|beneath|above|over)\s+)?"
    rf"(?:both\s+)?(?:the|its|their)\s+(?:both\s+)?(?:its\s+|their\s+)?{_MA_WINDOWS.format(n='n')}"
    r"|\b(?P<verb2>reclaimed|reclaiming|regained|regaining|recaptured|recapturing|lost|losing|"
    r"breached|breaching|cleared|clearing|topped|topping|retook|retaking|surpassed|surpassing)\s+"
    rf"(?:both\s+)?(?:the|its|their)\s+(?:both\s+)?{_MA_WINDOWS.format(n='n2')}",
    re.IGNORECASE,
)
_EN_COUNT = r"\d{1,2}|" + "|".join(_WORD_NUMBERS)
_EN_STREAK = re.compile(
    r"(?<![A-Za-z])"  # not inside a word: the engine skips most positions (2x)
    # "for a third straight session", "its fourth consecutive weekly gain"
    # "for a second day", "a fourth session of losses"
    rf"\b(?:(?P<for>for|in)\s+)?(?:a|the|its)\s+(?P<ord>{'|'.join(_ORDINALS)}|\d{{1,2}}(?:st|nd|rd|th))\s+"
    r"(?P<adj>(?:straight|consecutive|successive)\s+)?(?:(?P<what0>winning|losing|rising|falling)\s+)?"
    r"(?P<unit>sessions?|days?|trading days?|weeks?|weekly|daily)"
    r"(?:\s+(?:of\s+)?(?P<what>gains?|rises?|advances?|losses|declines?|falls?|drops?))?"
    # "three straight sessions of gains", "nearly 6 consecutive days of continuous rebound"
    rf"|\b(?:{_Q.format(n='q')})?(?P<n>{_EN_COUNT})\s+(?:straight|consecutive|successive)\s+"
    r"(?P<unit2>sessions|days|trading days|weeks|daily|weekly)(?:\s+(?:of\s+)?(?:continuous\s+|consecutive\s+)?"
    r"(?P<what2>rebound|gains?|rises?|increases?|advances?|losses|declines?|falls?|drops?))?"
    # "a four-day losing streak", "snapped a three-week winning streak"
    rf"|\b(?P<ended>snapped|ended|broke|halted|stopped|snapping|ending|breaking|halting)?\s*(?:a|an|its)?\s*"
    rf"(?P<n3>{_EN_COUNT})[- ](?P<unit3>day|session|week)\s+(?P<what3>winning|losing|rising|falling)\s+"
    r"(?:streak|run|spree)",
    re.IGNORECASE,
)
_EN_UP_WORDS = re.compile(
    rf"\b(?:{_EN_UP}|gains?|rises?|advances?|rebound|increases?|winning|rising|higher)\b",
    re.IGNORECASE,
)
_EN_DOWN_WORDS = re.compile(
    rf"\b(?:{_EN_DOWN}|losses|declines?|falls?|drops?|losing|lower)\b", re.IGNORECASE
)
_EN_DRAWDOWN = re.compile(
    rf"\b(?:downside|drawdown|decline|fall|drop|correction|loss)\s+(?:of\s+)?(?P<num>{NUM})%",
    re.IGNORECASE,
)
_EN_WEEKDAYS = {d: i for i, d in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))}  # fmt: skip
_EN_WEEKDAY = re.compile(
    r"\b(?P<last>last\s+)?(?P<d>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?:'s)?\b"
)
_EN_RELATIVE = re.compile(r"\b(?P<w>yesterday|today)\b", re.IGNORECASE)
_ISO_DATE = re.compile(
    r"(?<![\d/.-])(?P<y>20\d{2})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\d/.-])"
)


# "its highest close since July 2021", "the biggest one-day gain since 2008": how notable the
# day is, not the span of its change
_RECORD_SINCE = re.compile(
    r"\b(?:highest|lowest|best|worst|biggest|largest|strongest|weakest|sharpest|steepest|"
    r"heaviest|first)\b[^,;.]{0,40}?\b(?:since|in (?:more than |over |nearly )?(?:a |\w+ )?"
    r"(?:years?|months?|weeks?|decades?))\b[^,;.]*"
    r"|,\s*which\b[^,;]*(?=,)",  # "Mixue, which listed in March, fell 13%": about Mixue
    re.IGNORECASE,
)


class Grammar:
    """One language's patterns; the engine in :class:`ClaimExtractor` is shared."""

    lang = "en"
    _any_index: re.Pattern[str] | None = None
    record_since: re.Pattern[str] = _RECORD_SINCE
    clause = re.compile(r";|,|\s(?:while|whereas|but|as|after|before)\s")
    # what may stand between a subject named in an earlier clause and its predicate; the
    # timing and span markers below are added to it (their meaning is read separately)
    filler_words = (
        r"\W|\d|\b(?:and|or|but|then|to|before|after|also|it|its|which|while|as|the|a|an|"
        r"day|session|week|on|for|at|close|end|of|by|was|were|is|has|had|have|been|later|"
        r"eventually|still|further|finally|overall|having|marking|extending|posting|snapping|"
        r"ending|closing|finishing|settling|trading|itself|points?|percent|with|gain|loss|"
        r"rising|falling|respectively|hitting|hit|reaching|reached|touching|touched|setting|"
        r"temporary|new|fresh|record|losses|gains|declines|rises|falls|their|recovering|"
        r"rebounding|reversing|reversed|paring|pared|trimming|trimmed|extending|turned|turning|"
        r"swung|swinging|went on|managed|later|but|despite|though|although)\b"
    )
    list_sep = re.compile(r"\s*(?:,|and|,\s*and|&)\s*")
    markers: dict[str, re.Pattern[str]] = {
        "close": re.compile(
            rf"\b(?:{_EN_CLOSE_VERB}|at the close|at close|by the close|close of trade)\b",
            re.IGNORECASE,
        ),
        "intraday": re.compile(
            r"\b(?:midday|mid-day|noon|lunch|(?:in |during )?(?:early|morning|afternoon) "
            r"(?:trade|trading|deals|session)|intraday|at one point|briefly|at the open|opened|"
            r"as much as|as of \d)\b",
            re.IGNORECASE,
        ),
        "weak_intraday": re.compile(
            r"\b(?:was|is|were|are)\s+(?:up|down|trading|last)\b|\btrading\s+(?:higher|lower|up|down)\b",
            re.IGNORECASE,
        ),
        "week": re.compile(
            r"\b(?:for|on|over) the week\b|\bthis week\b|\bweekly\b|\bweek-on-week\b|"
            r"\b(?:closed|ended|finished) the week\b|\b(?:straight|consecutive|successive) weeks?\b",
            re.IGNORECASE,
        ),
        "lastweek": re.compile(r"\blast week\b", re.IGNORECASE),
        "ytd": re.compile(
            r"\b(?:this year|so far this year|year[- ]to[- ]date|YTD|since the (?:start|beginning) "
            r"of (?:the|this) year)\b",
            re.IGNORECASE,
        ),
        "day": re.compile(
            r"\b(?:on the day|for the day|on the session|today|on (?:Monday|Tuesday|Wednesday|"
            r"Thursday|Friday))\b",
            re.IGNORECASE,
        ),
        "nonday": re.compile(
            r"\b(?:this|last|the|a|its) (?:year|month|quarter)\b|\byear[- ]to[- ]date\b|\bYTD\b|"
            r"\bso far\b|\bsince\b|\bduring the\b|\bcumulative\b|"
            r"\bover the (?:past |last )?(?:\w+ )?(?:sessions|trading days|days)\b|\bin the (?:first|second|third|fourth|past|last)\b|"
            r"\bquarter(?:ly)?\b|\bmonthly\b|\bannual\b|\bover the past\b|\ba year (?:ago|earlier)\b|"
            r"\byear-on-year\b|\bfor the (?:month|year)\b|\brecently\b|\bearlier this\b|"
            r"\bin (?:January|February|March|April|May|June|July|August|September|October|"
            r"November|December)\b|\b(?:two|three|four|six|\d+)[- ](?:month|year)s?\b",
            re.IGNORECASE,
        ),
        "cumul": re.compile(r"(?!)"),
        "versus": re.compile(
            r"\b(?:from|compared (?:with|to)|versus|vs\.?|off|below|above)\s+(?:its|a|the|their)\b",
            re.IGNORECASE,
        ),
    }

    def __init__(self, stocks: list[tuple[str, str]]) -> None:
        words = [self.filler_words, *(m.pattern for m in self.markers.values())]
        flags = re.IGNORECASE if self.lang == "en" else 0
        self._filler = re.compile("|".join(f"(?:{w})" for w in words), flags)
        self._indexes = [(d.key, re.compile(d.en)) for d in INDEXES if d.en]
        parts = [rf"(?<![\w]){re.escape(a)}(?![\w])" for a, _ in stocks]
        firsts = "".join(sorted({re.escape(a[0]) for a, _ in stocks}))
        # a class of the first letters lets the engine skip where no name starts (10x)
        self._stock_re = re.compile(f"(?=[{firsts}])(?:{'|'.join(parts)})") if parts else None
        self._stock_of = {a: s for a, s in stocks}

    def prepare(self, text: str) -> str:
        return text

    def is_filler(self, text: str) -> bool:
        """Only words that join a predicate to a subject named before? (Token by token, no
        backtracking: a regex ``(?:a|b)*`` over overlapping words is exponential.)"""
        return not self._filler.sub("", text).strip()

    # -- mentions --
    _block = re.compile(
        r"\b(?:shares?|stocks?|equities|sectors?|sub-index|futures|yuan|dollar|yen|euro|gold|"
        r"oil|crude|bitcoin|yields?|bonds?|treasur(?:y|ies)|revenue|sales|profits?|earnings|"
        r"prices?|inflation|CPI|PPI|GDP|PMI|exports|imports|turnover|volume|ETFs?|funds?|"
        r"developers|makers|names|firms|companies|lenders|insurers|miners|automakers|"
        r"the company|the group|the firm|the stock)\b"
        r"|\b(?:[A-Z][\w&.-]*\s+){1,5}[Ii]ndex\b"  # an index windvane does not know
        r"|\bthe [a-z-]+(?: [a-z-]+)? index\b"
    )
    _anaphora = re.compile(
        r"\b(?:the|its) (?:benchmark(?: index| gauge)?|index|gauge|barometer|broader index|"
        r"main index|key index)\b",
        re.IGNORECASE,
    )
    _stock_tail = re.compile(r"(?:'s)?\s+(?:shares|stock|ADRs?|H-shares)\b|\s*\((?:[A-Z0-9.]+)\)")
    _object = re.compile(
        r"\b(?:in|of|on|to|from|than|into|against|across|among|for|by|over|outperforming|"
        r"underperforming|tracking|beating|lagging|led|leading|lifted|lifting|dragged|dragging|"
        r"pushed|pushing|propelled|propelling|weighed on|weighing on|helped|helping|"
        r"outpaced|outpacing|outperformed|underperformed)\s+(?:the\s+(?:benchmark\s+|broader\s+|"
        r"blue-chip\s+|main\s+)?)?$",
        re.IGNORECASE,
    )
    _code = re.compile(r"\(\s*(?:HK:?\s*)?(?P<code>\d{4,5})(?:[.-]HK)?\s*\)")

    def mentions(self, norm: str) -> list[Mention]:
        found: list[Mention] = []
        if self._any_index is None:  # one pass over every index name, then each in turn
            self._any_index = _guarded([rx for _, rx in self._indexes])
        if self._any_index.search(norm):
            for key, rx in self._indexes:
                found += [Mention(m.start(), m.end(), "index", key) for m in rx.finditer(norm)]
        found += [
            Mention(m.start(), m.end(), "index", None) for m in _HANG_SENG_OTHER.finditer(norm)
        ]
        found += self._stocks(norm)
        found += [Mention(m.start(), m.end(), "anaphora") for m in self._anaphora.finditer(norm)]
        if not found:
            return []  # nobody a claim could be about: what would block one does not matter
        for m in found:  # "the biggest weight in the index": an object, not who moved
            if (
                m.kind in ("index", "anaphora")
                and self._object.search(norm, 0, m.start)
                and not re.match(r"\s*,?\s*which\b", norm[m.end :])  # "..., which fell 1%"
            ):
                m.kind, m.was = "object", m.kind  # neither who moved nor a stop: "led the index"
        found += [Mention(m.start(), m.end(), "block") for m in self._block.finditer(norm)]
        return _without_overlaps(found)

    def _stocks(self, norm: str) -> list[Mention]:
        out: list[Mention] = []
        if self._stock_re is not None:
            for m in self._stock_re.finditer(norm):
                end = m.end()
                tail = self._stock_tail.match(norm, end)
                if tail:
                    end = tail.end()
                out.append(Mention(m.start(), end, "stock", self._stock_of[m.group(0)]))
        for m in self._code.finditer(norm):
            if not any(s.start <= m.start() < s.end for s in out):
                start = _name_start(norm, m.start())
                if start < m.start():
                    sym = hk_symbol(m.group("code"))
                    out.append(Mention(start, m.end(), "stock", sym, m.group("code")))
        return out

    # -- dates --
    def dates(self, norm: str, published: date | None) -> list[DateRef]:
        out = [DateRef(d.start, d.end, "text", d.day) for d in dates_in(norm, published)]
        for m in _ISO_DATE.finditer(norm):
            day = _safe_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            if day:
                out.append(DateRef(m.start(), m.end(), "text", day))
        for m in _EN_WEEKDAY.finditer(norm):
            wd = _EN_WEEKDAYS[m.group("d").lower()]
            out.append(DateRef(m.start(), m.end(), "weekday", weekday=wd))
        for m in _EN_RELATIVE.finditer(norm):
            basis = "yesterday" if m.group("w").lower() == "yesterday" else "today"
            out.append(DateRef(m.start(), m.end(), basis))
        return [d for d in out if not _parenthesized(norm, d.start, d.end)]

    # -- predicates --
    def predicates(self, norm: str) -> list[Pred]:
        preds: list[Pred] = []
        for m in _EN_CHANGE.finditer(norm):
            preds += self._change(m)
        for m in _EN_OPEN_GAP.finditer(norm):
            up = (m.group("verb") or m.group("dirb")).lower() in ("up", "higher")
            params = number_params(m.group("num") or m.group("numb"), 1 if up else -1)
            params["qualifier"] = _QUALIFIER.get((m.group("qb") or "").lower())
            preds.append(
                Pred(m.start(), m.end(), "index_change_pct", {**params, "field": "open"},
                     frozenset({"open"}))
            )  # fmt: skip
        for m in _EN_CLOSE_AT.finditer(norm):
            if _priced(m):
                q = _QUALIFIER.get((m.group("q") or "").lower())
                preds.append(_level(m, "close", q, {"close"}))
        for m in _EN_THRESHOLD.finditer(norm):
            q = "over" if m.group("dir").lower() in ("above", "over") else "under"
            preds.append(_level(m, "close", q, {"close"}))
        for m in _EN_HIGH_LOW.finditer(norm):
            if _priced(m):
                preds.append(_level(m, m.group("what").lower(), None, {"intraday_level"}))
        for m in _EN_OPEN.finditer(norm):
            if not _priced(m):
                continue
            preds.append(_level(m, "open", None, {"open"}))
            if m.group("gap"):  # "opened 0.4% higher at 25,205": the gap too
                up = m.group("dir").lower() in ("higher", "up")
                params = {**number_params(m.group("gap"), 1 if up else -1), "field": "open"}
                preds.append(
                    Pred(m.start(), m.end(), "index_change_pct", params, frozenset({"open"}))
                )
        for m in _EN_LEVEL_NOUN.finditer(norm):
            what = m.group("what").lower()
            fld = "close" if what.startswith("clos") else "level"
            q = _QUALIFIER.get((m.group("q") or "").lower())
            pred = _level(m, fld, q, {"close"} if fld == "close" else {"noun_level"})
            pred.params["note"] = what
            preds.append(pred)
        for m in _EN_MA.finditer(norm):
            preds += self._ma(m)
        for m in _EN_CHANGE_NOUN.finditer(norm):
            up = m.group("noun").lower() in _EN_UP_NOUNS
            pct = "point" not in m.group("unit") and "pt" not in m.group("unit")
            preds.append(_change_pred(m.start(), m.end(), pct, m.group("num"), 1 if up else -1,
                                      m.group("q"), set()))  # fmt: skip
        for m in _EN_STREAK.finditer(norm):
            streak = self._streak(m, norm)
            if streak is not None:
                preds.append(streak)
        for m in _EN_DRAWDOWN.finditer(norm):
            preds.append(
                Pred(m.start(), m.end(), "drawdown", {"value_pct": printed(m.group("num"))[0]})
            )
        return _first_of_overlaps(preds)

    def _change(self, m: re.Match[str]) -> list[Pred]:
        verb = (m.group("verb") or "").lower()
        if verb:
            up = re.fullmatch(_EN_UP, verb, re.IGNORECASE) is not None
            num, q = m.group("num"), m.group("q")
            unit_text = m.group(0)[m.end("num") - m.start() :]
        else:
            if not m.group("close"):  # "1.2% higher" needs "closed"/"ended" before it
                return []
            up = m.group("dirb").lower() in ("higher", "up")
            num, q = m.group("numb"), m.group("qb")
            unit_text = m.group(0)[m.end("numb") - m.start() :]
        if re.match(r"\s?points?|\s?pts?", unit_text) and re.search(
            r"percentage\s*$", m.string[: m.start("num") if verb else m.start("numb")]
        ):
            return []
        marks = {"close"} if m.group("close") else set()
        sign = 1 if up else -1
        out: list[Pred] = []
        first_pct = bool(_EN_UNIT_OF.match(unit_text.strip()))
        out.append(_change_pred(m.start(), m.end(), first_pct, num, sign, q, marks))
        if m.group("num2"):
            second_pct = bool(_EN_UNIT_OF.search(m.group(0)[m.end("num2") - m.start() :][:9]))
            if second_pct != first_pct:
                out.append(
                    _change_pred(
                        m.start(), m.end(), second_pct, m.group("num2"), sign, m.group("q2"), marks
                    )
                )
        level = m.group("level")
        if level and (m.group("cur") or re.fullmatch(_EN_LEVEL, level)):  # 25,100 or HK$27.2
            params = number_params(level)
            out.append(
                Pred(m.start(), m.end(), "index_level", {**params, "field": "close"},
                     frozenset(marks | {"follows_change"}))
            )  # fmt: skip
        return out

    def _ma(self, m: re.Match[str]) -> list[Pred]:
        if m.group("verb2"):
            verb, n = m.group("verb2").lower(), m.group("n2")
            direction = "below" if verb.startswith(("lost", "losing", "breach")) else "above"
            holds = False
        else:
            verb, n = m.group("verb").lower(), m.group("n")
            through = verb.endswith("through")
            if m.group("dir"):
                below = m.group("dir").lower() in ("below", "under", "beneath")
            elif through:  # "fell through", "broke through": the verb says which way
                below = _EN_DOWN_WORDS.search(verb) is not None or (
                    verb.startswith(("broke", "breaking", "sliced", "slicing", "cut", "punched"))
                    and not _EN_UP_WORDS.search(m.string[max(0, m.start() - 40) : m.start()])
                )
            else:
                return []
            direction = "below" if below else "above"
            holds = verb in ("held", "holding", "stayed", "staying", "was", "is")
        out = []
        for window in re.findall(r"\d{1,3}", n):  # "its 10-day and 20-day moving averages"
            params: dict[str, Any] = {"window": int(window), "direction": direction}
            if holds:
                params["holds"] = True
            out.append(Pred(m.start(), m.end(), "ma_cross", params, frozenset({"ma"})))
        return out

    def _streak(self, m: re.Match[str], norm: str) -> Pred | None:
        q = None
        if m.group("ord"):
            if not (m.group("adj") or m.group("for") or m.group("what") or m.group("what0")):
                return None  # "on the second day of trading" counts no streak
            raw = m.group("ord").lower()
            count = _ORDINALS.get(raw) or int(re.sub(r"\D", "", raw))
            unit, what = m.group("unit").lower(), m.group("what") or m.group("what0")
        elif m.group("n"):
            raw = m.group("n").lower()
            count = int(raw) if raw.isdigit() else _WORD_NUMBERS[raw]
            unit, what = m.group("unit2").lower(), m.group("what2")
            q = _QUALIFIER.get((m.group("q") or "").lower())
        else:
            raw = m.group("n3").lower()
            count = int(raw) if raw.isdigit() else _WORD_NUMBERS[raw]
            unit, what = m.group("unit3").lower(), m.group("what3")
        if what:
            up = _EN_UP_WORDS.fullmatch(what) is not None
        else:  # the clause's verb says which way: "rose for a third straight session"
            start = max(norm.rfind(",", 0, m.start()), norm.rfind(";", 0, m.start()), 0)
            around = norm[start : m.end() + 30]
            ups, downs = _EN_UP_WORDS.search(around), _EN_DOWN_WORDS.search(around)
            if bool(ups) == bool(downs):
                return None
            up = bool(ups)
        if not 1 < count <= 30:
            return None
        params: dict[str, Any] = {
            "direction": "up" if up else "down",
            "count": count,
            "unit": "weeks" if unit.startswith("week") else "days",
            "qualifier": q,
        }
        marks = {"ended"} if m.group("ended") else set()
        return Pred(m.start(), m.end(), "streak", params, frozenset(marks))


def _priced(m: re.Match[str]) -> bool:
    """A level: an index level (25,100; 3800.5) or, after a currency, any price (HK$27.2)."""
    return bool(m.group("cur")) or re.fullmatch(_EN_LEVEL, m.group("num")) is not None


def _change_pred(
    start: int, end: int, pct: bool, num: str, sign: int, q: str | None, marks: set[str]
) -> Pred:
    params = number_params(num, sign)
    params["qualifier"] = _QUALIFIER.get((q or "").strip().lower())
    kind = "index_change_pct" if pct else "index_change_points"
    return Pred(start, end, kind, params, frozenset(marks))


def _level(m: re.Match[str], fld: str, q: str | None, marks: set[str]) -> Pred:
    params = number_params(m.group("num"))
    params["field"] = fld
    params["qualifier"] = q
    return Pred(m.start(), m.end(), "index_level", params, frozenset(marks))


def _name_start(text: str, pos: int) -> int:
    """Where the name before a "(0700.HK)" code starts: Han characters or capitalised words."""
    i = pos
    while i > 0 and text[i - 1] == " ":
        i -= 1
    j = i
    while j > 0 and (
        "\u4e00" <= text[j - 1] <= "\u9fff" or text[j - 1].isalnum() or text[j - 1] in "-&"
    ):
        j -= 1
        if i - j >= 12:
            break
    return j if j < i else pos


def _without_overlaps(found: list[Mention]) -> list[Mention]:
    """Longest mention first; a shorter one inside it is dropped."""
    kept: list[Mention] = []
    rank = {"stock": 0, "index": 0, "anaphora": 1, "block": 2, "object": 2}
    for m in sorted(found, key=lambda x: (rank[x.kind], -(x.end - x.start), x.start)):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda x: x.start)


def _first_of_overlaps(preds: list[Pred]) -> list[Pred]:
    """Predicates in text order; one that overlaps a longer one is the same words read twice."""
    kept: list[Pred] = []
    for p in sorted(preds, key=lambda x: (-(x.end - x.start), x.start)):
        if all(
            p.end <= k.start or p.start >= k.end or (p.start, p.end) == (k.start, k.end)
            for k in kept
        ):
            kept.append(p)
    return sorted(kept, key=lambda x: (x.start, x.end))


def _parenthesized(text: str, start: int, end: int) -> bool:
    before, after = text[:start].rstrip(), text[end:].lstrip()
    return before.endswith("(") and after.startswith(")")


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


# -- the engine ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Published:
    day: date | None
    at: datetime | None  # None for a bare date

    @classmethod
    def parse(cls, value: str | None) -> Published:
        if not value:
            return cls(None, None)
        text = value.strip()
        if len(text) > 10:
            try:
                at = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                at = None
            if at is not None:
                if at.tzinfo is None:
                    at = at.replace(tzinfo=UTC)
                return cls(at.date(), at)
        try:
            return cls(date.fromisoformat(text[:10]), None)
        except ValueError:
            return cls(None, None)

    def local_day(self, tz: str) -> date | None:
        if self.at is None:
            return self.day
        return self.at.astimezone(zone(tz)).date()

    def in_session(self, day: date, tz: str, close: time) -> bool:
        """Was ``day``'s session still open at publication (in the exchange's zone)?"""
        if self.at is None:
            return False
        local = self.at.astimezone(zone(tz))
        return local.date() == day and local.time() < close

    def current_session(self, tz: str, close: time) -> date | None:
        """The session in progress at publication, or the last one when none had opened."""
        if self.at is None:
            return None if self.day is None else last_weekday(self.day)
        local = self.at.astimezone(zone(tz))
        if local.weekday() < 5 and local.time() >= SESSION_OPEN:
            return local.date()
        return last_weekday(local.date() - timedelta(days=1))

    def session(self, tz: str, close: time) -> date | None:
        """The article's trading day for an instrument of that exchange."""
        if self.at is None:
            day = self.day
        else:
            local = self.at.astimezone(zone(tz))
            day = local.date() - timedelta(days=1) if local.time() < close else local.date()
        return None if day is None else last_weekday(day)


_BENCHMARK = re.compile(r"benchmark|broader|main index|key index|大市|大盘", re.IGNORECASE)


def _guarded(patterns: list[re.Pattern[str]]) -> re.Pattern[str]:
    """One pattern matching where any of ``patterns`` does, led by a class of the characters
    they can start with when that is known: the engine then skips every other position in a
    single test instead of trying each alternative there (~20x on English text)."""
    joined = "|".join(f"(?:{rx.pattern})" for rx in patterns)
    flags = patterns[0].flags if patterns else 0
    starts: set[str] = set()
    for rx in patterns:
        try:
            found = _first_chars(_sre_parse(rx.pattern, rx.flags))
        except Exception:  # the private parser changed: no guard, same matches
            found = None
        if found is None:
            return re.compile(joined, flags)
        starts |= found
    if flags & re.IGNORECASE:
        starts = {x for c in starts for x in (c.lower(), c.upper())}
    guard = "".join(re.escape(c) for c in sorted(starts))
    return re.compile(f"(?=[{guard}])(?:{joined})", flags)


def _first_chars(items: Any) -> set[str] | None:
    """The characters a parsed pattern can start with, or None when that is not simple."""
    for op, av in items:
        if op is _sre.AT:  # \b, ^: zero-width
            continue
        if op is _sre.LITERAL:
            return {chr(av)}
        if op is _sre.SUBPATTERN:
            return _first_chars(av[-1])
        if op is _sre.BRANCH:
            out: set[str] = set()
            for branch in av[1]:
                found = _first_chars(branch)
                if found is None:
                    return None
                out |= found
            return out
        if op is _sre.IN:
            chars: set[str] = set()
            for kind, value in av:
                if kind is _sre.LITERAL:
                    chars.add(chr(value))
                elif kind is _sre.RANGE and value[1] - value[0] < 64:
                    chars |= {chr(c) for c in range(value[0], value[1] + 1)}
                else:
                    return None
            return chars
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] >= 1:
            return _first_chars(av[2])
        return None
    return None


def last_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


class ClaimExtractor:
    def __init__(
        self,
        registry: Registry | None = None,
        resolve: Callable[[str], str | None] | None = None,
    ) -> None:
        from streams.domain.articles.claims_zh import ZhGrammar  # imports this module

        self.registry = registry or Registry()
        self.resolve = resolve or (lambda _name: None)
        stocks = [
            (alias, inst.symbol)
            for inst in self.registry.instruments.values()
            if inst.kind == "stock"
            for alias in {*(inst.aliases), *([inst.name] if inst.name else [])}
            if len(alias) >= 2 and not re.fullmatch(r"[\d.]+(?:\.HK)?", alias)
        ]
        stocks.sort(key=lambda a: len(a[0]), reverse=True)
        self.grammars: dict[str, Grammar] = {"en": Grammar(stocks), "zh": ZhGrammar(stocks)}
        self._index_def = {d.key: d for d in INDEXES}

    def extract(
        self, sents: list[Sentence], published_at: str | None, lang: str = "en"
    ) -> list[Claim]:
        """Claims of an article's sentences; ``published_at`` is its ISO date or date-time."""
        grammar = self.grammars.get(lang)
        if grammar is None:
            return []
        published = Published.parse(published_at)
        claims: list[Claim] = []
        paragraph, last_index = -1, None
        benchmark: Subject | None = None  # the first index the article names
        levels: list[Claim] = []  # the paragraph's levels, for drawdowns
        for sent in sents:
            if sent.paragraph != paragraph:
                paragraph, last_index, levels = sent.paragraph, None, []
            found, last_index, first = self._sentence(
                grammar, sent.text, published, last_index, levels, benchmark
            )
            benchmark = benchmark or first
            claims += found
        return _dedupe(claims)

    # one sentence ---------------------------------------------------------------------
    def _sentence(
        self,
        g: Grammar,
        text: str,
        published: Published,
        last_index: Subject | None,
        levels: list[Claim],
        benchmark: Subject | None = None,
    ) -> tuple[list[Claim], Subject | None, Subject | None]:
        """The sentence's claims, the last index it leaves named, and the first it names."""
        s = _Sent(g, text, g.prepare(text), published)
        s.mentions = g.mentions(s.norm)
        if not levels and all(m.kind in ("block", "object") for m in s.mentions):
            # nobody named, nobody referred to, no level for a drawdown: no claim can come
            # out of this sentence, so its predicates are not looked for (most sentences)
            return [], last_index, None
        s.dates = g.dates(s.norm, published.day)
        s.preds = g.predicates(s.norm)
        # "报606.5港元": a word inside a predicate is not another subject
        s.mentions = [
            m
            for m in s.mentions
            if m.kind != "block" or not any(p.start <= m.start < p.end for p in s.preds)
        ]
        s.clauses = _clauses(s.norm, g.clause)
        current = last_index
        for mention in s.mentions:  # anaphora: the last index named before it
            # an object is resolved as what it names (its subject serves "pushed the index
            # below its 20-day line"); it never becomes the paragraph's current index
            m = mention
            if m.kind == "object" and m.was:
                m = Mention(m.start, m.end, m.was, m.key, m.code)
            if m.kind == "anaphora" and _BENCHMARK.search(s.norm, m.start, m.end):
                # "the benchmark", 大市: the market's main index, which a wrap names first
                subj = benchmark or next(
                    (
                        self._subject(s.norm, s.text, x, None)
                        for x in s.mentions
                        if x.kind == "index" and x.start < m.start
                    ),
                    current,
                )
                s.subjects[m.start] = subj
                continue
            subj = self._subject(s.norm, s.text, m, current)
            s.subjects[m.start] = subj
            if mention.kind == "index" and subj is not None:
                current = subj
        chain_at = self._chains(s)
        out: list[Claim] = []
        consumed: dict[int, int] = {}
        for pi, pred in enumerate(s.preds):
            ci = _clause_of(s.clauses, pred.start)
            who, anchor = self._who(s, pred, ci, consumed.get(ci), chain_at[ci])
            consumed[ci] = pred.end
            if not who and pred.type == "drawdown" and levels:  # of the levels just named
                last = levels[-1]
                who = [Subject(last.instrument or "", last.key, "index", last.symbol)]
            if not who:
                continue
            nxt = next((p.start for p in s.preds[pi + 1 :] if p.start >= pred.end), len(s.norm))
            tail = s.norm[pred.end : min(nxt, s.clauses[ci][1])]
            scope = self._scope_start(s, anchor)
            for subj in who:
                claim = self._claim(s, pred, subj, ci, scope, tail, levels)
                if claim is not None:
                    out.append(claim)
        named = [s.subjects.get(m.start) for m in s.mentions if m.kind == "index"]
        known = [n for n in named if n is not None]
        return out, (known[-1] if known else current), (known[0] if known else None)

    def _subject(
        self, norm: str, text: str, m: Mention, last_index: Subject | None
    ) -> Subject | None:
        """Who a mention names; ``name`` is as the reader wrote it, resolved on ``norm``."""
        if m.kind == "anaphora":
            return last_index
        if m.kind in ("block", "object"):
            return None
        name = norm[m.start : m.end]
        written = text[m.start : m.end]
        if m.kind == "stock":
            cut = re.compile(
                r"\s*[(（].*$|(?:'s)?\s+(?:shares|stock|ADRs?)$|(?:的)?(?:股价|股份|股票)$"
            )
            name, written = cut.sub("", name), cut.sub("", written)
            name = name or (m.key or m.code or "")
            written = written or name
            if m.code is not None:  # the code says which stock, whatever the name
                symbol = m.key if m.key in self.registry.instruments else None
            else:
                symbol = m.key
            if symbol is None and m.code is None:
                found = self.resolve(name)
                inst = self.registry.instruments.get(found or "")
                symbol = found if inst is not None and inst.kind == "stock" else None
            return Subject(written, m.key or name, "stock", symbol)
        symbol = self.resolve(name)
        inst = self.registry.instruments.get(symbol or "")
        if inst is not None and inst.kind not in ("index",) and inst.symbol != m.key:
            symbol = None  # a platform or a stock is not the index named
        if symbol is None and m.key in self.registry.instruments:
            symbol = m.key
        return Subject(written, m.key or name, "index", symbol)

    def _group(self, s: _Sent, mentions: list[Mention], i: int) -> list[Subject]:
        """The subject of ``mentions[i]`` and of the names listed right before it (、, and)."""
        first = s.subjects.get(mentions[i].start)
        if first is None:
            return []
        group = [first]
        while i > 0:
            prev = mentions[i - 1]
            prev_subj = s.subjects.get(prev.start)
            if prev.kind not in ("index", "stock") or prev_subj is None:
                break
            if not s.g.list_sep.fullmatch(s.norm[prev.end : mentions[i].start]):
                break
            group.insert(0, prev_subj)
            i -= 1
        return group

    def _chains(self, s: _Sent) -> list[tuple[list[Subject], int | None]]:
        """What a clause without a name of its own continues: the last names before it."""
        out: list[tuple[list[Subject], int | None]] = []
        current: tuple[list[Subject], int | None] = ([], None)
        for start, end in s.clauses:
            out.append(current)
            inside = [
                i for i, m in enumerate(s.mentions) if start <= m.start < end and m.kind != "object"
            ]
            if inside:
                i = inside[-1]
                m = s.mentions[i]
                current = (
                    ([], None) if m.kind == "block" else (self._group(s, s.mentions, i), m.start)
                )
        return out

    def _who(
        self,
        s: _Sent,
        pred: Pred,
        ci: int,
        consumed: int | None,
        chain: tuple[list[Subject], int | None],
    ) -> tuple[list[Subject], int | None]:
        """Whom the predicate is said of (empty: nobody windvane can name), and where the
        subject was named."""
        if "all" in pred.marks:  # 均: every index the sentence named before it
            seen: dict[str, Subject] = {}
            first = None
            for m in s.mentions:
                subj = s.subjects.get(m.start)
                if m.start < pred.start and m.kind == "index" and subj and subj.key:
                    seen.setdefault(subj.key, subj)
                    first = m.start if first is None else first
            return list(seen.values()), first
        if pred.type == "ma_cross":  # "pushed the index below its 20-day line": its object
            inside = [m for m in s.mentions if pred.start <= m.start < pred.end]
            objects = [
                s.subjects.get(m.start) for m in inside if m.kind in ("index", "anaphora", "object")
            ]
            if objects and objects[0] is not None:
                return [objects[0]], inside[0].start
        start = s.clauses[ci][0]
        before = [
            i
            for i, m in enumerate(s.mentions)
            if m.start >= start and m.end <= pred.start and m.kind != "object"
        ]
        if before:
            last = s.mentions[before[-1]]
            if last.kind == "block" or s.subjects.get(last.start) is None:
                return [], None
            if consumed is not None and consumed > last.end:
                head = s.norm[consumed : pred.start]
                if not s.g.is_filler(_blank_dates(head, s.dates, consumed)):
                    return [], None
            return self._group(s, s.mentions, before[-1]), last.start
        begin = max(start, consumed or start)
        head = s.norm[begin : pred.start]
        if chain[0] and s.g.is_filler(_blank_dates(head, s.dates, begin)):
            return chain
        if "noun_level" in pred.marks:  # "since hitting a low of 2580.36 points, the index..."
            after = [i for i, m in enumerate(s.mentions) if m.start >= pred.end]
            if after and s.mentions[after[0]].kind in ("index", "anaphora"):
                subj = s.subjects.get(s.mentions[after[0]].start)
                if subj is not None:
                    return [subj], s.mentions[after[0]].start
        return [], None

    @staticmethod
    def _scope_start(s: _Sent, anchor: int | None) -> int:
        """Where the words that time the predicate begin: the clause that named its subject,
        and the clauses right before it that name nothing and say nothing checkable
        ("盘面上,", "For the week,", "At the close,")."""
        if anchor is None:
            return 0
        ci = _clause_of(s.clauses, anchor)
        while ci > 0:
            ps, pe = s.clauses[ci - 1]
            if any(ps <= m.start < pe for m in s.mentions) or any(
                ps <= p.start < pe for p in s.preds
            ):
                break
            ci -= 1
        return s.clauses[ci][0]

    def _claim(
        self,
        s: _Sent,
        pred: Pred,
        subj: Subject,
        ci: int,
        scope: int,
        tail: str,
        levels: list[Claim],
    ) -> Claim | None:
        g, norm = s.g, s.norm
        params = dict(pred.params)
        kind = pred.type
        if kind == "drawdown":
            return self._drawdown(subj, s.text, params, levels)
        timing = self._timing(g, norm, pred, tail, scope)
        span = self._span(g, norm, pred, tail, scope)
        is_change = kind in ("index_change_pct", "index_change_points")
        if is_change:
            # "The S&P 500 gained 10% during the period, and the Nasdaq rose 17%": a span
            # said of one change carries to the next one that names none
            span = span or s.change_span
            s.change_span = span if span in ("nonday", "ytd") else None
        if span == "versus" and kind != "ma_cross":
            return None  # a change from some other level than a close windvane keeps
        if span == "nonday" and kind in ("index_change_points", "streak"):
            return None  # a change or streak over a span windvane does not check
        tz, close = self._zone(subj)
        implied = (
            timing is None
            and kind not in ("streak", "ma_cross")
            and published_in_session(s.published, tz, close)
        )
        if implied:
            timing = "intraday"  # said during the session, of the session (unless dated)
        if is_change:
            if span == "nonday":
                said = norm[scope : pred.end] + tail
                if kind != "index_change_pct" or not g.markers["ytd"].search(said):
                    return None
                params["period"] = "ytd"
            else:
                params["period"] = "week" if span in ("week", "lastweek") else "day"
            if "open" in pred.marks:
                params["field"] = "open"
            elif timing == "intraday" and span != "lastweek":
                params["field"] = "intraday"  # so far in the session (a week, a year so far)
        elif kind == "index_level":
            fld = params.get("field")
            if pred.marks & {"bare_level", "threshold"}:  # 报/站上 3800点: the close after it
                fld = "level" if timing == "intraday" else "close"
            elif (
                fld == "close" and timing == "intraday" and "close" not in pred.marks
            ) or "noun_level" in pred.marks:
                fld = "level"
            params["field"] = fld
        of_session = bool(pred.marks & {"open", "intraday_level"})
        of_session = of_session or ("bare_level" in pred.marks and timing != "close")
        of_session = of_session or (timing == "intraday" and kind not in ("streak", "ma_cross"))
        when, basis = self._date(s, pred, ci, tz, close, of_session)
        if kind == "index_level" and span == "nonday" and basis != "text":
            when, basis = None, None
        elif when is None and kind != "index_level":
            return None  # a change, streak or cross of an unknown day checks nothing
        if span == "lastweek" and basis == "publication" and when is not None:
            when = last_weekday(when - timedelta(days=when.weekday() + 1))
            basis = "text"
        if implied and when is not None and not s.published.in_session(when, tz, close):
            # "had climbed 1.78% on Wednesday", said on Thursday morning: a finished session
            if params.get("field") == "intraday":
                del params["field"]
            if kind == "index_level" and params.get("field") == "level":
                params["field"] = pred.params.get("field") or "close"
        if "ended" in pred.marks and when is not None:
            if params.get("unit") == "weeks":  # its last day: the Friday of the week before
                when = last_weekday(when - timedelta(days=when.weekday() + 1))
            else:
                when = last_weekday(when - timedelta(days=1))
        if when is not None and s.published.in_session(when, tz, close):
            # the session was still open when the article came out: not a close
            if is_change and not params.get("field"):
                params["field"] = "intraday"
            elif kind == "index_level" and params.get("field") == "close":
                params["field"] = "level"
        params["date"] = when.isoformat() if when else None
        params["date_basis"] = basis
        claim = Claim(kind, subj.name, s.text, params, subj.symbol, subj.key)
        if kind == "index_level":
            levels.append(claim)
        return claim

    @staticmethod
    def _timing(g: Grammar, norm: str, pred: Pred, tail: str, scope: int) -> str | None:
        """``close``, ``intraday`` or None (unsaid) for the predicate: a marker right after it
        ("at midday"), in it (收跌, "closed"), else the last one before it since its subject
        was named."""
        after = _first_marker(g, tail, ("close", "intraday"))
        if after:
            return after
        if "close" in pred.marks:
            # 半日收报, 午收: the morning session's close is the session's middle
            just_before = norm[max(scope, pred.start - 3) : pred.start]
            return "intraday" if g.markers["intraday"].search(just_before) else "close"
        if pred.marks & {"open", "intraday_level"}:
            return "intraday"
        timing = _last_marker(g, norm[scope : pred.end], ("close", "intraday", "weak_intraday"))
        if timing == "weak_intraday":  # "was down 1%": intraday unless the close is named
            timing = None if g.markers["close"].search(norm) else "intraday"
        return timing

    @staticmethod
    def _span(g: Grammar, norm: str, pred: Pred, tail: str, scope: int) -> str | None:
        """``week``, ``lastweek``, ``nonday`` (a year, a month, since...) or ``day``/None."""
        if pred.type == "streak":
            return "nonday" if g.markers["nonday"].search(tail[:12]) else None
        said = g.record_since.sub(spaces, norm[scope : pred.end])
        tail = g.record_since.sub(spaces, tail)
        if g.markers["versus"].search(said + tail):
            return "versus"  # "down 12% from its high": not a change windvane checks
        found = _first_marker(g, tail, ("week", "lastweek", "nonday", "day"))
        if found == "day":  # "...for the week after dropping 3.27% on Friday": that day's
            return None
        found = found or _last_marker(g, said, ("week", "lastweek", "day", "nonday", "cumul"))
        if found == "cumul":  # 本周累计上涨: the week's; 累计上涨 alone: since some day
            found = _last_marker(g, said, ("week", "lastweek")) or "nonday"
        return found

    def _drawdown(
        self, subj: Subject, text: str, params: dict[str, Any], levels: list[Claim]
    ) -> Claim | None:
        mine = [c for c in levels if c.key == subj.key]
        highs = [c for c in mine if c.params.get("note") in ("high", "peak", "record")]
        lows = [c for c in mine if c.params.get("note") in ("low", "trough")]
        if not highs or not lows:
            return None
        hi, lo = highs[-1].params, lows[-1].params
        pct = float(params["value_pct"])
        implied = (hi["value"] - lo["value"]) / hi["value"] * 100
        return Claim(
            "drawdown",
            subj.name,
            text,
            {
                "from_value": hi["value"],
                "from_date": hi.get("date"),
                "to_value": lo["value"],
                "to_date": lo.get("date"),
                "value_pct": pct,
                "implied_pct": round(implied, 4),
                "arithmetic_ok": abs(implied - pct) <= 0.005 + 1e-9,
            },
            subj.symbol,
            subj.key,
        )

    def _zone(self, subj: Subject) -> tuple[str, time]:
        if subj.symbol and subj.symbol in self.registry.instruments:
            inst = self.registry.instruments[subj.symbol]
            return inst.timezone, inst.session_close
        found = self._index_def.get(subj.key or "")
        if found is not None:
            return found.timezone, found.close
        return self.registry.default_timezone or DEFAULT_TIMEZONE, DEFAULT_SESSION_CLOSE

    @staticmethod
    def _date(
        s: _Sent, pred: Pred, ci: int, tz: str, close: time, of_session: bool
    ) -> tuple[date | None, str | None]:
        c_start = s.clauses[ci][0]
        c_end = s.clauses[_clause_of(s.clauses, max(pred.end - 1, pred.start))][1]
        same = [d for d in s.dates if d.start >= c_start and d.end <= c_end]
        ref: DateRef | None = None
        if same:
            ref = min(same, key=lambda d: abs(d.start - pred.start))
        else:
            earlier = [d for d in s.dates if d.end <= pred.start]
            ref = earlier[-1] if earlier else None
        published = s.published
        local = published.local_day(tz)
        if ref is None:
            if of_session:
                return published.current_session(tz, close), "publication"
            return published.session(tz, close), "publication"
        if ref.basis == "today":
            return local, "publication"
        if ref.basis == "unresolved":
            return None, None
        if ref.basis == "text":
            return ref.day, "text"
        if local is None:
            return None, None
        if ref.basis == "yesterday":
            return local - timedelta(days=1), "yesterday"
        if ref.weekday is not None:
            if ref.weeks_back:
                monday = local - timedelta(days=local.weekday() + 7 * ref.weeks_back)
                return monday + timedelta(days=ref.weekday), "weekday"
            return local - timedelta(days=(local.weekday() - ref.weekday) % 7), "weekday"
        return None, None


@dataclass
class _Sent:
    """One sentence as the engine reads it."""

    g: Grammar
    text: str
    norm: str
    published: Published
    mentions: list[Mention] = field(default_factory=list)
    dates: list[DateRef] = field(default_factory=list)
    preds: list[Pred] = field(default_factory=list)
    clauses: list[tuple[int, int]] = field(default_factory=list)
    subjects: dict[int, Subject | None] = field(default_factory=dict)
    change_span: str | None = None  # the span of the sentence's last change


SESSION_OPEN = time(9, 30)  # no per-exchange open in the registry: 09:30 local everywhere


def published_in_session(published: Published, tz: str, close: time) -> bool:
    """Did the article come out while the exchange's session of that day was open?"""
    if published.at is None:
        return False
    local = published.at.astimezone(zone(tz))
    return local.weekday() < 5 and SESSION_OPEN <= local.time() < close


def _blank_dates(head: str, dates: list[DateRef], offset: int) -> str:
    chars = list(head)
    for d in dates:
        for i in range(max(d.start - offset, 0), min(d.end - offset, len(chars))):
            chars[i] = " "
    return "".join(chars)


def _clauses(norm: str, rx: re.Pattern[str]) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in rx.finditer(norm):
        # a thousands separator is not a clause break: "24,870"
        i = m.start()
        if m.group(0) == "," and 0 < i < len(norm) - 1 and (norm[i - 1] + norm[i + 1]).isdigit():
            continue
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(norm)))
    return out


def _clause_of(clauses: list[tuple[int, int]], pos: int) -> int:
    for i, (s, e) in enumerate(clauses):
        if s <= pos < e or (pos == e and i == len(clauses) - 1):
            return i
    return len(clauses) - 1


def _last_marker(g: Grammar, text: str, names: tuple[str, ...]) -> str | None:
    best, where = None, -1
    for name in names:  # a tie goes to the later name ("半日收报": intraday, not close)
        for m in g.markers[name].finditer(text):
            if m.end() >= where:
                best, where = name, m.end()
    return best


def _first_marker(g: Grammar, text: str, names: tuple[str, ...]) -> str | None:
    best, where = None, len(text) + 1
    for name in names:
        m = g.markers[name].search(text)
        if m and m.start() < where:
            best, where = name, m.start()
    return best


def _dedupe(claims: list[Claim]) -> list[Claim]:
    """One claim per (type, instrument, what it says); a dated repeat fills a gap."""
    skip = {"note", "decimals", "zeros", "qualifier", "date_basis", "implied_pct", "arithmetic_ok"}
    seen: dict[tuple[Any, ...], Claim] = {}
    for claim in claims:
        key = (
            claim.type,
            claim.key or claim.instrument,
            repr(sorted((k, v) for k, v in claim.params.items() if k not in skip)),
        )
        kept = seen.get(key)
        if kept is None:
            seen[key] = claim
    out = list(seen.values())
    dated = {
        (c.key, c.params.get("value"))
        for c in out
        if c.type == "index_level" and c.params.get("date")
    }
    return [
        c
        for c in out
        if not (
            c.type == "index_level"
            and not c.params.get("date")
            and (c.key, c.params.get("value")) in dated
        )
    ]


# -- checking ---------------------------------------------------------------------------
DayLookup = Callable[[str, str], dict[str, Any] | None]
Latest = Callable[[str], str | None]
_IMPLICIT = ("publication", "yesterday")
_WALK = 10  # trading days walked back for a previous close, a week's base or a holiday
_YEAR_WALK = 270  # a year of sessions, for a year-to-date change


def check_claim(
    claim: dict[str, Any], lookup: DayLookup, latest: Latest | None = None
) -> dict[str, Any]:
    """``confirmed``, ``contradicted``, ``unknown`` (with a reason) or ``pending`` (the
    claim's day is after the latest final day windvane has for the symbol: check again when
    that day's bar arrives). Pure: the quotes come through ``lookup(symbol, day)`` (the
    symbol's final day record or None) and ``latest(symbol)``."""
    symbol = claim.get("symbol")
    if not symbol:
        return _unknown("no instrument windvane has quotes for")
    kind = claim.get("type")
    if kind == "drawdown":
        return _check_drawdown(claim, symbol, lookup, latest)
    day = claim.get("date") or claim.get("as_of")
    if not day:
        return _unknown("the claim gives no date")
    last = None
    if latest is not None:
        last = latest(symbol)
        if last is None or day > last:
            return {
                "verdict": "pending",
                "reason": f"no final close for {symbol} on {day} yet"
                + (f" (latest {last})" if last else ""),
                "compared": {},
            }
    implicit = claim.get("date_basis") in _IMPLICIT or (
        "date_basis" not in claim and "as_of" in claim
    )
    rec = _record(symbol, day, lookup, implicit)
    if rec is None:
        return _unknown(f"no session of {symbol} on {day}")
    if kind in ("index_change_pct", "index_change_points"):
        return _check_change(claim, symbol, rec, lookup)
    if kind == "index_level":
        return _check_level(claim, rec)
    if kind == "ma_cross":
        return _check_ma_cross(claim, symbol, rec, lookup)
    if kind == "streak":
        return _check_streak(claim, symbol, rec, lookup)
    return _unknown(f"no check for {kind}")


def _unknown(reason: str, compared: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"verdict": "unknown", "reason": reason, "compared": compared or {}}


def _verdict(ok: bool, compared: dict[str, Any]) -> dict[str, Any]:
    return {"verdict": "confirmed" if ok else "contradicted", "compared": compared}


def _record(symbol: str, day: str, lookup: DayLookup, implicit: bool) -> dict[str, Any] | None:
    """The day's record; for an implicit date on a day without a session (a holiday: no
    calendar yet), the last session before it."""
    rec = lookup(symbol, day)
    if rec is not None or not implicit:
        return rec
    when = date.fromisoformat(day)
    for back in range(1, _WALK + 1):
        rec = lookup(symbol, (when - timedelta(days=back)).isoformat())
        if rec is not None:
            return rec
    return None


def _prev(symbol: str, rec: dict[str, Any], lookup: DayLookup) -> dict[str, Any] | None:
    prev_day = rec.get("prev_trading_day")
    return lookup(symbol, prev_day) if prev_day else None


def _prev_close(symbol: str, rec: dict[str, Any], lookup: DayLookup) -> float | None:
    if rec.get("prev_close") is not None:
        return float(rec["prev_close"])
    prev = _prev(symbol, rec, lookup)
    return None if prev is None else float(prev["price"])


def _week_base(symbol: str, rec: dict[str, Any], lookup: DayLookup) -> dict[str, Any] | None:
    """The last session of the week before ``rec``'s week."""
    week = date.fromisoformat(rec["trading_day"]).isocalendar()[:2]
    cur = rec
    for _ in range(_WALK):
        prev = _prev(symbol, cur, lookup)
        if prev is None:
            return None
        if date.fromisoformat(prev["trading_day"]).isocalendar()[:2] != week:
            return prev
        cur = prev
    return None


def _year_base(symbol: str, rec: dict[str, Any], lookup: DayLookup) -> dict[str, Any] | None:
    """The last session of the year before ``rec``'s (a year-to-date change's base)."""
    year = rec["trading_day"][:4]
    cur = rec
    for _ in range(_YEAR_WALK):
        prev = _prev(symbol, cur, lookup)
        if prev is None:
            return None
        if prev["trading_day"][:4] != year:
            return prev
        cur = prev
    return None


def _within(
    actual: float, claimed: float, claim: dict[str, Any], eps: float, level: bool = False
) -> tuple[bool, dict[str, Any]]:
    """Does ``actual`` bear out the printed ``claimed``?

    * plain: within half a unit of the last printed digit ("2.38" -> 0.005, "615" -> 0.5);
      a whole number of points or an index level ending in zeros is read as rounded there
      ("25,100" -> to the hundred: 50). Plus ``eps`` for the data's own rounding. Points and
      levels printed as whole numbers, and changes in percent, may also be cut off
      (25,339.14 printed "25,339", a 234.53-point rise "234", 4.15% "4.1%"): Hong Kong
      wraps truncate as often as they round.
    * ``over`` (逾, 超, more than): at least the number; ``under`` (不足, less than): at most.
    * ``about`` (约, 左右, around): within 10% of the number for a change, 1% for a level,
      or the plain tolerance when wider. ``nearly`` (近, almost): at most the number (plus a
      twentieth of its last unit) and at least 90% of it (99% for a level). Writers round a
      hedged figure to a round one: 0.92% is "nearly 1%", 1.07% is "about 1%"; an index level
      is rounded to a round hundred at most, hence the narrower band.

    Changes compare signed values; the hedges apply to the magnitude with the sign equal."""
    decimals = int(claim.get("decimals") or 0)
    zeros = int(claim.get("zeros") or 0) if "zeros" in claim else 0
    unit = 10.0 ** (zeros if (zeros and not claim.get("type", "").endswith("pct")) else -decimals)
    plain = unit / 2 + eps
    q = claim.get("qualifier")
    shown = {"claimed": claimed, "actual": round(actual, 6)}
    if not level and claimed != 0 and actual * claimed <= 0:
        return False, {**shown, "rule": "opposite direction"}
    a, c = (actual, claimed) if level else (abs(actual), abs(claimed))
    if q == "over":
        return a >= c - eps, {**shown, "rule": f">= {c}"}
    if q == "under":
        return a <= c + eps, {**shown, "rule": f"<= {c}"}
    band = 0.01 if level else 0.10
    if q == "about":
        tol = max(band * c, plain)
        return abs(a - c) <= tol, {**shown, "tolerance": round(tol, 6)}
    if q == "nearly":
        lo, hi = c * (1 - band) - eps, c + unit / 20 + eps
        return lo <= a <= hi, {**shown, "range": [round(lo, 6), round(hi, 6)]}
    pct = claim.get("type", "").endswith("pct")
    if (unit == 1 or pct) and c - eps <= a < c + unit - 1e-9:
        # cut off, not rounded: whole points ("收报25,339点" for 25,339.14) and changes in
        # percent (4.15% printed "4.1%") often are; a level printed with decimals is exact
        return True, {**shown, "rule": f"{c} truncated to the printed digits"}
    return abs(a - c) <= plain, {**shown, "tolerance": round(plain, 9)}


def _check_change(
    claim: dict[str, Any], symbol: str, rec: dict[str, Any], lookup: DayLookup
) -> dict[str, Any]:
    close = float(rec["price"])
    fld = claim.get("field")
    period = claim.get("period") or "day"
    if period in ("week", "ytd"):
        base_rec = (_week_base if period == "week" else _year_base)(symbol, rec, lookup)
        base = None if base_rec is None else float(base_rec["price"])
        base_day = None if base_rec is None else base_rec["trading_day"]
    else:
        base, base_day = _prev_close(symbol, rec, lookup), rec.get("prev_trading_day")
    if base is None or base == 0:
        return _unknown(f"no previous close for {symbol} before {rec['trading_day']}")
    pct = claim["type"] == "index_change_pct"

    def change(x: float) -> float:
        return (x - base) / base * 100 if pct else x - base

    compared: dict[str, Any] = {
        "trading_day": rec["trading_day"],
        "base_day": base_day,
        "base": base,
    }
    eps = 1e-4 if pct else 2e-7 * abs(close)
    value = float(claim["value"])
    if fld == "open":
        if rec.get("open") is None:
            return _unknown(f"the quotes of {symbol} give no open", compared)
        ok, shown = _within(change(float(rec["open"])), value, claim, eps)
        return _verdict(ok, {**compared, "open": rec["open"], **shown})
    if fld == "intraday":
        if rec.get("high") is None or rec.get("low") is None:
            return _unknown(f"the quotes of {symbol} give no intraday range", compared)
        hi, lo = change(float(rec["high"])), change(float(rec["low"]))
        extreme = hi if value > 0 else lo  # "rose over 2% in the morning": the high did
        if claim.get("qualifier") == "over":
            ok, shown = _within(extreme, value, claim, eps)
        else:
            ok = lo - eps <= value <= hi + eps or _within(extreme, value, claim, eps)[0]
            shown = {"claimed": value, "range": [round(lo, 6), round(hi, 6)]}
        return _verdict(ok, {**compared, "high": rec["high"], "low": rec["low"], **shown})
    ok, shown = _within(change(close), value, claim, eps)
    return _verdict(ok, {**compared, "close": close, **shown})


def _check_level(claim: dict[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
    fld = claim.get("field") or "close"  # claims of extractor version 2 had no field
    value = float(claim["value"])
    close = float(rec["price"])
    compared: dict[str, Any] = {"trading_day": rec["trading_day"], "close": close}
    eps = 2e-7 * abs(close)
    if fld in ("high", "low", "open"):
        if rec.get(fld) is None:
            return _unknown(f"the quotes give no intraday {fld}", compared)
        ok, shown = _within(float(rec[fld]), value, claim, eps, level=True)
        return _verdict(ok, {**compared, fld: rec[fld], **shown})
    ok, shown = _within(close, value, claim, eps, level=True)
    if fld == "close" or ok:
        return _verdict(ok, {**compared, **shown})
    # a level stated without saying which: the close, or any price of the day's range
    if rec.get("high") is None or rec.get("low") is None:
        return _unknown("not the close, and the quotes give no intraday range", compared)
    hi, lo = float(rec["high"]), float(rec["low"])
    q = claim.get("qualifier")
    if q == "over":
        ok = hi >= value - eps
    elif q == "under":
        ok = lo <= value + eps
    else:
        ok = lo - eps <= value <= hi + eps
    return _verdict(ok, {**compared, "high": hi, "low": lo, "claimed": value})


def _side(close: float, sma: float) -> str | None:
    return "above" if close > sma else "below" if close < sma else None


def _check_ma_cross(
    claim: dict[str, Any], symbol: str, rec: dict[str, Any], lookup: DayLookup
) -> dict[str, Any]:
    window = str(claim["window"])
    day = rec["trading_day"]
    sma = (rec.get("sma") or {}).get(window)
    if sma is None:
        return _unknown(f"no SMA{window} of {symbol} on {day}")
    compared: dict[str, Any] = {"trading_day": day, "close": rec["price"], f"sma{window}": sma}
    side = _side(float(rec["price"]), float(sma))
    if claim.get("holds"):
        return _verdict(side == claim["direction"], compared)
    prev = _prev(symbol, rec, lookup)
    prev_sma = None if prev is None else (prev.get("sma") or {}).get(window)
    if prev is None or prev_sma is None:
        return _unknown(f"SMA{window} of {symbol} not defined the session before {day}", compared)
    compared.update(
        {"prev_trading_day": rec["prev_trading_day"], "prev_close": prev["price"],
         f"prev_sma{window}": prev_sma}
    )  # fmt: skip
    prev_side = _side(float(prev["price"]), float(prev_sma))
    ok = side == claim["direction"] and prev_side != claim["direction"]
    return _verdict(ok, compared)


def _check_streak(
    claim: dict[str, Any], symbol: str, rec: dict[str, Any], lookup: DayLookup
) -> dict[str, Any]:
    count = int(claim.get("count") or claim.get("days") or 0)
    want = count if claim["direction"] == "up" else -count
    if claim.get("unit") == "weeks":
        streak = _week_streak(symbol, rec, lookup, count + 1)
        if streak is None:
            return _unknown(f"not enough weeks of {symbol} before {rec['trading_day']}")
    else:
        streak = int(rec["streak"])
    q = claim.get("qualifier")
    slack = 1 if q in ("nearly", "about", "almost") else 0
    same_way = streak * want > 0
    if q == "over":
        ok = same_way and abs(streak) >= abs(want)
    else:
        ok = same_way and abs(abs(streak) - abs(want)) <= slack
    unit = claim.get("unit") or "days"
    return _verdict(ok, {"trading_day": rec["trading_day"], "streak": streak, "claimed": want,
                         "unit": unit})  # fmt: skip


def _week_streak(symbol: str, rec: dict[str, Any], lookup: DayLookup, weeks: int) -> int | None:
    """Signed count of consecutive weeks (up to ``weeks``) whose last close beat the week
    before's, ending with ``rec``'s week (its close so far)."""
    closes = [float(rec["price"])]
    cur: dict[str, Any] | None = rec
    for _ in range(weeks + 1):
        cur = None if cur is None else _week_base(symbol, cur, lookup)
        if cur is None:
            break
        closes.append(float(cur["price"]))
    if len(closes) < 2:
        return None
    sign = 1 if closes[0] > closes[1] else -1 if closes[0] < closes[1] else 0
    n = 0
    for later, earlier in itertools.pairwise(closes):
        step = 1 if later > earlier else -1 if later < earlier else 0
        if step != sign or step == 0:
            break
        n += 1
    if n == len(closes) - 1 and n < weeks:
        return None  # ran out of history before the streak's start
    return sign * n


def _check_drawdown(
    claim: dict[str, Any], symbol: str, lookup: DayLookup, latest: Latest | None
) -> dict[str, Any]:
    if not claim.get("from_date") or not claim.get("to_date"):
        return _unknown("the claim does not date its high and low")
    if latest is not None:
        last = latest(symbol)
        if last is None or claim["to_date"] > last:
            return {"verdict": "pending", "reason": f"no final close for {symbol} on "
                    f"{claim['to_date']} yet", "compared": {}}  # fmt: skip
    hi, lo = lookup(symbol, claim["from_date"]), lookup(symbol, claim["to_date"])
    if hi is None or lo is None:
        return _unknown(f"no closes for {symbol} on those days")
    actual = (hi["price"] - lo["price"]) / hi["price"] * 100
    compared = {
        "high": hi["price"],
        "low": lo["price"],
        "drawdown_pct": round(actual, 4),
        "claimed_pct": claim["value_pct"],
    }
    ok = abs(actual - float(claim["value_pct"])) <= 0.005 + 1e-9
    return _verdict(ok, compared)
