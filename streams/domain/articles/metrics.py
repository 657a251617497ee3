"""Metrics from English market-news text: money, price, percent, index points, multiples,
valuation percentiles and counts, each with its normalized value and unit.

Rule-based and deterministic: every rule below says what it is for. A number becomes a
metric only when the text gives it a unit (a currency, %, points, times), counts a noun, or
its context says what it is: a level an index closed at ("the Hang Seng Index fell 1.1% to
24,870.15"), a valuation multiple ("P/E of 12.5"), a cell of a table whose header names the
unit ("Close (HK$)"). Dates, years, codes, ordinals, ranks, durations and model names are
not metrics.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from streams.domain.articles.text import (
    NUMERIC_DATE_RE,
    DateMention,
    Sentence,
    dates_in,
    spaces,
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
    "lakh": 1e5,
    "crore": 1e7,
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
    "A$": "AUD", "C$": "CAD", "NT$": "TWD", "NZ$": "NZD", "JPY": "JPY", "INR": "INR",
    "Rs.": "INR", "Rs": "INR", "₹": "INR", "KRW": "KRW", "₩": "KRW", "TWD": "TWD",
    "AUD": "AUD", "SGD": "SGD", "CAD": "CAD", "CHF": "CHF", "$NZ": "NZD", "$A": "AUD",
    "$US": "USD", "$HK": "HKD",
}  # fmt: skip
# Most specific first: "Australian dollars" is AUD, a bare "dollars" USD.
CURRENCY_SUFFIX = [
    (r"hong kong dollars?|hk dollars?|hkd", "HKD"),
    (r"us dollars?|u\.s\. dollars?|usd", "USD"),
    (r"australian dollars?|aud", "AUD"),
    (r"canadian dollars?|cad", "CAD"),
    (r"singapore dollars?|sgd", "SGD"),
    (r"(?:new )?taiwan dollars?|twd", "TWD"),
    (r"new zealand dollars?|nzd", "NZD"),
    (r"(?:chinese |offshore |onshore )?yuan(?: renminbi)?|rmb|cny|renminbi", "CNY"),
    (r"euros?|eur", "EUR"),
    (r"pounds? sterling|sterling|gbp", "GBP"),
    (r"(?:japanese )?yen|jpy", "JPY"),
    (r"(?:indian )?rupees?|inr", "INR"),
    (r"(?:south )?(?:korean )?won|krw", "KRW"),
    (r"ringgit|myr", "MYR"),
    (r"baht|thb", "THB"),
    (r"rupiah|idr", "IDR"),
    (r"swiss francs?|chf", "CHF"),
    (r"dollars?", "USD"),
]
TIME_UNITS = {"day", "days", "week", "weeks", "month", "months", "year", "years", "quarter",
              "quarters", "hour", "hours", "minute", "minutes", "second", "seconds", "decade",
              "decades", "session", "sessions"}  # fmt: skip
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
# Units or names, not counted things. ("shares" is counted: "8.2 million shares".)
_NOT_COUNT_NOUNS = {"percent", "points", "times", "dollars", "yuan", "euros", "cents", "basis",
                    "bps", "series", "rupees", "francs", "pounds", "pts", "thirds", "fifths",
                    "halves", "tenths", "sales", "earnings", "revenues"}  # fmt: skip
_IRREGULAR_PLURALS = {"people", "staff", "children", "personnel", "police", "cattle"}
_STOP = {"of", "the", "and", "to", "in", "on", "for", "from", "with", "by", "at", "as", "or",
         "a", "an", "its", "their", "than", "that", "which", "is", "was", "were", "are"}  # fmt: skip
# Words that end the noun phrase a number could count: "rose to 24,870 while shares ...".
_COUNT_STOP = _STOP | {
    "while", "after", "before", "but", "since", "when", "despite", "amid", "over", "under",
    "against", "versus", "vs", "among", "into", "onto", "per", "during", "following",
    "because", "though", "although", "until", "near", "above", "below", "said", "says", "say",
    "who", "whose", "where", "if", "so", "up", "down", "off", "out", "each", "apiece", "this",
    "these", "those", "compared", "including", "according", "has", "have", "had", "will",
}  # fmt: skip
# "the world's two largest economies" ranks; it does not count.
_RANK_WORDS = {"largest", "biggest", "smallest", "highest", "lowest", "best", "worst", "top",
               "richest", "strongest", "weakest", "fastest", "slowest", "busiest", "oldest",
               "newest", "most", "least", "largest-ever", "biggest-ever"}  # fmt: skip
_NOT_A_QUANTITY_BEFORE = re.compile(
    r"(?:\b(?:double|no\.|number|version|v|model|chapter|article|phase|round|grade|tier|"
    r"series|h|q|fy|top|page|item)|#)\s*$",
    re.IGNORECASE,
)

NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_PREFIX = "|".join(re.escape(c) for c in sorted(CURRENCY_PREFIX, key=len, reverse=True))
_PREFIX_CODES = {k.upper(): v for k, v in CURRENCY_PREFIX.items()}
# a Hong Kong stock code in the sentence: (01810.HK), (0700-HK), HKEX: 700, (00700)
_HK_LISTED = re.compile(r"\b\d{4,5}[.-]HK\b|\bHK(?:EX)?\s*:\s*\d{1,5}\b|\(\s*0\d{4}\s*\)")
_TIGHT = r"(?:bn|mn|mln|bln|tn|trn|pct|(?-i:pc)|pts|[kmbx])\b"  # "$2.5bn", "300m", "11x": attached suffixes
# A number is digits (signed, or after a currency prefix such as "HK$") not glued to a word or
# a code ("H20", "10/11", "1.2.3"), or a number word. Two scans, for speed: digits (the prefix
# is looked up behind them), then number words on the lowercased text. The lookahead on the
# first character of these patterns and of others below lets the scan skip most positions.
_DIGITS_RE = re.compile(
    rf"(?=[-+−\d])(?<![\d.,/_-])(?P<sign>[-+−](?=\d))?(?P<num>{NUM})(?!(?!{_TIGHT})[\w/]|\.\d|,\d)",
    re.IGNORECASE,
)
_CUR_BEFORE = re.compile(rf"(?<![\w.,/$€£¥₹₩-])(?:{_PREFIX})\s?$", re.IGNORECASE)
_WORD_NUM_RE = re.compile(
    rf"(?=[aotfsenhd])(?<![\w-])(?P<word>{'|'.join(re.escape(w) for w in sorted(WORD_NUMBERS, key=len, reverse=True))})(?![\w-])"
)
_SCALE_RE = re.compile(
    r"^(?:[\s-]?(?P<scale>thousand|million|billion|trillion|dozen|lakh|crore|bn|mn|mln|bln|tn|trn)\b"
    r"|(?P<tight>[kmb])\b)",
    re.IGNORECASE,
)
_UNIT_GROUPS = [
    ("pct", r"%|per ?cent\b|percentage points?\b|pct\b|(?-i:pc)\b|ppts?\b"),
    ("bp", r"basis points?\b|bps\b|bp\b"),
    ("pts", r"points?\b|pts\b|pt\b"),
    ("times", r"times\b"),
    ("x", r"x\b|×"),
] + [(f"c_{code}_{i}", rf"(?:{pattern})\b") for i, (pattern, code) in enumerate(CURRENCY_SUFFIX)]
_UNIT_RE = re.compile(
    r"^(?P<lead>[\s-]?)(?:" + "|".join(f"(?P<{name}>{p})" for name, p in _UNIT_GROUPS) + ")",
    re.IGNORECASE,
)
# "a 500-point drop", "the 25,000-point mark": a hyphenated point unit names a move or level;
# "a 10-point plan" does not.
_POINT_ADJ_NOUN = re.compile(
    r"^\s+(?:intraday\s+|daily\s+|one-day\s+|single-day\s+)?(?:drop|fall|decline|slide|slump|plunge|"
    r"tumble|loss|gain|rise|rally|jump|surge|rebound|swing|move|mark|level|barrier|threshold|"
    r"line|range|advance|sell-?off|climb|retreat|recovery|spike|drops|gains|falls|losses|"
    r"discount|premium)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"^\s+([A-Za-z0-9][A-Za-z0-9&+'-]*)")
_PARTITIVE = {"its", "the", "their", "his", "her", "our", "these", "those", "all"}
_HAS_DIGIT = re.compile(r"\d")

# A range shares its scale and unit: "600,000 to 700,000 chips", "between 20 and 50 million yuan".
_RANGE_NEXT = re.compile(
    rf"^\s*(?:to|~|-|–|—|or|and)\s*(?P<cur>(?:{_PREFIX})\s?)?(?P<num>{NUM})(?!(?!{_TIGHT})[\w/]|\.\d|,\d)",
    re.IGNORECASE,
)
_DIGIT_DASH = re.compile(r"(?<=\d)[-–—](?=\d)")  # "600,000-700,000": both ends are numbers
_BETWEEN = re.compile(r"\bbetween\s*$", re.IGNORECASE)
# Reuters' footnote "($1 = 7.1756 Chinese yuan renminbi)": the rate is the price of a dollar
# in the quoted currency; the "$1" it converts is not a metric.
_FX_ONE = re.compile(
    r"(?<=\()\s*(?:(?:US|HK|NZ|A|S)?\$\s?1|[€£¥]\s?1|1\s+(?:(?:US|U\.S\.)\s+)?(?:dollar|euro|pound|yuan|yen|rupee)s?)"
    r"\s*(?==\s*(?:[$€£¥]|[A-Z]{2,3}\$?)?\s?\d)",
    re.IGNORECASE,
)
# A quote widget ("Inc$32.15-0.23%"): a last price and its signed change.
_QUOTE_WIDGET = re.compile(
    r"\$(?P<price>\d{1,3}(?:,\d{3})*\.\d{2,4})(?P<chg>[-+]\d{1,3}\.\d{1,3})%"
)
# A fraction of a whole is a percent: "more than a third of", "nearly a quarter of".
_FRACTION = re.compile(
    r"(?=[aotfAOTF])\b(?:(?P<one>a|one)[- ](?P<d>third|quarter|fifth|tenth|half)|(?P<n>two|three|four)[- ](?P<ds>thirds|quarters|fifths))"
    r"(?=\s+of\b)",
    re.IGNORECASE,
)
_DENOMINATORS = {"half": 2, "third": 3, "quarter": 4, "fifth": 5, "tenth": 10, "thirds": 3,
                 "quarters": 4, "fifths": 5}  # fmt: skip
_NUMERATORS = {"two": 2, "three": 3, "four": 4}
# Where a Reuters-style article ends; what follows is sign-off, topics and author bios.
_SIGN_OFF = re.compile(
    r"^(?:(?:Additional )?[Rr]eporting by\b|Writing by\b|Editing by\b|Compiled by\b|Our Standards:"
    r"|\*?\s*Suggested Topics)"
)
# "2.5 times faster", "three times the size", "oversubscribed 10 times": a ratio, a multiple.
_TIMES_RATIO_AFTER = re.compile(
    r"^\s+(?:faster|slower|higher|lower|more|less|larger|bigger|greater|smaller|cheaper|"
    r"as\b|that of\b|the (?:size|level|amount|number|rate|average|value)\b|over\b)",
    re.IGNORECASE,
)
# An exchange rate: "the yuan weakened to 7.1850 per dollar" is the price of a dollar in yuan.
_PER_DOLLAR_AFTER = re.compile(
    r"^\s+(?:per|to the|against the|a|versus the)\s+(?:US\s+|U\.S\.\s+|American\s+)?dollar\b",
    re.IGNORECASE,
)
_FX_NAME = re.compile(
    r"\b(?:(?P<CNY>yuan|renminbi|RMB|CNH)|(?P<JPY>yen)|(?P<KRW>won)|(?P<INR>rupee)|(?P<HKD>Hong Kong dollar|HK dollar)"
    r"|(?P<TWD>Taiwan dollar)|(?P<SGD>Singapore dollar)|(?P<MYR>ringgit)|(?P<THB>baht)|(?P<IDR>rupiah))\b",
    re.IGNORECASE,
)
_TIMES_RATIO_BEFORE = re.compile(r"\b(?:oversubscribed|subscribed|a factor of)\s*$", re.IGNORECASE)
# Index names with a number in them ("S&P 500", "CSI 300"): the number is part of the name.
_INDEX_DIGITS = re.compile(
    r"(?=[SCNFERAKITM])\b(?:S&P(?:/ASX)?|CSI|SSE|STAR(?: Market)?|Nikkei|FTSE|CAC|(?:Euro )?(?:STOXX|Stoxx)(?: Europe)?|"
    r"Nasdaq|NASDAQ|Russell|Nifty|NIFTY|ASX|KOSPI|Kospi|KOSDAQ|Kosdaq|IBEX|NZX|TOPIX|Topix|MSCI [A-Za-z]+)"
    r" ?A?(\d{2,4})\b(?![.,]\d)"
)
# Equity indexes as market wraps name them, and the words wraps use for "the index".
_INDEX_RE = re.compile(
    r"(?=[A-Zigb])(?:(?P<name>\bHang Seng(?: (?!Bank\b|Indexes\b|University\b|Management\b)[A-Z][A-Za-z&-]*){0,4}"
    r"(?: [Ii]ndex)?"
    r"|\b(?:HSI|HSCEI|HSTECH|HSTI|HS ?Tech|China Enterprises Index|H-share [Ii]ndex)\b"
    r"|\bCSI ?A?\d{2,4}(?: [Ii]ndex)?|\bSSE (?:Composite|\d{2,3})(?: [Ii]ndex)?|\bSTAR(?: Market)? ?50\b"
    r"|\bShanghai(?: Stock Exchange)? Composite(?: [Ii]ndex)?|\bShenzhen Com(?:ponent|posite)(?: [Ii]ndex)?"
    r"|\bChiNext(?: [Ii]ndex)?|\bNikkei(?: 225)?(?: [Ss]tock [Aa]verage| share average| average| [Ii]ndex)?"
    r"|\b(?:TOPIX|Topix|KOSPI|Kospi|KOSDAQ|Kosdaq|TAIEX|Taiex|SENSEX|Sensex|KLCI|PSEi|DJIA|NASDAQ)\b"
    r"|\bStraits Times [Ii]ndex|\b(?:S&P/)?ASX ?200|\bAll Ordinaries|\bNZX ?50|\b(?:NIFTY|Nifty)(?: 50)?"
    r"|\bJakarta Composite(?: [Ii]ndex)?|\bSET [Ii]ndex|\bS&P 500(?: [Ii]ndex)?"
    r"|\bDow Jones(?: Industrial Average)?|\bDow\b(?! Chemical| Inc| Jones &)"
    r"|\bNasdaq(?: Composite| 100)?(?: [Ii]ndex)?|\bRussell \d{4}|\bPhiladelphia (?:SE )?Semiconductor [Ii]ndex"
    r"|\bFTSE(?: \d{2,3}| MIB| All-Share)?|\b(?:Euro )?(?:STOXX|Stoxx)(?: Europe)? \d{2,3}"
    r"|\b(?:DAX|CAC 40|IBEX 35|AEX|SMI|TSX)\b|\bMSCI(?: [A-Z][A-Za-z-]*){1,4}(?: [Ii]ndex)?)"
    r"|(?P<generic>\b(?:[Ii]ndex|[Ii]ndices|[Ii]ndexes|gauge|benchmark|barometer)\b))"
)
# "the consumer price index", "the PMI": economic indexes, not market levels.
_ECONOMIC = re.compile(
    r"(?i:price|prices|PMI|managers'?|confidence|sentiment|inflation|production|output|activity|"
    r"freight|shipping|housing|property|home|dollar|currency|volatility|fear|diffusion|consumer|"
    r"producer|business|economic|leading|trade-weighted|rate|yield|bond)\W+(?:\w+\W+){0,2}$"
)
# What puts a bare number at a level: "fell 1.1% to 24,870.15", "closed at", "a high of".
_LEVEL_BEFORE = re.compile(
    r"\b(?:to|at|from|of|near|around|above|below|past|beyond|through|under|over|hit|hitting|"
    r"touched|touching|reached|reaching|reclaimed|reclaiming|breached|breaching|crossed|crossing|"
    r"topped|topping|regained|regaining|tested|testing|was|stood|is|as (?:high|low) as)\s+"
    r"(?:(?:the|a|about|around|roughly|nearly|almost|just|some|approximately|key|psychological|"
    r"psychologically|important|level|mark|high|low)\s+)*$",
    re.IGNORECASE,
)
# A point move without "points": "the HSI fell 123.4, or 0.5%," / "rose 88.2 to 25,010".
_MOVE_BEFORE = re.compile(
    r"\b(?:fell|rose|gained|lost|dropped|added|shed|climbed|slid|slipped|jumped|tumbled|declined|"
    r"advanced|rallied|surged|sank|plunged|down|up|ended|closed|finished|opened|was|traded)\s+"
    r"(?:(?:about|around|nearly|almost|some|"
    r"more than|over|roughly)\s+)*$",
    re.IGNORECASE,
)
_MOVE_AFTER = re.compile(
    r"^(?:\s*,?\s*or\s+[\d.]+\s*(?:%|per ?cent\b)|\s+(?:to|at)\s+\d|\s+(?:lower|higher)\b)",
    re.IGNORECASE,
)
_INDEX_LABEL_ONLY = re.compile(r"^\s*(?:[:=–—-]|\(|,)?\s*$")
# Where a new clause (with its own subject) starts before the number.
_CLAUSE_BREAK = re.compile(
    r"(?=[;wbvcdasWBVCDAS])(?:;|\bwhile\b|\bwhereas\b|\bbut\b|\bwhich\b|\bwho\b|\bwith\b|\bversus\b|\bvs\b|\bcompared with\b"
    r"|\bwhen\b|\bbecause\b|\bdespite\b|\bamid\b|\bsince\b"
    r"|(?<!high )(?<!low )(?<!much )(?<!many )(?<!far )\bas\b(?!\s+(?:high|low|much|many|well|far|of|part)\b)"
    r"|\b(?:after|before)\b(?!\s+\w+ing\b))",
    re.IGNORECASE,
)
# Between an index and a level: another subject means the level is someone else's.
_LEVEL_BLOCKERS = re.compile(
    r"\b(?:company|companies|firm|firms|shares?|revenue|profit|sales|prices?|bonds?|"
    r"yields?|yuan|dollars?|oil|gold|crude|bitcoin|currency|rates?|PMI|turnover|volume)\b"
)
_CAPITAL_WORD = re.compile(r"\b[A-Z][\w&.'’-]*")
_LEVEL_CAPITALS_OK = {
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep",
    "Sept", "Oct", "Nov", "Dec", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "Saturday", "Sunday", "Hong", "Kong", "HK", "Asia", "Asian", "China", "Chinese", "Japan",
    "Tokyo", "Shanghai", "Shenzhen", "Wall", "Street", "US", "U.S.", "The", "It", "Its", "In",
    "On", "At", "By", "During", "For", "From", "Over", "Up", "Down", "Earlier", "Later",
    "Index", "Hang", "Seng", "Tech", "TECH", "Composite", "Meanwhile", "Overall", "Year",
    "Week", "Month", "Session", "Morning", "Afternoon", "Midday", "Noon", "Thursday's",
    "Friday's", "Monday's", "Tuesday's", "Wednesday's", "Mainland",
}  # fmt: skip
# A valuation multiple without "times": "PE ratio of 18.3", "forward P/E of 14.2", "(P/E 10.8)".
_VALUATION_BEFORE = re.compile(
    r"(?:\b(?:P/?E|PE|P/?B|PB|PEG|EV/EBITDA|EV/EBIT|EV/[Ss]ales)"
    r"|(?i:\bprice[- ]to[- ](?:earnings|book|sales|book[- ]value|cash[- ]flow)|\bprice[/-](?:earnings|book)"
    r"|\bearnings multiple|\bvaluation multiple))"
    r"(?:[- ]TTM|[- ]ttm|\s*\([A-Za-z/ ]{1,10}\)|\s+(?i:ratios?|multiples?)){0,3}"
    r"(?:\s+(?i:of|at|is|was|are|were|stands|stood|stand|has|had|hit|reached|fell|rose|dropped|"
    r"climbed|declined|slipped|increased|to|around|about|approximately|roughly|near|nearly|just|"
    r"only|below|above|under|over|a|an|currently|now|some|close|barely|still|down|up))*"
    r"\s*[:=]?\s*$"
)
_VALUATION_ANY = re.compile(
    r"\b(P/?E|PE-TTM|P/?B|price[- ]to[- ]|valuation|multiple|earnings)", re.IGNORECASE
)
_PERCENTILE_AFTER = re.compile(r"^[\s\w-]{0,40}?\bpercentile\b", re.IGNORECASE)
_COUNTED_VOLUME = re.compile(r"\b([a-z]+) (?:volume|count|number)\b", re.IGNORECASE)
_WORD_REFERS_BACK = re.compile(
    r"(?:\b(?:the|these|those|its|their|our|both|all|his|her)|\w['’]s)\s*$", re.IGNORECASE
)
_CONSECUTIVE = re.compile(r"^\s+consecutive\b", re.IGNORECASE)
_QUALIFIER_RES = [
    (re.compile(rf"\b(?:{p})(?:\s+(?:a|the|net|of|by|to))*\s*$", re.IGNORECASE), name)
    for p, name in QUALIFIERS
]
_ANY_QUALIFIER = re.compile(
    "(?=[moespabnclufrtMOESPABNCLUFRT])(?:"
    + "|".join(rf"\b(?:{p})" for p, _ in QUALIFIERS)
    + r")(?:\s+(?:a|the|net|of|by|to))*\s*$",
    re.IGNORECASE,
)
_UP_RE = re.compile(rf"\b(?:{UP_VERBS})\b")
_DOWN_RE = re.compile(rf"\b(?:{DOWN_VERBS})\b")
_UP_TO = re.compile(r"\bup to\b")
_BASIS_RES = [(re.compile(rf"\b(?:{p})\b"), name) for p, name in BASES]
_SUBJECT_CLAUSE = re.compile(
    r"(?=[,;:(wa])(?:,\s|[;:(]|\bwhile\b|\bwith\b|\band\b(?= [a-z]+ (?:saw|reached|rose)))"
)


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


class _Num:
    """A number found in a sentence: where it is, and its cur/sign/num/word parts."""

    __slots__ = ("_end", "_groups", "_start")

    def __init__(self, start: int, end: int, groups: dict[str, str | None]) -> None:
        self._start, self._end, self._groups = start, end, groups

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, name: str) -> str | None:
        return self._groups.get(name)


def _numbers(masked: str) -> list[_Num]:
    """The numbers of a (masked) sentence, in order."""
    found: list[_Num] = []
    if _HAS_DIGIT.search(masked):
        for m in _DIGITS_RE.finditer(masked):
            start = m.start()
            prev = masked[start - 1] if start else " "
            cur = None
            if prev == " " or prev.isalpha() or prev in "$€£¥₹₩.":
                # a prefix is at most 4 characters, so the window also holds what its
                # lookbehind checks (or starts at the text's start)
                c = _CUR_BEFORE.search(masked[max(0, start - 8) : start])
                if c is not None:
                    cur = c.group()
                    start -= len(cur)
                elif prev != " ":
                    continue  # "H20", "US$" split oddly: not a number of its own
            groups = {"cur": cur, "sign": m.group("sign"), "num": m.group("num"), "word": None}
            found.append(_Num(start, m.end(), groups))
    low = masked.lower()
    if len(low) == len(masked):
        words = _WORD_NUM_RE.finditer(low)
    else:  # lowercasing changed offsets (rare non-ASCII): scan the original, ignoring case
        words = re.finditer(_WORD_NUM_RE.pattern, masked, re.IGNORECASE)
    for w in words:
        word = masked[w.start() : w.end()]
        found.append(
            _Num(w.start(), w.end(), {"cur": None, "sign": None, "num": None, "word": word})
        )
    found.sort(key=_Num.start)
    return found


def _number_value(m: _Num) -> float:
    if m.group("word"):
        return float(WORD_NUMBERS[(m.group("word") or "").lower()])
    return float((m.group("num") or "0").replace(",", ""))


def _last_words(text: str, n: int) -> str:
    return " ".join(text[-120:].split()[-n:])


def _qualifier(before: str) -> tuple[str, int] | None:
    """The bound qualifier just before a number, and where it starts in ``before``."""
    tail = before[-60:]
    if not _ANY_QUALIFIER.search(tail):
        return None
    offset = len(before) - len(tail)
    for pattern, name in _QUALIFIER_RES:
        m = pattern.search(tail)
        if m:
            return name, offset + m.start()
    return None


def _direction(before: str) -> str | None:
    tail = _UP_TO.sub(" ", _last_words(before, 5).lower())
    if _UP_RE.search(tail):
        return "up"
    if _DOWN_RE.search(tail):
        return "down"
    return None


def _basis(before: str, after: str) -> str | None:
    window = (_last_words(before, 6) + " | " + " ".join(after[:80].split()[:5])).lower()
    for pattern, name in _BASIS_RES:
        if pattern.search(window):
            return name
    return None


def _subject(before: str) -> str | None:
    """The noun phrase the clause says the number is about, when it says one."""
    clause = _SUBJECT_CLAUSE.split(before)[-1]
    verbs = SUBJECT_VERBS.search(clause)
    if not verbs:
        return None
    head = clause[: verbs.start()].strip()
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


def _title_case(sentence: str) -> bool:
    """A headline in title case ("Tencent Sells 5 Million Shares"): capitals say nothing."""
    words = [w for w in sentence.split() if len(w) > 3 and w[0].isalpha()]
    return len(words) >= 2 and all(w[0].isupper() for w in words)


def _count_unit(after: str, sentence: str) -> str | None:
    """The counted noun: up to two modifiers, then a plural noun ("derivative models")."""
    rest = after
    words: list[str] = []
    for _ in range(6):
        m = _WORD.match(rest)
        if not m:
            break
        words.append(m.group(1))
        rest = rest[m.end() :]
    ranks = _RANK_WORDS
    if len(words) > 2 and words[0] == "of" and words[1].lower() in _PARTITIVE:
        words = words[2:]  # "384 of its latest 910C chips", "five of the biggest banks"
        ranks = set()
    for word in words[:4]:
        low = word.lower()
        if low in _COUNT_STOP or low in ranks:
            return None
        if low in _IRREGULAR_PLURALS or (
            low.endswith("s") and not low.endswith("ss") and len(low) > 3 and low.isalpha()
        ):
            if word[0].isupper() and word[1:].islower() and not _title_case(sentence):
                return None  # "One 97 Communications": a name, not a count
            return low
    return None


_YEAR = re.compile(r"(19|20)\d{2}")


def _looks_like_year(m: _Num, unit_found: bool) -> bool:
    num = m.group("num")
    return num is not None and not unit_found and _YEAR.fullmatch(num) is not None


@dataclass
class _Scaled:
    """What follows a number: its scale word and its unit, and the text after both."""

    scale: float
    scale_len: int
    tight_upper: bool  # an attached capital K/M/B: a scale after a currency, else a model name
    unit: str | None  # pct, bp, pts, times, x, an ISO currency, or None
    unit_len: int
    after: str


def _scale_and_unit(after: str, is_word: bool) -> _Scaled:
    scale, scale_len = 1.0, 0
    tight_upper = False
    scale_m = _SCALE_RE.match(after)
    if scale_m and not (scale_m.group("tight") and is_word):
        tight_upper = scale_m.group("tight") is not None and scale_m.group("tight").isupper()
        word = (scale_m.group("scale") or scale_m.group("tight") or "").lower()
        scale, scale_len = SCALES[word], scale_m.end()
        after = after[scale_len:]
    unit: str | None = None
    unit_len = 0
    unit_m = _UNIT_RE.match(after)
    if unit_m:
        name = unit_m.lastgroup or ""
        hyphen = unit_m.group("lead") == "-"
        if name.startswith("c_"):
            unit = name.split("_")[1]
        elif (
            not hyphen
            or name == "pct"
            or (name == "pts" and _POINT_ADJ_NOUN.match(after[unit_m.end() :]))
        ):
            unit = name
        if unit is not None:
            unit_len = unit_m.end()
            after = after[unit_len:]
    return _Scaled(scale, scale_len, tight_upper, unit, unit_len, after)


_IT = re.compile(r"It\b(?!['’]s\s+(?:a|an|the)\b)")


def _index_subject_of(sentence: str) -> bool:
    """Whether an index is what the sentence is about: named at its start."""
    m = _INDEX_RE.search(sentence[:60])
    return m is not None and m.start() < 30 and not m.group("generic")


class _Context:
    """Per-sentence facts computed once, and only when a rule needs them."""

    __slots__ = ("_indexes", "masked", "previous", "text")

    def __init__(self, text: str, masked: str, previous: str | None = None) -> None:
        self.text = text
        self.masked = masked
        self.previous = previous  # the sentence before, in the same paragraph
        self._indexes: list[tuple[int, int]] | None = None

    @property
    def indexes(self) -> list[tuple[int, int]]:
        if self._indexes is None:
            spans: list[tuple[int, int]] = []
            for m in _INDEX_RE.finditer(self.text):
                if m.group("generic") and _ECONOMIC.search(
                    self.text[max(0, m.start() - 40) : m.start()]
                ):
                    continue
                spans.append((m.start(), m.end()))
            if self.previous and _IT.match(self.text) and _index_subject_of(self.previous):
                spans.insert(0, (0, 2))  # "The Hang Seng Index fell 1.1%. It closed at ..."
            self._indexes = spans
        return self._indexes


class MetricExtractor:
    """Extracts distinct metrics from the sentences of an English article."""

    def extract(self, sents: list[Sentence], published: date | None) -> list[Metric]:
        found: dict[tuple[str, float, str], Metric] = {}
        table: list[_Column | None] | None = None
        for group in _paragraph_groups(sents):
            metrics: list[Metric] | None = None
            para, start = _paragraph_text(group)
            if _SIGN_OFF.match(para):
                break
            if "|" in para or "(" in para or table is not None:
                header = _table_header(para)
                if header is not None:
                    table = header
                    continue
                if table is not None:
                    metrics = _table_row(para, start, table)
                    if metrics is None:
                        table = None
            if metrics is None:
                metrics = []
                for i, sent in enumerate(group):
                    previous = group[i - 1].text if i else None
                    metrics.extend(self._sentence(sent, published, previous))
            for metric in metrics:
                merge_mention(found, metric)
        return sorted(found.values(), key=lambda m: m.start)

    def _sentence(
        self, sent: Sentence, published: date | None, previous: str | None = None
    ) -> list[Metric]:
        text = sent.text
        masked = text
        dates: list[DateMention] = []
        if _HAS_DIGIT.search(text):
            masked = NUMERIC_DATE_RE.sub(spaces, masked)
            if "-" in text or "–" in text or "—" in text:
                masked = _DIGIT_DASH.sub("~", masked)
            masked = _INDEX_DIGITS.sub(_blank_digits, masked)
            if "=" in text:
                masked = _FX_ONE.sub(spaces, masked)
            dates = dates_in(text, published)
            for d in dates:
                masked = masked[: d.start] + " " * (d.end - d.start) + masked[d.end :]
        out: list[Metric] = []
        if "$" in text:
            for w in _QUOTE_WIDGET.finditer(text):
                out.extend(_widget_metrics(w, sent))
                masked = masked[: w.start()] + " " * (w.end() - w.start()) + masked[w.end() :]
        if "of" in text:
            for f in _FRACTION.finditer(masked):
                out.append(_fraction_metric(f, masked, sent))
        ctx = _Context(text, masked, previous)
        consumed = 0  # "two dozen": the scale word is not a number of its own
        for m in _numbers(masked):
            if m.start() < consumed:
                continue
            scale_m = _SCALE_RE.match(masked[m.end() : m.end() + 12])
            if scale_m:
                consumed = m.end() + scale_m.end()
            metric = self._classify(m, ctx, sent)
            if metric is not None:
                out.append(metric)
        if dates:
            _attach_dates(out, dates, sent.start)
        return out

    def _classify(self, m: _Num, ctx: _Context, sent: Sentence) -> Metric | None:
        masked, text = ctx.masked, ctx.text
        before, after = masked[: m.start()], masked[m.end() :]
        if _NOT_A_QUANTITY_BEFORE.search(before[-20:]):
            return None
        value = _number_value(m)
        is_word = m.group("word") is not None
        follow = _scale_and_unit(after, is_word)
        if is_word and follow.scale == 1.0 and value < 2:
            return None  # "one of", "one person": not a quantity
        cur_prefix = (m.group("cur") or "").strip()
        if follow.tight_upper and not cur_prefix and follow.unit is None:
            return None  # "910B chips": a model name; "$2.5B", "2.5B yuan" keep their scale
        currency = _PREFIX_CODES.get(cur_prefix.upper()) if cur_prefix else None
        if cur_prefix and currency is None:
            return None
        if cur_prefix == "$" and follow.scale == 1.0 and _HK_LISTED.search(masked):
            # "XIAOMI-W (01810.HK) closed at $16.52": a Hong Kong listing trades in HK dollars,
            # and Hong Kong's English press writes them "$" (Reuters writes "HK$", and "$2.5
            # billion" beside a code is still a US-dollar amount: prices only)
            currency = "HKD"
        count_after = follow.after
        unit = follow.unit
        scale = follow.scale
        if unit is None and currency is None:
            borrowed = _range_partner(before, follow.after, value, scale)
            if borrowed is not None:
                scale, unit, count_after = borrowed
        if unit == "KRW" and is_word:
            return None  # "the two won praise"
        if _looks_like_year(m, bool(unit or scale != 1.0 or currency)):
            return None
        sign = -1.0 if m.group("sign") in ("-", "−") else 1.0
        number = sign * value * scale
        kind, unit_code = self._kind(
            number, unit, currency, scale != 1.0, masked, before, follow.after
        )
        if kind is None or unit_code is None:
            if unit or currency:
                return None
            kind, unit_code = self._bare(
                m, ctx, before, count_after, follow.after, value, scale, is_word
            )
            if kind is None or unit_code is None:
                return None
        end = m.end() + follow.scale_len + follow.unit_len
        if kind == "count" and follow.unit is None:
            noun_at = masked.lower().find(unit_code, end)
            end = noun_at + len(unit_code) if noun_at >= 0 else end
        found_q = _qualifier(before)
        qualifier = found_q[0] if found_q else None
        start = found_q[1] if found_q else m.start()
        return Metric(
            kind=kind,
            value=_clean(number),
            unit=unit_code,
            text=text[start:end].strip(),
            sentence=text,
            start=sent.start + m.start(),
            subject=_subject(text[max(0, m.start() - 240) : m.start()]),
            qualifier=qualifier,
            basis=_basis(before, follow.after) if kind in ("percent", "money", "count") else None,
            direction=_direction(before)
            if kind in ("percent", "money", "price", "index_points")
            else None,
            spans=[(sent.start + m.start(), sent.start + m.end())],
        )

    def _kind(
        self,
        number: float,
        unit: str | None,
        currency: str | None,
        scaled: bool,
        sentence: str,
        before: str,
        after: str,
    ) -> tuple[str | None, str | None]:
        if unit == "pct":
            if _PERCENTILE_AFTER.match(after):
                return "percentile", "pct"
            return "percent", "pct"
        if unit == "pts" and currency is None:
            return "index_points", "points"
        if unit in ("times", "x"):
            if not scaled and (
                _VALUATION_ANY.search(sentence)
                or _TIMES_RATIO_AFTER.match(after)
                or _TIMES_RATIO_BEFORE.search(before[-30:])
            ):
                return "multiple", "x"
            counted = _COUNTED_VOLUME.search(before) if unit == "times" else None
            if counted:
                return "count", counted.group(1).lower() + "s"  # "download volume ... times"
            return None, None  # "three times in a year", "2x leveraged": how often, not how much
        if unit is not None and len(unit) == 3 and unit.isupper():
            currency = currency or unit
        if currency is None:
            return None, None
        if scaled or abs(number) >= 100_000:
            return "money", currency
        return "price", currency

    def _bare(
        self,
        m: _Num,
        ctx: _Context,
        before: str,
        after: str,
        raw_after: str,
        value: float,
        scale: float,
        is_word: bool,
    ) -> tuple[str | None, str | None]:
        """A number with no unit: a valuation multiple, a count, an index level or move."""
        plain = scale == 1.0 and not is_word and not m.group("sign")
        if plain and 0 < value < 1000 and _VALUATION_BEFORE.search(before[-60:]):
            return "multiple", "x"
        if plain and _TIMES_RATIO_BEFORE.search(before[-30:]):
            return "multiple", "x"  # "by a factor of 10,000"
        if plain and value < 100_000 and _PER_DOLLAR_AFTER.match(after):
            names = list(_FX_NAME.finditer(before))
            if names and names[-1].lastgroup:
                return "price", names[-1].lastgroup
        counted = self._count(m, before, after, scale, ctx.text)
        if counted is not None:
            return "count", counted
        if plain and value >= 100 and _index_level(m.start(), before, ctx):
            return "index_points", "points"
        if (
            plain
            and _MOVE_BEFORE.search(before[-40:])
            and _MOVE_AFTER.match(raw_after)
            and _index_subject(m.start(), before, ctx)
        ):
            return "index_points", "points"  # "the HSI fell 123.4, or 0.5%, to ..."
        if scale >= 1e6 and not m.group("sign"):
            noun = _count_before(before, ctx.text[: m.start()])
            if noun is not None:
                return "count", noun
        return None, None

    def _count(self, m: _Num, before: str, after: str, scale: float, sentence: str) -> str | None:
        noun = _count_unit(after, sentence)
        if noun is None or noun in _NOT_COUNT_NOUNS:
            return None
        if m.group("word") and _WORD_REFERS_BACK.search(before[-30:]):
            return None  # "the two platforms" refers back; it does not measure
        if after.startswith("-") or before.endswith("-"):
            return None  # "5-month", "60-day": adjectives, not counts
        if noun in TIME_UNITS and scale < 1e6 and not _CONSECUTIVE.match(after):
            return None  # durations ("past 10 years", "two weeks") are not metrics
        if noun == "sources" or (
            noun in _SOURCE_NOUNS
            and _SOURCING.search(
                after[after.lower().find(noun) + len(noun) :] if noun in after.lower() else ""
            )
        ):
            return None  # "two people familiar with the matter": who said it, not what

        return noun


# "daily orders ... reached an all-time high of 120 million": the counted noun is the subject.
_COUNT_BACK_BEFORE = re.compile(
    r"\b(?:to|at|of|reached|reaching|hit|hitting|crossing|crossed|topped|topping|exceeded|exceeding|"
    r"surpassed|surpassing|past|over|above|totall?ed|totall?ing|numbered|numbering|was|were|is|are)\s+"
    r"(?:(?:the|a|an|about|around|roughly|nearly|almost|just|some|approximately|more than|record|"
    r"all-time|new|high|peak)\s+)*$"
)
_PLURAL_NOUN = re.compile(r"(?<![\w'’-])[a-z][a-z-]{2,}s\b(?!['’-])")
_NOT_SUBJECT_NOUNS = {
    "sales", "revenues", "earnings", "profits", "losses", "assets", "funds", "proceeds",
    "expenses", "costs", "prices", "savings", "reserves", "deposits", "loans", "bonds",
    "exports", "imports", "inflows", "outflows", "investments", "holdings", "securities",
    "gains", "valuations", "analysts", "sources", "officials", "executives", "years",
    "months", "weeks", "days", "quarters", "decades", "this", "thus", "plus", "status",
    "bonus", "news", "series", "economics", "times", "terms", "its", "has", "was", "does",
    "says", "towards", "afterwards", "whereas", "across", "always", "perhaps", "sometimes",
    "rates", "yields", "taxes", "tariffs", "subsidies", "wages", "levels", "points", "percents",
}  # fmt: skip
_MONEY_WORDS = re.compile(
    r"\b(?:revenue|sales|profit|income|value|valued|worth|cost|costs|price|spending|investment|"
    r"capex|fund|budget|turnover|valuation|capitali[sz]ation|cap|loss|debt|cash|dollars?|yuan|euros?|"
    r"proceeds|deal|GDP|economy|salary|fee|fees)\b|[$€£¥]",
    re.IGNORECASE,
)


def _count_before(before: str, original: str) -> str | None:
    """The plural noun a scaled bare number counts when the noun is the clause's subject."""
    if not _COUNT_BACK_BEFORE.search(before[-60:]):
        return None
    window = max(0, len(before) - 160)
    breaks = list(_CLAUSE_BREAK.finditer(before, window))
    clause_start = breaks[-1].end() if breaks else window
    clause = original[clause_start:]
    if _MONEY_WORDS.search(clause):
        return None
    for noun in _PLURAL_NOUN.finditer(clause):
        word = noun.group()
        if word in _NOT_SUBJECT_NOUNS or word.endswith(("ss", "us")):
            continue
        return word
    return None


def _widget_metrics(w: re.Match[str], sent: Sentence) -> list[Metric]:
    price, chg = float(w.group("price").replace(",", "")), float(w.group("chg"))
    # the change as printed, positive, with its direction (labels/README.md)
    at = sent.start + w.start()
    return [
        Metric("price", price, "USD", "$" + w.group("price"), sent.text, at,
               spans=[(at, at + 1 + len(w.group("price")))]),
        Metric("percent", abs(chg), "pct", w.group("chg") + "%", sent.text, at + 1 + len(w.group("price")),
               direction="down" if chg < 0 else "up",
               spans=[(at + 1 + len(w.group("price")), sent.start + w.end())]),
    ]  # fmt: skip


def _fraction_metric(f: re.Match[str], masked: str, sent: Sentence) -> Metric:
    denominator = _DENOMINATORS[(f.group("d") or f.group("ds")).lower()]
    numerator = _NUMERATORS[f.group("n").lower()] if f.group("n") else 1
    before = masked[: f.start()]
    found_q = _qualifier(before)
    start = found_q[1] if found_q else f.start()
    return Metric(
        kind="percent",
        value=100 * numerator / denominator,
        unit="pct",
        text=sent.text[start : f.end()],
        sentence=sent.text,
        start=sent.start + f.start(),
        qualifier=found_q[0] if found_q else None,
        direction=_direction(before),
        spans=[(sent.start + f.start(), sent.start + f.end())],
    )


def _range_partner(
    before: str, after: str, value: float, scale: float
) -> tuple[float, str | None, str] | None:
    """The scale, unit (a currency among them) and following text a range's first number
    borrows from its second: "600,000 to 700,000 H20 chips", "between 20 and 50 million yuan",
    "2 to 3%". A second number with its own currency prefix ("HK$5 to HK$6") needs nothing."""
    r = _RANGE_NEXT.match(after)
    if r is None or r.group("cur"):
        return None
    if r.group(0).lstrip().startswith("and") and not _BETWEEN.search(before):
        return None
    partner = _scale_and_unit(after[r.end() :], False)
    if scale != 1.0 and partner.scale == 1.0:
        return None  # "30 million to 60 yuan": not one range
    if scale == 1.0 and partner.scale != 1.0:
        if value >= float(r.group("num").replace(",", "")):
            return None  # "500 to 1 billion": the first is not in billions
        scale = partner.scale
    return scale, partner.unit, partner.after


def _index_level(pos: int, before: str, ctx: _Context) -> bool:
    """A bare number is an index level when its clause's subject is an index and a level verb
    puts it there ("the Hang Seng Index fell 1.1% to 24,870.15"), or it follows the name."""
    if _LEVEL_BEFORE.search(before[-60:]):
        return _index_subject(pos, before, ctx)
    prior = [s for s in ctx.indexes if s[1] <= pos]
    return bool(prior) and _INDEX_LABEL_ONLY.match(ctx.text[prior[-1][1] : pos]) is not None


def _index_subject(pos: int, before: str, ctx: _Context) -> bool:
    """Whether the clause that holds ``pos`` is about an index named before it, with no other
    subject (a company, shares, a price) between the name and the number."""
    prior = [s for s in ctx.indexes if s[1] <= pos]
    if not prior:
        return False
    end = prior[-1][1]
    between = ctx.text[end:pos]
    if _CLAUSE_BREAK.search(before, end):
        return False
    if _LEVEL_BLOCKERS.search(between):
        return False
    return all(
        w.group().rstrip(".,") in _LEVEL_CAPITALS_OK for w in _CAPITAL_WORD.finditer(between)
    )


@dataclass(frozen=True)
class _Column:
    kind: str
    unit: str
    scale: float = 1.0


_TABLE_CURRENCY = re.compile(
    r"(HK\$|US\$|NT\$|S\$|A\$|RMB|CNY|HKD|USD|EUR|JPY|€|£|¥|\byuan\b|\$)\s*"
    r"(m|mn|mln|bn|b|million|billion|k|'000)?(?![A-Za-z])",
    re.IGNORECASE,
)
_TABLE_MONEY_WORDS = re.compile(
    r"turnover|value|amount|cap\b|capitali[sz]ation|revenue|sales|profit|income|inflows?|outflows?|"
    r"net buy|flows?|proceeds",
    re.IGNORECASE,
)
_TABLE_CELL_NUMBER = re.compile(
    rf"^(?P<sign>[-+−])?\s*(?:HK\$|US\$|\$)?\s*(?P<num>{NUM})\s*(?:%|x)?$", re.IGNORECASE
)
_TABLE_SEPARATOR = re.compile(r"^[\s|:+=-]+$")
_UNIT_PAREN = re.compile(r"\(([^()]{1,12})\)")
_LEVEL_COLUMN = _Column("level", "points")
_HEADER_NOT = re.compile(r"\d\s*%|[$€£¥]\s?\d")  # "rises 5%", "$4100": a line that reports


def _column(cell: str) -> _Column | None:
    """The unit a table header cell gives its column: "Close (HK$)", "Change (%)"."""
    low = cell.lower()
    if "%" in cell or re.search(r"\b(?:pct|per ?cent)\b", low):
        return _Column("percentile" if "percentile" in low else "percent", "pct")
    cur = _TABLE_CURRENCY.search(cell)
    if cur:
        code = _PREFIX_CODES.get(
            cur.group(1).upper(), "CNY" if cur.group(1).lower() == "yuan" else None
        )
        if code is None:
            return None
        word = (cur.group(2) or "").lower()
        scale = 1e3 if word == "'000" else SCALES.get(word, 1.0)
        money = scale != 1.0 or _TABLE_MONEY_WORDS.search(cell)
        return _Column("money" if money else "price", code, scale)
    if re.search(r"\b(?:pts|points)\b", low):
        return _Column("index_points", "points")
    if re.search(r"\(x\)|\bP/?E\b|\bP/?B\b|\bmultiple\b", cell):
        return _Column("multiple", "x")
    if re.search(r"\bshares\b", low):
        scale_m = re.search(r"\b(m|mn|mln|million|bn|billion|k|'000)\b", low)
        word = scale_m.group(1) if scale_m else ""
        return _Column("count", "shares", 1e3 if word == "'000" else SCALES.get(word, 1.0))
    if low.strip() in ("close", "closing", "last", "level", "index level", "closing level"):
        return _LEVEL_COLUMN
    return None


def _table_header(para: str) -> list[_Column | None] | None:
    """The columns of a plain-text table header: "Stock | Close (HK$) | Change (%)", or a
    line of labels with units in brackets ("Price (HKD)")."""
    if len(para) > 200 or para.rstrip().endswith(".") or _HEADER_NOT.search(para):
        return None
    if "|" in para:
        cells = _cells(para)
        if len(cells) < 2 or any(len(c) > 40 or _TABLE_CELL_NUMBER.match(c) for c in cells):
            return None
        columns = [_column(c) for c in cells]
    else:
        units = list(_UNIT_PAREN.finditer(para))
        if not units or len(para.split()) > 12:
            return None
        rest = _UNIT_PAREN.sub(" ", para)
        if _HAS_DIGIT.search(rest):
            return None
        columns = []
        for u in units:
            columns.append(_column(u.group(0)))
        columns.extend(None for _ in para[units[-1].end() :].split())
        columns.insert(0, None)  # the row label
    if not any(c is not None and c is not _LEVEL_COLUMN for c in columns):
        return None
    return columns


def _cells(row: str) -> list[str]:
    cells = [c.strip() for c in row.split("|")]
    if cells and not cells[0]:
        cells = cells[1:]
    if cells and not cells[-1]:
        cells = cells[:-1]
    return cells


def _table_row(para: str, start: int, columns: list[_Column | None]) -> list[Metric] | None:
    """The metrics of a table row under ``columns``, or None when the line is not a row."""
    if _TABLE_SEPARATOR.match(para):
        return []
    if "|" in para:
        cells = _cells(para)
        if len(cells) != len(columns):
            return None
        positions: list[int] = []
        at = 0
        for c in cells:
            at = para.find(c, at)
            positions.append(at)
            at += len(c)
    else:
        tokens = para.split(" ")
        numeric = len(columns) - 1
        if len(tokens) <= numeric:
            return None
        tail = tokens[-numeric:]
        if not all(_TABLE_CELL_NUMBER.match(t) for t in tail):
            return None
        label = " ".join(tokens[:-numeric])
        if not re.search(r"[A-Za-z]", label) or _TABLE_CELL_NUMBER.match(tokens[-numeric - 1]):
            return None
        cells = [label, *tail]
        positions = [0]
        at = len(label)
        for c in tail:
            at = para.find(c, at)
            positions.append(at)
            at += len(c)
    row_label = next((c for c, col in zip(cells, columns, strict=True) if col is None and c), None)
    named = _INDEX_RE.match(row_label) if row_label else None
    is_index = named is not None and not named.group("generic")
    out: list[Metric] = []
    for cell, column, pos in zip(cells, columns, positions, strict=True):
        if column is None:
            continue
        if column is _LEVEL_COLUMN:
            if not is_index:
                continue
            column = _Column("index_points", "points")
        n = _TABLE_CELL_NUMBER.match(cell)
        if n is None:
            continue
        sign = -1.0 if n.group("sign") in ("-", "−") else 1.0
        # the value as printed; its sign gives the direction
        value = float(n.group("num").replace(",", "")) * column.scale
        out.append(
            Metric(
                kind=column.kind,
                value=_clean(value),
                unit=column.unit,
                text=cell,
                sentence=para,
                start=start + pos,
                subject=row_label,
                direction=("down" if sign < 0 else "up" if n.group("sign") else None)
                if column.kind in ("percent", "price", "money", "index_points")
                else None,
                spans=[(start + pos, start + pos + len(cell))],
            )
        )
    return out


def _paragraph_groups(sents: list[Sentence]) -> Iterator[list[Sentence]]:
    group: list[Sentence] = []
    for sent in sents:
        if group and sent.paragraph != group[0].paragraph:
            yield group
            group = []
        group.append(sent)
    if group:
        yield group


def _paragraph_text(group: list[Sentence]) -> tuple[str, int]:
    """The paragraph the sentences came from (sentences are split on whitespace)."""
    if len(group) == 1:
        return group[0].text, group[0].start
    first = group[0]
    parts = [first.text]
    end = first.start + len(first.text)
    for sent in group[1:]:
        parts.append(" " * max(0, sent.start - end))
        parts.append(sent.text)
        end = sent.start + len(sent.text)
    return "".join(parts), first.start


def _blank_digits(m: re.Match[str]) -> str:
    s, e = m.span(1)
    whole = m.group()
    return whole[: s - m.start()] + "_" * (e - s) + whole[e - m.start() :]


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


def merge_mention(found: dict[tuple[str, float, str], Metric], metric: Metric) -> None:
    """One metric per distinct (kind, value, unit): a repeat adds a mention and its span,
    and fills what the first mention left unsaid (subject, qualifier, basis, ...)."""
    prior = found.get(metric.key)
    if prior is None:
        found[metric.key] = metric
        return
    prior.mentions += 1
    prior.spans.extend(metric.spans)
    for name in ("subject", "qualifier", "basis", "direction", "date"):
        if getattr(prior, name) is None and getattr(metric, name) is not None:
            setattr(prior, name, getattr(metric, name))


def _clean(value: float) -> float:
    """Scaled decimals without binary noise: 540.3 billion is 540300000000.0 exactly."""
    return float(f"{value:.10g}") if value == value else value


__all__ = ["Metric", "MetricExtractor", "merge_mention"]
