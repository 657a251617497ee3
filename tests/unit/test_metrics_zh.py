"""Chinese metrics (Traditional and Simplified), through the worker's edge: what is a
metric with which kind, value and unit, what is not one, and the real Chinese records.

The sentences are written for these tests in the style of Hong Kong, Taiwan and mainland
market news; the real records are read from ../shared/data at test time."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from tests.edge import article_record, metrics_of, through_edge
from tests.reference import shared_path

pytestmark = pytest.mark.unit

PUBLISHED = "2025-08-21T10:00:00Z"


def zh_metrics(text: str) -> list[tuple[str, float, str]]:
    return metrics_of(text, PUBLISHED, lang="zho")


def enriched_metrics(text: str) -> list[dict[str, Any]]:
    """Every field of the metrics the worker publishes for ``text``."""
    metrics: list[dict[str, Any]] = through_edge(article_record(text, PUBLISHED))["metrics"]
    return metrics


def same(got: list[tuple[str, float, str]], expected: list[tuple[str, float, str]]) -> bool:
    return len(got) == len(expected) and all(
        g[0] == e[0] and g[2] == e[2] and math.isclose(g[1], e[1], rel_tol=1e-9)
        for g, e in zip(got, expected, strict=True)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # index points: levels and changes, both scripts, full-width digits
        ("恒生指数收报24,812.36点，下跌205.17点。", [("index_points", 24812.36, "points"), ("index_points", 205.17, "points")]),
        ("恆生指數收報２４，８１２．３６點。", [("index_points", 24812.36, "points")]),
        ("恆指一度跌逾500點。", [("index_points", 500, "points")]),
        ("上证指数涨12点。", [("index_points", 12, "points")]),
        # percent: %, full-width ％, 成, 百分点, 百分之, fractions
        ("科指跌1.73%。", [("percent", 1.73, "pct")]),
        ("科指跌１．７３％。", [("percent", 1.73, "pct")]),
        ("公司逾三成收入來自海外。", [("percent", 30, "pct")]),
        ("广告收入占两成。", [("percent", 20, "pct")]),
        ("人工智能相關崗位佔6成。", [("percent", 60, "pct")]),
        ("毛利率提高3个百分点。", [("percent", 3, "pct")]),
        ("约百分之十五的用户付费。", [("percent", 15, "pct")]),
        ("外资持有四分之一股份。", [("percent", 25, "pct")]),
        ("营收增长10%至388.5亿元。", [("percent", 10, "pct"), ("money", 38850000000, "CNY")]),
        ("利润率在8%-12%之间。", [("percent", 8, "pct"), ("percent", 12, "pct")]),
        # money: scale words, currencies, compound amounts
        ("南向资金净流入96.41亿港元。", [("money", 9641000000, "HKD")]),
        ("北水淨買入７８．９億港幣。", [("money", 7890000000, "HKD")]),
        ("季度收入达1,523亿元。", [("money", 152300000000, "CNY")]),
        ("滬市成交約1兆235億元。", [("money", 1023500000000, "CNY")]),
        ("总市值约4.2万亿港元。", [("money", 4.2e12, "HKD")]),
        ("公司斥资3亿5000万港元回购。", [("money", 350000000, "HKD")]),
        ("融资规模为12亿美元。", [("money", 1.2e9, "USD")]),
        ("交易对价为人民币8.6亿元。", [("money", 860000000, "CNY")]),
        ("上半年净赚超千亿元。", [("money", 1e11, "CNY")]),
        ("资金流入2,350万元。", [("money", 23500000, "CNY")]),
        # price: per-share and other per-unit prices
        ("该股收报47.85港元。", [("price", 47.85, "HKD")]),
        ("大行將目標價上調至HK$91.5。", [("price", 91.5, "HKD")]),
        ("目标价由120港元上调至135港元。", [("price", 120, "HKD"), ("price", 135, "HKD")]),
        ("估值区间在80至95港元之间。", [("price", 80, "HKD"), ("price", 95, "HKD")]),
        ("A股报23.46元/股。", [("price", 23.46, "CNY")]),
        ("ADR收报58.2美元。", [("price", 58.2, "USD")]),
        ("布油升至每桶71.3美元。", [("price", 71.3, "USD")]),
        # multiples and percentiles
        ("恒指市盈率为10.8倍。", [("multiple", 10.8, "x")]),
        ("該股PE 15.6倍，PB約1.9倍。", [("multiple", 15.6, "x"), ("multiple", 1.9, "x")]),
        ("估值处于近十年35%分位。", [("percentile", 35, "pct")]),
        ("市盈率位於歷史28百分位。", [("percentile", 28, "pct")]),
        # counts with their measure word and noun
        ("净买入个股共6只。", [("count", 6, "stocks")]),
        ("淨賣出個股共9隻。", [("count", 9, "stocks")]),
        ("共有26家企业入选。", [("count", 26, "companies")]),
        ("规上企业超过3200家。", [("count", 3200, "companies")]),
        ("公司释出逾5千個職缺。", [("count", 5000, "jobs")]),
        ("前5日增持3180万股。", [("count", 31800000, "shares")]),
        ("业务遍及80多个国家和地区。", [("count", 80, "countries")]),
        ("全年交付12.5万辆新能源汽车。", [("count", 125000, "vehicles")]),
        ("平台拥有逾8亿用户。", [("count", 8e8, "users")]),
        ("公司已有逾300項業務接入AI。", [("count", 300, "businesses")]),
        ("完成申报21项。", [("count", 21, "items")]),
        ("新品分为兩個版本。", [("count", 2, "versions")]),
        ("涨停个股45家。", [("count", 45, "stocks")]),
        # runs of sessions (streaks), not durations
        ("沪指连续四日上涨。", [("count", 4, "days")]),
        ("滬指連3揚。", [("count", 3, "days")]),
        ("恒指连跌五日。", [("count", 5, "days")]),
        ("週K連4紅。", [("count", 4, "weeks")]),
        ("公司連續5個交易日獲回購。", [("count", 5, "days")]),
    ],
)  # fmt: skip
def test_chinese_metrics(text: str, expected: list[tuple[str, float, str]]) -> None:
    got = zh_metrics(text)
    assert same(got, expected), got


@pytest.mark.parametrize(
    "text",
    [
        "2025年8月21日，港股三大指数涨跌不一。",  # dates
        "今(22)日盘后公布，时间为18:32。",  # date and time
        "会议于香港时间晚上9点举行。",  # time of day
        "二季度、第二季及Q2业绩均创新高。",  # quarters
        "腾讯控股（00700）与阿里巴巴（09988.HK）。",  # HK codes
        "招商银行（600036）发布公告。",  # A-share code in brackets
        "该公司排名第3名，位列前十。",  # ranks
        "從去年的456名上升到今年的377名。",  # rank change
        "Qwen3、GPT-5及DeepSeek-R1均已开源。",  # model names
        "新模型擁有480B參數，支持256K上下文。",  # model sizes
        "恒指失守10日線，跌穿60日线及5日均线。",  # window names
        "前5日资金持续流入，跌至近24个交易日低点。",  # lookback windows
        "创10年来新高。",  # lookback window
        "公司计划3年内上市，已运营5个月。",  # durations
        "中國500強榜單與科技50強。",  # list names
        "上述四家企业、以下四项工作。",  # words that refer back or enumerate
        "不做大规模0元购活动。",  # a promotion name
        "两市成交额放大，三大指数收红。",  # Chinese numerals that name
        "收入达数十亿元。",  # vague amount
        "T+2结算，20+8产业集群，3C电池。",  # names
        "公司發布首款AI眼鏡。",  # ordinal
    ],
)
def test_not_metrics(text: str) -> None:
    assert zh_metrics(text) == []


def test_qualifier_direction_and_basis_are_read_from_the_words() -> None:
    by_value = {
        m["value"]: m
        for m in enriched_metrics(
            "騰訊漲超2%，美團跌近3%。營收按年增長16%，環比增4%，按季增長5%。"
            "南向资金净流入约38亿港元，全年收入1.2万亿元左右。"
        )
    }
    assert (by_value[2]["qualifier"], by_value[2]["direction"]) == ("over", "up")
    assert (by_value[3]["qualifier"], by_value[3]["direction"]) == ("nearly", "down")
    assert (by_value[16]["basis"], by_value[16]["direction"]) == ("yoy", "up")
    assert by_value[4]["basis"] == "mom"
    assert by_value[5]["basis"] == "qoq"
    assert by_value[3.8e9]["qualifier"] == "about"
    assert by_value[1.2e12]["qualifier"] == "about"
    assert all(m["value"] > 0 for m in by_value.values())  # direction is in the words


def test_repeated_mentions_merge_and_spans_index_the_original_text() -> None:
    text = "騰訊股價漲２．５％，報５８８港元。\n收市時騰訊仍漲２．５％。"
    metrics = enriched_metrics(text)
    assert [(m["kind"], m["value"], m["unit"]) for m in metrics] == [
        ("percent", 2.5, "pct"),
        ("price", 588.0, "HKD"),
    ]
    percent, price = metrics
    assert percent["mentions"] == 2
    assert percent["text"] == "漲２．５％"  # the reader's characters, not the normalised ones
    start, end = percent["span"]
    assert text[start:end] == "２．５"
    assert price["text"] == "５８８港元"


def test_bare_yuan_follows_the_article() -> None:
    """元 is 人民币 unless the article says otherwise: "(港元,下同)" makes later 元 HKD,
    and a Traditional-script note on a Hong Kong stock quotes its price in HK dollars."""
    assert zh_metrics("收入为52亿元(港元,下同)。纯利为8亿元。") == [
        ("money", 5.2e9, "HKD"),
        ("money", 8e8, "HKD"),
    ]
    hk_note = "騰訊音樂(1698.HK)昨日升至88.5元高位，目標價95元。"
    assert zh_metrics(hk_note) == [("price", 88.5, "HKD"), ("price", 95.0, "HKD")]
    mainland = "申通快递(002468.SZ)涨停，报15.14元/股。"
    assert zh_metrics(mainland) == [("price", 15.14, "CNY")]
    hk_wrap = "恆指收報25,102點，全日大市成交2,318億元。"
    assert zh_metrics(hk_wrap)[-1] == ("money", 2.318e11, "HKD")
    tw_wrap = "台股加權指數收23,456點，成交金額3,512億元。"
    assert zh_metrics(tw_wrap)[-1] == ("money", 3.512e11, "TWD")
    assert zh_metrics("騰訊第二季收入1,845億元。") == [("money", 1.845e11, "CNY")]
    assert zh_metrics("碳酸锂报1.2万元/吨。") == [("price", 12000.0, "CNY")]


def test_hong_kong_wraps_leave_units_to_the_reader() -> None:
    """A Hong Kong wrap writes a share price in bare 元 (HK dollars, in either script), an
    index close without 點, turnover without 港元; a mainland turnover stays in 人民币."""
    assert zh_metrics("騰訊(00700)升1.2%，收報412.6元。") == [
        ("percent", 1.2, "pct"),
        ("price", 412.6, "HKD"),
    ]
    assert ("price", 598.0, "HKD") in zh_metrics("腾讯控股(00700)收涨2%，报598元。")
    assert zh_metrics("恒指收市報20,118，跌215點。") == [
        ("index_points", 20118.0, "points"),
        ("index_points", 215.0, "points"),
    ]
    assert ("index_points", 20000.0, "points") in zh_metrics("恒指重上2萬點大關。")
    assert ("price", 145.4, "HKD") in zh_metrics("美團（3690）升4%，收報140元，高見145.4元。")
    assert zh_metrics("恒指跌1%。全日成交1,234.5億元。")[-1] == ("money", 1.2345e11, "HKD")
    mainland = "恆指跌1%。滬深兩市成交額1.2兆元。"
    assert zh_metrics(mainland)[-1] == ("money", 1.2e12, "CNY")


def test_a_unit_said_once_covers_the_amounts_after_it() -> None:
    assert zh_metrics("兩市成交額2兆1,450億元，連續六日突破2兆。") == [
        ("money", 2.145e12, "CNY"),
        ("count", 6.0, "days"),
        ("money", 2e12, "CNY"),
    ]
    assert zh_metrics("付费用户数增至1.35亿，按月净增210万。") == [
        ("count", 1.35e8, "users"),
        ("count", 2.1e6, "users"),
    ]


def test_all_real_chinese_records_give_finite_metrics() -> None:
    lines = shared_path("articles", "news-hk-2025-07-24_08-23.jsonl").read_bytes().splitlines()
    chinese = [line for line in lines if orjson.loads(line).get("lang") == "zho"]
    assert len(chinese) == 47
    total, with_metrics = 0, 0
    kinds: set[str] = set()
    for line in chinese:
        metrics = through_edge(line)["metrics"]
        total += len(metrics)
        with_metrics += bool(metrics)
        for metric in metrics:
            assert math.isfinite(metric["value"]) and metric["value"] >= 0, metric
            kinds.add(metric["kind"])
    assert total >= 450, total
    assert with_metrics >= 35, with_metrics
    assert kinds >= {"money", "price", "percent", "index_points", "multiple", "count"}, kinds
