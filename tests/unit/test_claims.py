"""Claims as market wraps state them, English and Chinese (both scripts), and their checks.

Extraction goes through the worker's edge (``through_edge``); the sentences are written for
these tests in the style of real wraps. Checks run against day records that an independent
pandas reference builds from the real closes in ../shared/data/quotes (previous close, SMA,
streak): nothing of windvane's quote code computes the numbers a verdict is compared with.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from streams.domain.articles.claims import check_claim
from tests.edge import article_record, through_edge
from tests.reference import closes, shared_path

pytestmark = pytest.mark.unit


def claims_of(text: str, published_at: str, lang: str = "zho") -> list[dict[str, Any]]:
    enriched = through_edge(article_record(text, published_at, lang))
    claims: list[dict[str, Any]] = enriched["claims"]
    return claims


def has(claims: list[dict[str, Any]], **want: Any) -> bool:
    return any(all(c.get(k) == v for k, v in want.items()) for c in claims)


# -- extraction: what a reader of the wrap would check -----------------------------------
HK_AFTER_CLOSE = "2025-08-22T09:30:00Z"  # 17:30 in Hong Kong, Friday
HK_MORNING = "2025-08-22T01:00:00Z"  # 09:00 in Hong Kong, before the open
HK_MIDDAY = "2025-08-22T04:00:00Z"  # 12:00 in Hong Kong, session open

EXTRACTION = [
    # Traditional, a Taiwan-style wrap: change, points, close, weekly change, weekly streak
    ("zho", HK_AFTER_CLOSE,
     "港股方面，恆指終場收於25,210.55點，上漲188.3點或0.75%；以週線來看，本週漲1.2%、週K連4紅。",
     [dict(type="index_level", symbol="HSI", value=25210.55, field="close", date="2025-08-22"),
      dict(type="index_change_points", symbol="HSI", value=188.3, period="day", date="2025-08-22"),
      dict(type="index_change_pct", symbol="HSI", value=0.75, period="day", date="2025-08-22"),
      dict(type="index_change_pct", symbol="HSI", value=1.2, period="week", date="2025-08-22"),
      dict(type="streak", symbol="HSI", count=4, unit="weeks", direction="up", date="2025-08-22")]),
    # Simplified, mainland style: 收跌, hedged 近, a streak in 连N跌 form
    ("zho", HK_AFTER_CLOSE, "恒生指数收跌近2%，连2跌；恒生科技指数跌3.15%。",
     [dict(type="index_change_pct", symbol="HSI", value=-2.0, qualifier="nearly"),
      dict(type="streak", symbol="HSI", count=2, unit="days", direction="down"),
      dict(type="index_change_pct", symbol="HSTECH", value=-3.15, date="2025-08-22")]),
    # a title naming two indexes: each gets its own claims, 沪指 without a symbol
    ("zho", HK_AFTER_CLOSE, "《陸股》滬指漲0.42%、連三揚；恆指失守20日線",
     [dict(type="index_change_pct", instrument="滬指", symbol=None, value=0.42),
      dict(type="streak", instrument="滬指", symbol=None, count=3, direction="up"),
      dict(type="ma_cross", symbol="HSI", window=20, direction="below", date="2025-08-22")]),
    # moving-average lines in Hong Kong wording, two windows at once, 科指 for HSTECH
    ("zho", HK_AFTER_CLOSE, "恒指重上10天及50天線，科指則跌穿60日均線。",
     [dict(type="ma_cross", symbol="HSI", window=10, direction="above"),
      dict(type="ma_cross", symbol="HSI", window=50, direction="above"),
      dict(type="ma_cross", symbol="HSTECH", window=60, direction="below")]),
    # open gap, open level, intraday high and low, a close: the session's own numbers
    ("zho", HK_AFTER_CLOSE,
     "恒指高開86點，報25,190點，盤中最高見25,388點，最低見25,101點，尾市收報25,339點。",
     [dict(type="index_change_points", symbol="HSI", value=86.0, field="open"),
      dict(type="index_level", symbol="HSI", value=25190.0, field="open"),
      dict(type="index_level", symbol="HSI", value=25388.0, field="high"),
      dict(type="index_level", symbol="HSI", value=25101.0, field="low"),
      dict(type="index_level", symbol="HSI", value=25339.0, field="close")]),
    # a streak that the day ended is dated the session before
    ("zho", "2025-08-04T09:30:00Z", "恒指收涨0.5%，终止连四日走跌。",
     [dict(type="streak", symbol="HSI", count=4, direction="down", date="2025-08-01")]),
    # full-width digits and signs are read as ASCII
    ("zho", HK_AFTER_CLOSE, "恒指跌１．２％，報２５，０１０點。",
     [dict(type="index_change_pct", symbol="HSI", value=-1.2)]),
    # 均: every index the sentence named
    ("zho", HK_AFTER_CLOSE, "以週線來看，上證指數本週漲2.1%、深證成指漲3.3%，週K均連2紅。",
     [dict(type="index_change_pct", instrument="上證指數", value=2.1, period="week"),
      dict(type="index_change_pct", instrument="深證成指", value=3.3, period="week"),
      dict(type="streak", instrument="上證指數", count=2, unit="weeks"),
      dict(type="streak", instrument="深證成指", count=2, unit="weeks")]),
    # a list of stocks before one predicate: each one (registry stocks get their symbol)
    ("zho", HK_AFTER_CLOSE, "盤面上，美團(3690.HK)、騰訊(0700.HK)漲逾2%。",
     [dict(type="index_change_pct", symbol="3690.HK", value=2.0, qualifier="over"),
      dict(type="index_change_pct", symbol="0700.HK", value=2.0, qualifier="over")]),
    # English: Reuters-style close with points, percent and level; the tech index too
    ("eng", HK_AFTER_CLOSE,
     "Hong Kong's Hang Seng Index rose 0.81%, or 203.4 points, to 25,330.2, while the Hang "
     "Seng Tech Index climbed 1.9%.",
     [dict(type="index_change_pct", symbol="HSI", value=0.81, date="2025-08-22"),
      dict(type="index_change_points", symbol="HSI", value=203.4),
      dict(type="index_level", symbol="HSI", value=25330.2, field="close"),
      dict(type="index_change_pct", symbol="HSTECH", value=1.9)]),
    ("eng", HK_AFTER_CLOSE,
     "At the close, the Hang Seng index was down 152.1 points or 0.6% at 25,002.7. For the "
     "week, the benchmark gained 1.1%, its second straight weekly rise.",
     [dict(type="index_change_points", symbol="HSI", value=-152.1),
      dict(type="index_change_pct", symbol="HSI", value=-0.6, period="day"),
      dict(type="index_level", symbol="HSI", value=25002.7, field="close"),
      dict(type="index_change_pct", symbol="HSI", value=1.1, period="week"),
      dict(type="streak", symbol="HSI", count=2, unit="weeks", direction="up")]),
    ("eng", HK_AFTER_CLOSE,
     "The Hang Seng ended 1.4% lower, falling for a third straight session, and slipped below "
     "its 60-day moving average.",
     [dict(type="index_change_pct", symbol="HSI", value=-1.4),
      dict(type="streak", symbol="HSI", count=3, unit="days", direction="down"),
      dict(type="ma_cross", symbol="HSI", window=60, direction="below")]),
    # the year so far, and the day after it; the morning session's close is no close
    ("zho", HK_AFTER_CLOSE, "恒指年內累升18%，今日收漲0.9%。",
     [dict(type="index_change_pct", symbol="HSI", value=18.0, period="ytd"),
      dict(type="index_change_pct", symbol="HSI", value=0.9, period="day")]),
    ("zho", HK_MIDDAY, "恒指半日收報25,100點，跌50點。",
     [dict(type="index_level", symbol="HSI", value=25100.0, field="level", date="2025-08-22"),
      dict(type="index_change_points", symbol="HSI", value=-50.0, field="intraday",
           date="2025-08-22")]),
    # "the benchmark": the last index the paragraph named
    ("eng", HK_AFTER_CLOSE,
     "The Hang Seng Index closed 0.4% higher. The benchmark added 1.3% this week.",
     [dict(type="index_change_pct", symbol="HSI", value=0.4, period="day"),
      dict(type="index_change_pct", symbol="HSI", value=1.3, period="week")]),
    ("eng", HK_AFTER_CLOSE, "The index snapped a five-day losing streak on Friday.",
     []),  # "the index" with no index named before it in the paragraph: nobody to check
    ("eng", "2025-08-25T09:30:00Z",
     "The Hang Seng Index fell 0.5% on Friday. The CSI300 index rose 0.4% yesterday.",
     [dict(type="index_change_pct", symbol="HSI", value=-0.5, date="2025-08-22",
           date_basis="weekday"),
      dict(type="index_change_pct", symbol="CSI300", value=0.4, date="2025-08-24",
           date_basis="yesterday")]),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "published", "text", "expected"), EXTRACTION)
def test_claims_are_extracted_as_wraps_state_them(
    lang: str, published: str, text: str, expected: list[dict[str, Any]]
) -> None:
    claims = claims_of(text, published, lang)
    for want in expected:
        assert has(claims, **want), (want, claims)
    if not expected:
        assert claims == []
    assert not has(claims, symbol="HSTECH", value=8.6)  # the index SMIC led is not who rose


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("zho", "大市成交額2,400億港元，恒指期貨跌120點。"),  # futures are not the index
        ("zho", "港股三大指數均漲超1%。"),  # which three? not one index
        ("zho", "科網股普跌，汽車股跌逾3%。"),  # sectors
        ("zho", "恒指年內累計上漲3,500點。"),  # a span windvane does not check in points
        ("zho", "人民幣兌美元跌0.2%，美元指數升0.3%。"),  # currencies, an unknown index
        ("zho", "恒生指數較年內高點回落12%，近5個交易日累計跌3%。"),  # from a high; a span
        ("eng", "The Hang Seng Index is down 9% from its January peak."),
        ("eng", "Tech shares slid 2%, while the yuan weakened 0.1% against the dollar."),
        ("eng", "The S&P 500 gained 10.2% in the quarter, and the Nasdaq rose 16.4%."),
        ("eng", "Producer prices fell 0.3% and the Consumer Price Index rose 0.2%."),
        ("eng", "Hang Seng Index futures were down 0.3%."),
    ],
)
def test_what_is_not_a_claim_about_an_index(lang: str, text: str) -> None:
    claims = claims_of(text, HK_AFTER_CLOSE, lang)
    assert [c for c in claims if c["type"] != "index_level" or c["date"]] == [], claims


def test_a_longer_name_is_another_company() -> None:
    """小米汽车 is not 小米集团's share line; 腾讯ADR is not 0700.HK."""
    claims = claims_of("小米汽車漲3%，騰訊ADR收漲2%。", HK_AFTER_CLOSE)
    assert not [c for c in claims if c["symbol"] in ("1810.HK", "0700.HK")], claims


@pytest.mark.parametrize(
    ("published", "text", "lang", "symbol", "day", "basis"),
    [
        # after the Hong Kong close: that day's session
        ("2025-08-21T08:30:00Z", "恒指跌0.3%。", "zho", "HSI", "2025-08-21", "publication"),
        # before it (10:00 HK): the session before, for a close-marked claim
        ("2025-08-21T02:00:00Z", "恒指昨收跌0.3%。", "zho", "HSI", "2025-08-20", "yesterday"),
        ("2025-08-21T02:00:00Z", "恒指收跌0.3%。", "zho", "HSI", "2025-08-20", "publication"),
        # 07:30 UTC is 15:30 in Hong Kong and Shanghai: Shanghai has closed, Hong Kong has not
        ("2025-08-21T07:30:00Z", "沪深300指数收涨0.5%。", "zho", "CSI300", "2025-08-21", "publication"),
        ("2025-08-21T07:30:00Z", "恒指收涨0.5%。", "zho", "HSI", "2025-08-20", "publication"),
        # a Saturday article: Friday's session; Monday before the open: Friday's too
        ("2025-08-23T03:00:00Z", "恒指收跌0.3%。", "zho", "HSI", "2025-08-22", "publication"),
        ("2025-08-25T00:30:00Z", "The Hang Seng Index closed 0.3% lower.", "eng", "HSI",
         "2025-08-22", "publication"),
        # weekdays and explicit dates
        ("2025-08-25T09:00:00Z", "上週五恒指收跌0.3%。", "zho", "HSI", "2025-08-22", "weekday"),
        ("2025-08-22T09:00:00Z", "週三恒指收跌0.3%。", "zho", "HSI", "2025-08-20", "weekday"),
        ("2025-08-22T09:00:00Z", "8月21日，恒指收跌0.3%。", "zho", "HSI", "2025-08-21", "text"),
        ("2025-08-22T09:00:00Z", "今(21)日恒指收跌0.3%。", "zho", "HSI", "2025-08-21", "text"),
        ("2025-08-22T09:00:00Z", "On Aug 20, the Hang Seng Index closed 0.3% lower.", "eng",
         "HSI", "2025-08-20", "text"),
        # a bare publication date is that date's session
        ("2025-08-21", "恒指收跌0.3%。", "zho", "HSI", "2025-08-21", "publication"),
    ],
)  # fmt: skip
def test_the_article_date_rule(
    published: str, text: str, lang: str, symbol: str, day: str, basis: str
) -> None:
    claims = [c for c in claims_of(text, published, lang) if c["symbol"] == symbol]
    assert claims, claims_of(text, published, lang)
    assert (claims[0]["date"], claims[0]["date_basis"]) == (day, basis)


def test_said_during_the_session_of_the_session() -> None:
    """At noon a change with no close word is the session in progress, not a close."""
    (claim,) = claims_of("腾讯控股(00700)涨超2%。", HK_MIDDAY)
    assert (claim["symbol"], claim["field"], claim["date"]) == ("0700.HK", "intraday", "2025-08-22")
    (claim,) = claims_of("By midday, the Hang Seng Index was down 0.4%.", HK_MIDDAY, "eng")
    assert (claim["field"], claim["date"]) == ("intraday", "2025-08-22")
    (claim,) = claims_of("恒指收跌0.4%。", HK_MORNING)  # before the open: yesterday's close
    assert ("field" not in claim, claim["date"]) == (True, "2025-08-21")


def test_the_seed_articles_claims_keep_their_dates() -> None:
    text = shared_path("articles", "double11-hk.txt").read_text(encoding="utf-8")
    claims = claims_of(text, "2025-11-11", "eng")
    assert has(claims, type="ma_cross", symbol="HSTECH", window=60, date="2025-10-17")
    assert has(claims, type="index_level", value=2580.36, date="2025-11-05")
    assert has(claims, type="index_level", value=2998.67, date="2025-08-26")
    assert has(claims, type="index_level", value=3572.7, date=None)  # "in September"
    assert has(claims, type="drawdown", value_pct=13.95, arithmetic_ok=True)
    assert has(claims, type="streak", count=6, qualifier="nearly", direction="up")


# -- checks against an independent reference ----------------------------------------------
def reference_days(symbol: str) -> dict[str, dict[str, Any]]:
    """Day records as the brief defines them, computed here with pandas and a loop."""
    frame = closes(shared_path("quotes", f"{symbol}.csv"))
    frame["prev_close"] = frame["close"].shift(1)
    frame["prev_day"] = frame["date"].shift(1)
    sma = {n: frame["close"].rolling(n).mean() for n in (10, 20, 60)}
    out: dict[str, dict[str, Any]] = {}
    streak, prev = 0, None
    for i, row in frame.iterrows():
        close = float(row["close"])
        if prev is not None:
            streak = (
                (max(streak, 0) + 1)
                if close > prev
                else (min(streak, 0) - 1)
                if close < prev
                else 0
            )
        prev = close
        out[str(row["date"])] = {
            "trading_day": str(row["date"]),
            "price": close,
            "prev_trading_day": None if pd.isna(row["prev_day"]) else str(row["prev_day"]),
            "prev_close": None if pd.isna(row["prev_close"]) else float(row["prev_close"]),
            "sma": {str(n): (None if pd.isna(s[i]) else float(s[i])) for n, s in sma.items()},
            "streak": streak,
        }
    return out


@pytest.fixture(scope="module")
def quotes() -> dict[str, dict[str, dict[str, Any]]]:
    return {s: reference_days(s) for s in ("HSI", "HSTECH")}


def check(claim: dict[str, Any], quotes: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    def lookup(symbol: str, day: str) -> dict[str, Any] | None:
        return quotes.get(symbol, {}).get(day)

    def latest(symbol: str) -> str | None:
        days = quotes.get(symbol)
        return max(days) if days else None

    return check_claim(claim, lookup, latest)


def real_pct(days: dict[str, dict[str, Any]], day: str) -> float:
    rec = days[day]
    return round((rec["price"] - rec["prev_close"]) / rec["prev_close"] * 100, 2)


def test_a_real_change_is_confirmed_and_a_wrong_one_contradicted(quotes: dict) -> None:
    pct = real_pct(quotes["HSI"], "2025-08-21")  # -0.24
    base = {"type": "index_change_pct", "symbol": "HSI", "period": "day", "decimals": 2,
            "date": "2025-08-21", "date_basis": "publication"}  # fmt: skip
    assert check({**base, "value": pct}, quotes)["verdict"] == "confirmed"
    assert check({**base, "value": round(pct + 0.02, 2)}, quotes)["verdict"] == "contradicted"
    assert check({**base, "value": -pct}, quotes)["verdict"] == "contradicted"
    later = check({**base, "value": pct, "date": "2026-08-24"}, quotes)
    assert later["verdict"] == "pending", later
    assert check({**base, "symbol": "HSCEI", "value": pct}, quotes)["verdict"] == "pending"


def test_wrap_sentences_with_real_numbers_check_out(quotes: dict) -> None:
    """HSI and HSTECH on 2025-08-22, as pandas computes them, written into a wrap."""
    hsi, tech = quotes["HSI"]["2025-08-22"], quotes["HSTECH"]["2025-08-22"]
    points = round(hsi["price"] - hsi["prev_close"], 2)
    week_base = quotes["HSI"]["2025-08-15"]["price"]
    week = round((hsi["price"] - week_base) / week_base * 100, 2)
    text = (
        f"恒指終場收於{hsi['price']:,.2f}點，上漲{points}點或{real_pct(quotes['HSI'], '2025-08-22')}%；"
        f"以週線來看，本週漲{week}%、週K連3紅。恒生科技指數漲{real_pct(quotes['HSTECH'], '2025-08-22')}%。"
    )
    claims = [c for c in claims_of(text, HK_AFTER_CLOSE) if c["symbol"]]
    assert len(claims) == 6, claims
    verdicts = [(c["type"], check(c, quotes)["verdict"]) for c in claims]
    assert all(v == "confirmed" for _, v in verdicts), verdicts
    assert tech["price"] > tech["prev_close"]
    wrong = text.replace("週K連3紅", "週K連4紅").replace(f"{points}點", f"{points + 5:.2f}點")
    verdicts = {c["type"]: check(c, quotes)["verdict"] for c in claims_of(wrong, HK_AFTER_CLOSE)
                if c["type"] in ("streak", "index_change_points")}  # fmt: skip
    assert verdicts == {"streak": "contradicted", "index_change_points": "contradicted"}


def test_whole_points_may_be_cut_off_but_not_a_point_more(quotes: dict) -> None:
    """The press prints 25,339.14 as "25,339" (cut off) as often as rounded."""
    hsi = quotes["HSI"]["2025-08-22"]
    cut = int(hsi["price"])
    assert hsi["price"] - cut > 0.1  # a day where rounding alone would not reach
    text = f"恒指收報{cut:,}點。"
    (claim,) = [c for c in claims_of(text, HK_AFTER_CLOSE) if c["type"] == "index_level"]
    assert check(claim, quotes)["verdict"] == "confirmed"
    (wrong,) = [c for c in claims_of(f"恒指收報{cut - 1:,}點。", HK_AFTER_CLOSE)]
    assert check(wrong, quotes)["verdict"] == "contradicted"
    (decimal,) = claims_of(f"恒指收報{hsi['price'] - 0.05:,.2f}點。", HK_AFTER_CLOSE)
    assert check(decimal, quotes)["verdict"] == "contradicted"  # printed digits are exact


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("恒指同時重上20天、50天及60天線。", {20, 50, 60}),
        ("恒生指数收涨1.2%，并一举收复10日、20日及50日均线。", {10, 20, 50}),
        ("恒生科技指数重新站上年线。", {250}),
    ],
)
def test_several_lines_crossed_at_once(text: str, windows: set[int]) -> None:
    crosses = [c for c in claims_of(text, HK_AFTER_CLOSE) if c["type"] == "ma_cross"]
    assert {c["window"] for c in crosses} == windows
    assert all(c["direction"] == "above" and c["date"] == "2025-08-22" for c in crosses)


def test_a_record_day_and_quarterly_results_are_not_the_span_of_a_change() -> None:
    text = (
        "恒生指数涨1.5%，收盘创近三年新高；恒生科技指数涨2.1%。"
        "阿里巴巴(09988)季度业绩超预期，股价大涨超8%；腾讯控股(00700)涨2.6%。"
    )
    claims = claims_of(text, HK_AFTER_CLOSE)
    for symbol, value in (("HSI", 1.5), ("HSTECH", 2.1), ("9988.HK", 8.0), ("0700.HK", 2.6)):
        assert has(claims, symbol=symbol, value=value, period="day", date="2025-08-22"), symbol


ENGLISH_WRAPS = [
    ("The Hang Seng Index rocketed 753 points, or 4.13 percent, to close at 19,000.56.",
     [dict(type="index_change_points", symbol="HSI", value=753.0),
      dict(type="index_change_pct", symbol="HSI", value=4.13),
      dict(type="index_level", symbol="HSI", value=19000.56, field="close")]),
    ("The Hang Seng Index plummeted 2.1pc on Friday. The tech index added 0.9 percent to 4,007.78.",
     [dict(type="index_change_pct", symbol="HSI", value=-2.1),
      dict(type="index_change_pct", symbol="HSTECH", value=0.9)]),
    ("The slide pushed the index below its 10-day and 20-day moving averages.", []),
    ("The Hang Seng Index fell 1%. The slide pushed the index below its 10-day and 20-day "
     "moving averages, and the tech gauge broke below both its 10-day and 20-day lines.",
     [dict(type="ma_cross", symbol="HSI", window=10, direction="below"),
      dict(type="ma_cross", symbol="HSI", window=20, direction="below"),
      dict(type="ma_cross", symbol="HSTECH", window=20, direction="below")]),
    ("SMIC (0981.HK) opened at HK$35.50 but reversed to close at HK$27.20, down 18.3 per cent.",
     [dict(type="index_level", symbol="0981.HK", value=35.5, field="open"),
      dict(type="index_level", symbol="0981.HK", value=27.2, field="close"),
      dict(type="index_change_pct", symbol="0981.HK", value=-18.3)]),
    ("The Hang Seng Tech Index slid 5.48% for the week after dropping 3.27% on Friday.",
     [dict(type="index_change_pct", symbol="HSTECH", value=-5.48, period="week"),
      dict(type="index_change_pct", symbol="HSTECH", value=-3.27, period="day")]),
    ("Mixue (2097.HK), which listed in March, fell 13.1% to HK$351.40.",
     [dict(type="index_change_pct", symbol="2097.HK", value=-13.1, date="2025-08-22"),
      dict(type="index_level", symbol="2097.HK", value=351.4, date="2025-08-22")]),
    ("Over the ten sessions the benchmark has climbed more than 2,300 points.", []),
    ("Meituan (3690.HK) was the worst performer on the benchmark, plunging 17.7% to HK$194.00.",
     [dict(type="index_change_pct", symbol="3690.HK", value=-17.7),
      dict(type="index_level", symbol="3690.HK", value=194.0)]),
    ("SMIC (0981.HK) led the tech gauge higher with an 8.6% surge.",
     [dict(type="index_change_pct", symbol="0981.HK", value=8.6)]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), ENGLISH_WRAPS)
def test_english_wraps_in_their_many_wordings(text: str, expected: list[dict[str, Any]]) -> None:
    claims = [c for c in claims_of(text, HK_AFTER_CLOSE, "eng") if c["symbol"]]
    for want in expected:
        assert has(claims, **want), (want, claims)
    if not expected:
        assert claims == []
    assert not has(claims, symbol="HSTECH", value=8.6)  # the index SMIC led is not who rose


def test_wire_style_chinese_with_spaces_and_dash_codes() -> None:
    text = (
        "恆生指數周五 (22 日) 重挫 310.43 點或 1.2%，收 25339 點，連 2 日走高；"
        "騰訊 (0700-HK) 跌 1.34%。周五當天，恒生科技指數跌 3.14%。"
    )
    claims = claims_of(text, HK_AFTER_CLOSE)
    assert has(claims, symbol="HSI", type="index_change_points", value=-310.43, date="2025-08-22")
    assert has(claims, symbol="0700.HK", type="index_change_pct", value=-1.34)
    assert has(claims, symbol="HSTECH", type="index_change_pct", value=-3.14, date="2025-08-22")


def test_a_percent_change_may_be_cut_off_at_its_printed_digit(quotes: dict) -> None:
    """4.15% printed "4.1%" is how part of the press writes it; 4.0% is not."""
    days = quotes["HSI"]
    day, exact = next(
        (d, (r["price"] - r["prev_close"]) / r["prev_close"] * 100)
        for d, r in sorted(days.items())
        if d >= "2025-01-01"
        and r.get("prev_close")
        and abs((r["price"] - r["prev_close"]) / r["prev_close"] * 100) * 10 % 1 > 0.6
    )
    cut = math.trunc(exact * 10) / 10  # toward zero, one decimal
    base = {"type": "index_change_pct", "symbol": "HSI", "period": "day", "decimals": 1,
            "date": day, "date_basis": "text"}  # fmt: skip
    assert check({**base, "value": cut}, quotes)["verdict"] == "confirmed", (day, exact)
    wrong = cut - 0.1 if cut > 0 else cut + 0.1
    assert check({**base, "value": round(wrong, 1)}, quotes)["verdict"] == "contradicted"


def test_the_benchmark_is_the_first_index_the_article_names() -> None:
    text = (
        "The Hang Seng Index rose 0.9% and the Hang Seng Tech Index added 2.7% on Friday. "
        "On Thursday the benchmark had slipped 0.24%."
    )
    claims = claims_of(text, HK_AFTER_CLOSE, "eng")
    assert has(claims, type="index_change_pct", symbol="HSI", value=-0.24, date="2025-08-21")
    assert not has(claims, symbol="HSTECH", value=-0.24)


def test_a_year_to_date_change_is_checked_against_the_last_close_of_2024(quotes: dict) -> None:
    days = quotes["HSI"]
    base = days[max(d for d in days if d < "2025-01-01")]["price"]
    ytd = round((days["2025-08-22"]["price"] - base) / base * 100, 2)
    claim = {"type": "index_change_pct", "symbol": "HSI", "period": "ytd", "value": ytd,
             "decimals": 2, "date": "2025-08-22"}  # fmt: skip
    assert check(claim, quotes)["verdict"] == "confirmed"
    assert check({**claim, "value": ytd + 1}, quotes)["verdict"] == "contradicted"


@pytest.mark.parametrize(
    ("claim", "verdict"),
    [
        # the 10-day line on 2025-07-30: lost (the reference's SMA10 decides)
        ({"type": "ma_cross", "window": 10, "direction": "below", "date": "2025-07-30"}, None),
        ({"type": "ma_cross", "window": 250, "direction": "below", "date": "2025-07-30"},
         "unknown"),  # no SMA250 in these records
        ({"type": "streak", "direction": "down", "count": 4, "unit": "days",
          "date": "2025-08-01"}, None),
        ({"type": "streak", "direction": "up", "count": 3, "unit": "weeks",
          "date": "2025-08-22"}, None),
        ({"type": "index_level", "field": "high", "value": 25400.0, "date": "2025-08-22"},
         "unknown"),  # the closes give no intraday high
        ({"type": "index_change_pct", "field": "open", "value": 0.4, "period": "day",
          "date": "2025-08-22"}, "unknown"),
        ({"type": "index_level", "field": "close", "value": 25000, "qualifier": "over",
          "date": "2025-08-21"}, "confirmed"),
        ({"type": "index_level", "field": "close", "value": 25339.14, "decimals": 2,
          "date": "2025-08-22"}, "confirmed"),
        ({"type": "index_level", "field": "close", "value": 25100, "zeros": 2,
          "date": "2025-08-21"}, "confirmed"),  # 25,104.61 to the hundred
        # a holiday (2025-10-01) as the article's day: the session before it
        ({"type": "index_level", "field": "close", "value": 0, "date": "2025-10-01",
          "date_basis": "publication"}, "holiday"),
        ({"type": "index_level", "field": "close", "value": 1, "date": "2025-10-01",
          "date_basis": "text"}, "unknown"),
    ],
)  # fmt: skip
def test_checks_against_the_reference(claim: dict, verdict: str | None, quotes: dict) -> None:
    days = quotes["HSI"]
    claim = {"symbol": "HSI", "instrument": "恒指", **claim}
    if verdict == "holiday":
        before = days["2025-09-30"]["price"]
        claim["value"] = round(before, 2)
        claim["decimals"] = 2
        verdict = "confirmed"
    if verdict is None:  # what the reference says is true
        rec = days[claim["date"]]
        if claim["type"] == "ma_cross":
            prev = days[rec["prev_trading_day"]]
            w = str(claim["window"])
            truth = rec["price"] < rec["sma"][w] and prev["price"] >= prev["sma"][w]
        elif claim["unit"] == "days":
            truth = rec["streak"] == -claim["count"]
        else:
            fridays = ["2025-08-22", "2025-08-15", "2025-08-08", "2025-08-01"]
            px = [days[d]["price"] for d in fridays]
            truth = px[0] > px[1] > px[2] > px[3]
        assert truth, "the reference disagrees with the fact the test relies on"
        verdict = "confirmed"
    result = check(claim, quotes)
    assert result["verdict"] == verdict, result
    if verdict == "unknown":
        assert result["reason"]


@pytest.mark.parametrize(
    ("value", "qualifier", "verdict"),
    [
        (-1.0, "nearly", "confirmed"),  # -0.98: nearly 1%
        (-0.9, "over", "confirmed"),
        (-1.0, "over", "contradicted"),
        (-1.0, "about", "confirmed"),
        (-1.2, "about", "contradicted"),
        (-1.0, "under", "confirmed"),
        (-0.9, "nearly", "contradicted"),  # nearly 0.9 is not 0.98
        (1.0, "nearly", "contradicted"),  # the wrong way
    ],
)
def test_hedged_numbers(value: float, qualifier: str, verdict: str, quotes: dict) -> None:
    assert real_pct(quotes["HSI"], "2025-08-15") == -0.98
    decimals = len(str(value).split(".")[1].rstrip("0")) if "." in str(value) else 0
    claim = {"type": "index_change_pct", "symbol": "HSI", "value": value, "decimals": decimals,
             "qualifier": qualifier, "period": "day", "date": "2025-08-15"}  # fmt: skip
    assert check(claim, quotes)["verdict"] == verdict


def test_intraday_values_are_checked_when_the_quotes_give_them() -> None:
    day = date(2025, 8, 22)
    rec = {"trading_day": day.isoformat(), "price": 600.0, "prev_close": 588.0,
           "prev_trading_day": (day - timedelta(days=1)).isoformat(), "sma": {}, "streak": 1,
           "open": 590.0, "high": 606.5, "low": 589.0}  # fmt: skip

    def lookup(symbol: str, d: str) -> dict[str, Any] | None:
        return rec if (symbol, d) == ("0700.HK", day.isoformat()) else None

    def latest(symbol: str) -> str | None:
        return day.isoformat()

    base = {"symbol": "0700.HK", "date": day.isoformat()}
    high = {**base, "type": "index_level", "field": "high", "value": 606.5, "decimals": 1}
    assert check_claim(high, lookup, latest)["verdict"] == "confirmed"
    assert check_claim({**high, "value": 610.0}, lookup, latest)["verdict"] == "contradicted"
    up = {**base, "type": "index_change_pct", "field": "intraday", "period": "day",
          "value": 2.0, "qualifier": "over", "decimals": 0}  # fmt: skip
    assert check_claim(up, lookup, latest)["verdict"] == "confirmed"  # high +3.1%
    assert check_claim({**up, "value": 4.0}, lookup, latest)["verdict"] == "contradicted"
