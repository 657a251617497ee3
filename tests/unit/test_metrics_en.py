"""English metrics as market wraps write them: index levels without "points", point moves,
share and turnover counts, valuation multiples without "times", tables whose header names the
unit; and what is not a metric. Every sentence is written for these tests in the style of
real wraps; every case goes through the worker's edge."""

from __future__ import annotations

import pytest

from tests.edge import article_record, metrics_of, through_edge

pytestmark = pytest.mark.unit

WHEN = "2025-08-21T10:00:00Z"


def en(text: str) -> list[tuple[str, float, str]]:
    return metrics_of(text, WHEN, lang="eng")


PTS, PCT = "points", "pct"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # index levels written without "points", when the subject is an index
        (
            "The Hang Seng Index slid 1.2% to 25,104.61 on Thursday.",
            [("percent", 1.2, PCT), ("index_points", 25104.61, PTS)],
        ),
        ("The Hang Seng Tech Index closed at 5,612.3.", [("index_points", 5612.3, PTS)]),
        (
            "The HSI rose 0.7% to end at 24,980.",
            [("percent", 0.7, PCT), ("index_points", 24980, PTS)],
        ),
        (
            "The CSI 300 finished at 4,231.55, up 0.4%.",
            [("index_points", 4231.55, PTS), ("percent", 0.4, PCT)],
        ),
        (
            "The Shanghai Composite ended at 3,702.16 after a choppy session.",
            [("index_points", 3702.16, PTS)],
        ),
        (
            "Japan's Nikkei opened at 42,511.9 and South Korea's Kospi ended at 3,190.4.",
            [("index_points", 42511.9, PTS), ("index_points", 3190.4, PTS)],
        ),
        (
            "The S&P 500 hit an intraday high of 6,502.07 before paring gains.",
            [("index_points", 6502.07, PTS)],
        ),
        ("The index dipped to 24,655.8 in early trade.", [("index_points", 24655.8, PTS)]),
        (
            "The benchmark closed 0.9% lower at 24,733.02, its weakest finish in two weeks.",
            [("percent", 0.9, PCT), ("index_points", 24733.02, PTS)],
        ),
        (
            "Hong Kong stocks slipped, with the Hang Seng China Enterprises Index down 1.1% at 8,876.4.",
            [("percent", 1.1, PCT), ("index_points", 8876.4, PTS)],
        ),
        (
            "The Hang Seng Index broke above the 26,000 level for the first time since 2021.",
            [("index_points", 26000, PTS)],
        ),
        (
            "Hang Seng Index: 25,104.61 (-1.2%)",
            [("index_points", 25104.61, PTS), ("percent", -1.2, PCT)],
        ),
        (
            "The Hang Seng Index fell 1.1% on Friday. It closed at 24,870.15.",
            [("percent", 1.1, PCT), ("index_points", 24870.15, PTS)],
        ),
        # point changes
        (
            "The Hang Seng Index fell 615 points in the morning session.",
            [("index_points", 615, PTS)],
        ),
        ("The Nikkei closed down 120.5 pts.", [("index_points", 120.5, PTS)]),
        (
            "The Dow gained 300 points, or 0.7%.",
            [("index_points", 300, PTS), ("percent", 0.7, PCT)],
        ),
        ("Traders braced for another 500-point drop.", [("index_points", 500, PTS)]),
        (
            "The HSI fell 123.4, or 0.5%, to 24,870.15.",
            [("index_points", 123.4, PTS), ("percent", 0.5, PCT), ("index_points", 24870.15, PTS)],
        ),
        (
            "The index ended 215.33 higher at 25,176.85.",
            [("index_points", 215.33, PTS), ("index_points", 25176.85, PTS)],
        ),
        # share counts and turnover
        ("About 8.2 million shares changed hands.", [("count", 8.2e6, "shares")]),
        ("The company will place 45mn new shares.", [("count", 45e6, "shares")]),
        ("Market turnover of HK$250.3 billion was recorded.", [("money", 250.3e9, "HKD")]),
        ("Mainland turnover rose to 300 billion yuan.", [("money", 300e9, "CNY")]),
        ("Turnover thinned to HK$198.6bn.", [("money", 198.6e9, "HKD")]),
        # valuation multiples without "times"
        ("The index trades on a PE ratio of 18.3.", [("multiple", 18.3, "x")]),
        ("The stock has a P/E of 12.5.", [("multiple", 12.5, "x")]),
        ("Tencent trades at 11x earnings.", [("multiple", 11, "x")]),
        ("Meituan trades at 19.5× forward earnings.", [("multiple", 19.5, "x")]),
        ("Its forward P/E of 14.2 is below the sector.", [("multiple", 14.2, "x")]),
        (
            "The Hang Seng Index (P/E 10.8) lagged the region.",
            [("multiple", 10.8, "x")],
        ),
        ("Banks trade at a price-to-book ratio of 0.6.", [("multiple", 0.6, "x")]),
        ("The P/E ratio (TTM) of 9.7 is a decade low.", [("multiple", 9.7, "x")]),
        ("Instant retail is growing about 2.5 times faster.", [("multiple", 2.5, "x")]),
        ("The retail tranche was oversubscribed 3,200 times.", [("multiple", 3200, "x")]),
        # other things a market reader expects
        ("($1 = 7.1820 Chinese yuan renminbi)", [("price", 7.182, "CNY")]),
        ("The onshore yuan eased to 7.1850 per dollar.", [("price", 7.185, "CNY")]),
        ("(1 euro = $1.1705)", [("price", 1.1705, "USD")]),
        ("Exports account for nearly a quarter of sales.", [("percent", 25, PCT)]),
        ("Deals made up more than a third of the total.", [("percent", 100 / 3, PCT)]),
        ("It holds 500,000 to 600,000 chips.", [("count", 5e5, "chips"), ("count", 6e5, "chips")]),
        (
            "Profit is seen between 20 and 50 million yuan.",
            [("money", 20e6, "CNY"), ("money", 50e6, "CNY")],
        ),
        ("Forecasts range from 2 to 3%.", [("percent", 2, PCT), ("percent", 3, PCT)]),
        (
            "A 1.8-billion-euro ($2.1-billion) offer was tabled.",
            [("money", 1.8e9, "EUR"), ("money", 2.1e9, "USD")],
        ),
        ("The sale raised 41 billion rupees.", [("money", 41e9, "INR")]),
        ("The stake is worth 3 billion Australian dollars.", [("money", 3e9, "AUD")]),
        ("Sales reached $NZ18.2 million.", [("money", 18.2e6, "NZD")]),
        (
            "BABA Alibaba Group$118.42+1.35%Stock Score",
            [("price", 118.42, "USD"), ("percent", 1.35, PCT)],
        ),
        ("Daily orders reached an all-time high of 95 million.", [("count", 95e6, "orders")]),
        ("The rack holds 256 of its newest 950B chips.", [("count", 256, "chips")]),
        ("At least seven other Chinese chip firms exhibited.", [("count", 7, "firms")]),
    ],
)
def test_market_wrap_metrics(text: str, expected: list[tuple[str, float, str]]) -> None:
    got = en(text)
    assert len(got) == len(expected), got
    for (kind, value, unit), want in zip(got, expected, strict=True):
        assert (kind, unit) == (want[0], want[2]), got
        assert value == pytest.approx(want[1], rel=1e-9), got


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a level belongs to the index only when nothing else is the subject
        ("The Hang Seng Index rose 1% as Meituan climbed to 131.4.", [("percent", 1, PCT)]),
        ("The Hang Seng Index rose 1% and Tencent shares rose to 602.5.", [("percent", 1, PCT)]),
        ("The benchmark rose, with Xiaomi climbing to 158.2.", []),
        ("The index fell; Alibaba ended at 121.3.", []),
        ("Hang Seng Bank rose 1.2% to 118.5.", [("percent", 1.2, PCT)]),
        ("Meituan slid 4% to 120.3 after results.", [("percent", 4, PCT)]),
        ("Meituan fell 5.2 to 120.3.", []),
        ("Tencent fell 2%. It closed at 480.2.", [("percent", 2, PCT)]),
        ("The consumer price index rose to 102.3 in July.", []),
        ("The Caixin purchasing managers' index fell to 49.5.", []),
        ("The index review raised its constituents from 85 to 88.", []),
        # names, codes, years, dates, ranks and frequencies are not metrics
        ("The CSI 300 and the Nikkei 225 both rose 1%.", [("percent", 1, PCT)]),
        ("Shares of S&P 500 companies rallied.", []),
        ("The Hang Seng Index has been compiled since 1969.", []),
        ("The index closed at its lowest since July 28.", []),
        ("The Fed cut rates by 25 basis points.", []),
        ("Huawei showed its CloudMatrix 384 rack.", []),
        ("Huawei's 910B chips were on show.", []),
        ("The world's two largest economies traded barbs.", []),
        ("The two sides met three times in June.", []),
        ("The index fell for three sessions.", []),
        ("Shares of One 97 Communications fell.", []),
        ("The fund was leveraged 2x.", []),
        # a headline with a pipe is not a table header: its number still counts
        ("HK Stock Market Move | Pop Mart rises 6%", [("percent", 6, PCT)]),
    ],
)
def test_what_is_not_a_metric(text: str, expected: list[tuple[str, float, str]]) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "Top movers\nStock | Close (HK$) | Change (%)\nTencent | 602.50 | -1.8\nXiaomi | 58.15 | +4.2\nShares ended mixed.",
            [
                ("price", 602.5, "HKD"),
                ("percent", 1.8, PCT),
                ("price", 58.15, "HKD"),
                ("percent", 4.2, PCT),
            ],
        ),
        (
            "Price (HKD)\nTencent 602.50\nMeituan 131.40",
            [("price", 602.5, "HKD"), ("price", 131.4, "HKD")],
        ),
        (
            "Stock Close (HK$) Change (%)\nAlibaba 121.30 2.10",
            [("price", 121.3, "HKD"), ("percent", 2.1, PCT)],
        ),
        (
            "| Index | Close | Change (%) |\n|---|---|---|\n| Hang Seng Index | 25,104.61 | -1.20 |\n| CSI 300 | 4,231.55 | 0.40 |",
            [
                ("index_points", 25104.61, PTS),
                ("percent", 1.2, PCT),
                ("index_points", 4231.55, PTS),
                ("percent", 0.4, PCT),
            ],
        ),
        (
            "Name | Turnover (HK$m) | Volume (m shares)\nTencent | 15,320.4 | 25.6",
            [("money", 15320.4e6, "HKD"), ("count", 25.6e6, "shares")],
        ),
    ],
)
def test_tables_take_their_unit_from_the_header(
    table: str, expected: list[tuple[str, float, str]]
) -> None:
    got = en(table)
    assert [(k, u) for k, _, u in got] == [(k, u) for k, _, u in expected], got
    assert [v for _, v, _ in got] == pytest.approx([v for _, v, _ in expected], rel=1e-9)


def test_a_table_row_signed_change_gives_the_direction() -> None:
    out = through_edge(
        article_record("Stock | Close (HK$) | Change (%)\nTencent | 602.50 | -1.8", lang="eng")
    )
    change = next(m for m in out["metrics"] if m["kind"] == "percent")
    assert (change["value"], change["direction"]) == (1.8, "down")


def test_reuters_sign_off_and_author_bio_are_not_the_article() -> None:
    body = (
        "Tencent shares rose 2% to HK$602.50 on Friday.\n"
        "Reporting by A Reporter; Editing by An Editor\n"
        "A Reporter has covered markets for 12 years and has reported from over a dozen countries."
    )
    assert en(body) == [("percent", 2, PCT), ("price", 602.5, "HKD")]


def test_index_level_carries_subject_direction_and_qualifier() -> None:
    out = through_edge(
        article_record(
            "The Hang Seng Index dropped 1.2% to about 25,104.61 on Thursday.", lang="eng"
        )
    )
    level = next(m for m in out["metrics"] if m["kind"] == "index_points")
    assert level["subject"] == "Hang Seng Index"
    assert (level["qualifier"], level["direction"]) == ("about", "down")


def test_a_dollar_price_of_a_hong_kong_listing_is_in_hong_kong_dollars() -> None:
    """Hong Kong's English press writes HK dollars "$"; a Hong Kong listing cannot trade in
    anything else. Amounts stay US dollars ("$2.5 billion" beside a code, as Reuters writes)."""
    assert ("price", 16.52, "HKD") in metrics_of(
        "XIAOMI-W (01810.HK) closed at $16.52, up 2.35%.", "2023-11-09T09:00:00Z", lang="eng"
    )
    assert ("money", 2.5e9, "USD") in metrics_of(
        "Tencent (0700.HK) agreed a $2.5 billion deal.", "2023-11-09T09:00:00Z", lang="eng"
    )
    assert ("price", 16.52, "USD") in metrics_of(
        "Its ADR closed at $16.52.", "2023-11-09T09:00:00Z", lang="eng"
    )
