"""Article extraction: the hand-labelled seed article, the 99 real records, and
table-driven cases of what is and is not a metric."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from streams.article_pipeline import ArticlePipeline
from streams.domain.articles.article import (
    Article,
    ArticleEnricher,
    normalize_lang,
)
from streams.domain.articles.claims import check_claim
from streams.domain.articles.text import paragraphs
from streams.domain.instruments import Registry
from streams.pipeline import SourceRecord
from streams.tools.evaluation import evaluate, evaluate_sets
from tests.edge import article_record, through_edge
from tests.edge import metrics_of as edge_metrics
from tests.kafka_harness import REPO
from tests.reference import SHARED, shared_path

pytestmark = pytest.mark.unit
REGISTRY = Registry.load(None)


def metrics_of(text: str) -> list[tuple[str, float, str]]:
    """Through the worker's edge, as an English record published on the seed's day."""
    return edge_metrics(text, "2025-11-11", "eng")


def test_seed_article_scores_against_the_hand_labels() -> None:
    result = evaluate(
        shared_path("articles", "double11-hk.txt"),
        shared_path("articles", "double11-hk.labels.json"),
    )
    assert result["metrics"].f1 >= 0.95, (result["missed"], result["extra"])
    assert result["stock_codes"].f1 == 1.0
    assert result["claims"].recall >= 0.8


def test_labelled_real_records_score_in_both_languages() -> None:
    """`make eval`'s figures as a floor: the labelled English and Chinese records (labels in
    samples/articles/labels) through the worker's edge, claims checked against real closes."""
    results = evaluate_sets(REPO / "samples" / "articles" / "labels", SHARED)
    assert set(results) >= {"en", "zh", "heldout-en", "heldout-zh", "heldout2-en", "heldout2-zh"}
    assert results["zh"]["records"] >= 15
    floors = {"en": 0.90, "zh": 0.85, "heldout-en": 0.90, "heldout-zh": 0.85,
              "heldout2-en": 0.85, "heldout2-zh": 0.85}  # fmt: skip
    for lang, floor in floors.items():
        metrics = results[lang]["metrics"]
        assert metrics.precision >= 0.90 and metrics.f1 >= floor, (lang, metrics)
        if not lang.startswith("heldout2"):  # its labels list stocks named without a code
            assert results[lang]["stock_codes"].f1 >= 0.95, lang
    for sets in (("en", "zh"), ("heldout-en", "heldout-zh"), ("heldout2-en", "heldout2-zh")):
        labelled = sum(results[s]["claims"].labelled for s in sets)
        checked = sum(results[s]["claims"].checked for s in sets)
        assert labelled >= 50 and checked / labelled >= 0.75, (sets, checked, labelled)
    judged = sum(r["claims"].judged for r in results.values())
    agreed = sum(r["claims"].agreed for r in results.values())
    assert judged >= 100 and agreed / judged >= 0.95, (agreed, judged)  # true -> confirmed


def test_the_real_feed_through_windvane_offline_article() -> None:
    """`windvane offline article FILE.jsonl`: the same 99 records enriched, none dead-lettered,
    and every claim given a verdict record."""
    from streams.tools.cli import offline_article_lines

    feed = shared_path("articles", "news-hk-2025-07-24_08-23.jsonl")
    lines = list(offline_article_lines(feed, None))
    topics = [line["topic"] for line in lines]
    assert topics.count("articles.enriched") == 99 and "deadletter" not in topics
    enriched = [line["value"] for line in lines if line["topic"] == "articles.enriched"]
    claims = sum(len(e["claims"]) for e in enriched)
    assert claims > 100 and topics.count("articles.claims") == claims


def test_all_99_real_records_pass_the_edge_and_both_languages_give_metrics() -> None:
    """The real EventRegistry feed, bytes as they come, through the worker's own steps."""
    lines = shared_path("articles", "news-hk-2025-07-24_08-23.jsonl").read_bytes().splitlines()
    assert len(lines) == 99
    langs: dict[str, int] = {}
    metrics: dict[str, int] = {}
    for line in lines:
        out = through_edge(line)
        lang = out["lang"]
        langs[lang] = langs.get(lang, 0) + 1
        metrics[lang] = metrics.get(lang, 0) + len(out["metrics"])
        if lang not in ("en", "zh"):
            assert out["metrics"] == [] and out["claims"] == []
        for metric in out["metrics"]:
            assert math.isfinite(metric["value"])
    assert langs["en"] == 41 and langs["zh"] == 47
    assert sum(langs.values()) == 99
    assert metrics["en"] >= 41 and metrics["zh"] >= 47, metrics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tmall reached 540.3 billion yuan.", [("money", 540.3e9, "CNY")]),
        ("Funds bought a net 6.654 billion Hong Kong dollars.", [("money", 6.654e9, "HKD")]),
        ("Revenue was HK$285.7 billion.", [("money", 285.7e9, "HKD")]),
        ("It rose 1.01% to HK$38.08.", [("percent", 1.01, "pct"), ("price", 38.08, "HKD")]),
        ("Gold passed $4100 an ounce.", [("price", 4100, "USD")]),
        ("Sales grew 500% year-on-year.", [("percent", 500, "pct")]),
        ("The stock dropped 2.38% on Monday.", [("percent", 2.38, "pct")]),
        ("Shares closed lower (-4.05%).", [("percent", -4.05, "pct")]),
        ("Margins of 11% to 13% are expected.", [("percent", 11, "pct"), ("percent", 13, "pct")]),
        ("The index hit 2580.36 points.", [("index_points", 2580.36, "points")]),
        ("Its PE-TTM is 17.79 times.", [("multiple", 17.79, "x")]),
        ("PE is at the 22.04% of the valuation percentile.", [("percentile", 22.04, "pct")]),
        ("Over 41,000 merchants joined.", [("count", 41000, "merchants")]),
        ("It launched five C-end AI applications.", [("count", 5, "applications")]),
        ("Capex will reach one trillion yuan.", [("money", 1e12, "CNY")]),
        ("More than two dozen analysts agree.", [("count", 24, "analysts")]),
        ("A deal worth US$3.2 bn closed.", [("money", 3.2e9, "USD")]),
        ("Profit was RMB 12 million.", [("money", 12e6, "CNY")]),
        ("Sales hit 800 million euros.", [("money", 800e6, "EUR")]),
    ],
)
def test_metrics_are_extracted_and_normalized(text: str, expected: list) -> None:
    assert metrics_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "JD.com's order amount on 11.11 was a record.",
        "The data was released on 10/11/2025 by the bureau.",
        "On November 7th, the ministry issued a report.",
        "During the 14th Five-Year Plan period, efforts will be made.",
        "In the first half of 2025 growth held up.",
        "After the 5-month vacuum period, funds moved.",
        "Over the past 10 years valuations fell.",
        "The two platforms together were strong.",
        "The Double 11 event ended.",
        "Nvidia's H20 chips and the QX001S agreement.",
        "It dropped below the 60-day moving average.",
        "Two people familiar with the matter said so.",
        "TENCENT (00700) rose.",
    ],
)
def test_dates_codes_durations_and_ordinals_are_not_metrics(text: str) -> None:
    assert metrics_of(text) == []


def _metrics(text: str) -> list[dict]:
    metrics: list[dict] = through_edge(article_record(text, "2025-11-11", "eng"))["metrics"]
    return metrics


def test_qualifier_basis_direction_date_and_subject() -> None:
    (m,) = _metrics(
        "On November 10th, southbound funds purchased a net 6.654 billion Hong Kong dollars."
    )
    assert m["date"] == "2025-11-10" and m["subject"] == "southbound funds"
    (q,) = _metrics("Online sales rose by over 10% year-on-year.")
    assert (q["qualifier"], q["basis"], q["direction"]) == ("over", "yoy", "up")
    (d,) = _metrics("The stock dropped 2.38%.")
    assert d["value"] == 2.38 and d["direction"] == "down"


def test_repeated_paragraphs_and_boilerplate_give_one_metric_with_mentions() -> None:
    body = "Tmall reached 540.3 billion yuan.\nRelated Articles\nTmall reached 540.3 billion yuan.\nRECOMMEND\nThe total was 540.3 billion yuan again."
    assert paragraphs(body) == [
        "Tmall reached 540.3 billion yuan.",
        "The total was 540.3 billion yuan again.",
    ]
    (m,) = _metrics(body)
    assert m["mentions"] == 2


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("TENCENT (00700) rose", "0700.HK"),
        ("shares of Tencent (00700.HK) rose", "0700.HK"),
        ("Tencent 0700.HK rose", "0700.HK"),
        ("QYUNS-B(02509) jumped", "2509.HK"),
        ("腾讯控股(00700)涨", "0700.HK"),
        ("see HK.09988 today", "9988.HK"),
        ("Nvidia (NVDA.O) fell", "NVDA.O"),
        ("the Hang Seng TECH Index fell", "HSTECH"),
        ("恆指失守10日線", "HSI"),
        ("恒生指數收跌", "HSI"),
        ("恒生科技指數回落", "HSTECH"),
        ("科指跌", "HSTECH"),
        ("騰訊控股股價", "0700.HK"),
        ("騰訊（００７００）", "0700.HK"),
        ("腾讯控股（00700.HK）", "0700.HK"),
        ("阿里巴巴-SW(09988)", "9988.HK"),
        ("美團", "3690.HK"),
    ],
)
def test_entities_in_their_usual_forms(text: str, symbol: str) -> None:
    assert symbol in {e["symbol"] for e in through_edge(article_record(text))["entities"]}


@pytest.mark.parametrize(
    "text", ["the Hang Seng Consumer Index rose", "the Hang Seng China Enterprises Index"]
)
def test_hang_seng_sub_indexes_are_not_the_hang_seng_index(text: str) -> None:
    assert "HSI" not in {e["symbol"] for e in through_edge(article_record(text))["entities"]}


@pytest.mark.parametrize(
    "text",
    ["今(2025)年7月數據", "去（2024）年同期", "明(2026)財年", "(2018)年報", "今(22)日", "本(7)月"],
)
def test_years_in_brackets_are_not_stock_codes(text: str) -> None:
    assert through_edge(article_record(text))["entities"] == []


def test_a_longer_listed_name_is_not_the_shorter_one() -> None:
    found = {e["symbol"] for e in through_edge(article_record("騰訊音樂股價升"))["entities"]}
    assert found == {"1698.HK"}


def test_language_from_the_record_or_the_script() -> None:
    assert normalize_lang(None, "恒生科技指数今日下跌，腾讯控股(00700)跌2%") == "zh"
    assert normalize_lang("eng", "") == "en"
    record = {
        "id": "z",
        "body": "恒生科技指数今日下跌，腾讯控股(00700)跌2%",
        "published_at": "2025-11-11",
    }
    out = through_edge(record)
    assert out["lang"] == "zh"
    assert {e["symbol"] for e in out["entities"]} == {"0700.HK", "HSTECH"}


def test_other_languages_get_language_and_codes_but_no_metrics() -> None:
    out = through_edge(article_record("テンセント(00700)は2%下落した。", lang="jpn"))
    assert out["lang"] == "ja" and out["metrics"] == [] and out["claims"] == []
    assert {e["symbol"] for e in out["entities"]} == {"0700.HK"}


def day(price: float, sma: float, prev: str | None = None, streak: int = 0) -> dict:
    return {
        "price": price,
        "sma": {"60": sma},
        "prev_trading_day": prev,
        "streak": streak,
        "trading_day": "x",
    }


@pytest.mark.parametrize(
    ("claim", "days", "verdict"),
    [
        ({"type": "ma_cross", "window": 60, "direction": "below", "date": "2025-10-17"},
         {"2025-10-17": day(99, 100, "2025-10-16"), "2025-10-16": day(101, 100)}, "confirmed"),
        ({"type": "ma_cross", "window": 60, "direction": "below", "date": "2025-10-17"},
         {"2025-10-17": day(99, 100, "2025-10-16"), "2025-10-16": day(98, 100)}, "contradicted"),
        ({"type": "ma_cross", "window": 60, "direction": "below", "date": "2025-10-17"}, {}, "unknown"),
        ({"type": "index_level", "value": 5760.38, "decimals": 2, "date": "2025-10-17"},
         {"2025-10-17": day(5760.37988, 1)}, "confirmed"),
        ({"type": "index_level", "value": 5760.38, "decimals": 2, "date": "2025-10-17"},
         {"2025-10-17": day(5760.39, 1)}, "contradicted"),
        ({"type": "index_level", "value": 5760.38, "date": None}, {}, "unknown"),
        ({"type": "streak", "direction": "up", "days": 6, "qualifier": "nearly", "as_of": "2025-11-11"},
         {"2025-11-10": day(1, 1, streak=5)}, "confirmed"),
        ({"type": "streak", "direction": "up", "days": 6, "qualifier": None, "as_of": "2025-11-11"},
         {"2025-11-11": day(1, 1, streak=-2)}, "contradicted"),
    ],
)  # fmt: skip
def test_claim_checks(claim: dict, days: dict, verdict: str) -> None:
    claim = {**claim, "symbol": "X", "instrument": "X"}
    result = check_claim(claim, lambda symbol, d: days.get(d) if symbol == "X" else None)
    assert result["verdict"] == verdict, result


def test_republication_is_marked_duplicate_not_enriched_twice() -> None:
    pipe = ArticlePipeline(ArticleEnricher(REGISTRY), clock=lambda: 0)
    hashes: dict[bytes, bytes] = {}
    src = SourceRecord("articles.raw", 0, 0)
    first = {
        "id": "a1",
        "source": "x",
        "body": "Tmall reached 540.3 billion yuan.",
        "published_at": "2025-11-11",
    }
    again = {**first, "id": "a2", "body": "Tmall  reached 540.3 billion YUAN."}
    outs = []
    for article in (first, again):
        (routed,) = pipe.route(b"k", orjson.dumps(article), src).records
        outs.append(
            orjson.loads(pipe.enrich(routed.key, routed.value, src, hashes).records[0].value)
        )
    assert outs[0]["duplicate_of"] is None and outs[0]["metrics"]
    assert outs[1]["duplicate_of"] == "a1" and outs[1]["metrics"] == []


def test_a_replayed_original_is_enriched_again_not_marked_a_duplicate_of_itself() -> None:
    """At-least-once: a worker killed after the hash table's changelog entry landed but
    before its input offset was committed replays the original. Its re-send must equal the
    first send (same key, same record up to ``enriched_at``), not say ``duplicate_of`` its
    own id: a consumer keeping the latest record per id (a compacted topic) would lose the
    enrichment. The republication after it stays a duplicate of the original."""
    pipe = ArticlePipeline(ArticleEnricher(REGISTRY), clock=lambda: 0)
    hashes: dict[bytes, bytes] = {}  # survives the "crash": restored from its changelog
    src = SourceRecord("articles.byhash", 0, 0)
    first = {"id": "a1", "source": "x", "body": "Sales were 5 billion yuan.",
             "published_at": "2025-11-11"}  # fmt: skip
    (routed,) = pipe.route(b"a1", orjson.dumps(first), src).records
    (republished,) = pipe.route(b"a2", orjson.dumps({**first, "id": "a2"}), src).records
    sent = [pipe.enrich(r.key, r.value, src, hashes) for r in (routed, republished, routed)]
    replay = [pipe.enrich(r.key, r.value, src, hashes) for r in (republished,)]
    original, dup, again = sent
    assert again.status == "ok" and again.records == original.records
    assert replay[0].records == dup.records
    assert orjson.loads(dup.records[0].value)["duplicate_of"] == "a1"


def test_an_article_whose_enrichment_failed_is_not_the_original_of_its_republication() -> None:
    class Flaky(ArticleEnricher):
        calls = 0

        def enrich(self, article: Article) -> dict:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("enrichment bug")
            return super().enrich(article)

    pipe = ArticlePipeline(Flaky(REGISTRY), clock=lambda: 0)
    hashes: dict[bytes, bytes] = {}
    src = SourceRecord("articles.raw", 0, 0)
    first = {
        "id": "a1",
        "source": "x",
        "body": "Sales were 5 billion yuan.",
        "published_at": "2025-11-11",
    }
    results = []
    for article in (first, {**first, "id": "a2"}):
        (routed,) = pipe.route(b"k", orjson.dumps(article), src).records
        results.append(pipe.enrich(routed.key, routed.value, src, hashes))
    assert results[0].status == "deadletter" and results[0].reason == "internal_error"
    assert results[1].status == "ok"
    second = orjson.loads(results[1].records[0].value)
    assert second["duplicate_of"] is None and second["metrics"]
    assert hashes == {second["content_hash"].encode(): b"a2"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{nope", "invalid_json"),
        (b'{"id": "x", "body": "", "published_at": "2025-01-01"}', "schema"),
        (b'{"id": "x", "body": "text"}', "schema"),
        (b'{"id": 5, "body": "text", "published_at": "2025-01-01"}', "schema"),
        (b'"just a string"', "schema"),
        (b'{"uri": "1", "body": "text"}', "schema"),  # EventRegistry without dateTime
        (b'{"uri": "1", "body": "t", "dateTime": "2025-08-21T10:00:00Z", "source": 5}', "schema"),
        (b'{"uri": "1", "body": 7, "dateTime": "2025-08-21T10:00:00Z"}', "schema"),
    ],
)
def test_bad_articles_are_dead_lettered(value: bytes, reason: str) -> None:
    result = ArticlePipeline(ArticleEnricher(REGISTRY), clock=lambda: 0).route(
        b"k", value, SourceRecord("articles.raw", 0, 7)
    )
    assert result.status == "deadletter" and result.reason == reason


def test_seed_article_claims_are_confirmed_against_hstech(tmp_path: Path) -> None:
    from streams.tools.cli import offline_article_lines

    lines = list(
        offline_article_lines(
            shared_path("articles", "double11-hk.txt"),
            "2025-11-11",
            (f"HSTECH={shared_path('quotes', 'HSTECH.csv')}",),
        )
    )
    verdicts = {
        (x["value"]["claim"]["type"], x["value"]["claim"]["symbol"]): x["value"]["verdict"]
        for x in lines
        if x["topic"] == "articles.claims"
    }
    assert verdicts[("ma_cross", "HSTECH")] == "confirmed"
    assert verdicts[("drawdown", None)] == "unknown"  # no quotes for the Hang Seng Consumer Index


def test_a_re_sent_pending_claim_waits_once() -> None:
    """claims.bysymbol is written by the at-least-once article agents: a re-sent claim is
    published ``pending`` again (a duplicate by claim id and verdict) but kept once, so its
    decision comes once and it does not push an older claim out of the bounded list."""
    pipe = ArticlePipeline(ArticleEnricher(REGISTRY), clock=lambda: 0)
    claim = {"claim_id": "c1", "type": "index_level", "instrument": "HSTECH",
             "symbol": "HSTECH", "text": "closed at 5,000", "date": "2025-01-02",
             "value": 5000.0}  # fmt: skip
    envelope = orjson.dumps({"article_id": "a1", "claim": claim})
    days: dict[bytes, bytes] = {}
    src = SourceRecord("claims.bysymbol", 0, 0)
    first, again = (pipe.check(b"HSTECH", envelope, src, days, lambda _s: None) for _ in "12")
    assert first.records == again.records
    assert orjson.loads(first.records[0].value)["verdict"] == "pending"
    assert len(orjson.loads(days[b"HSTECH|pending"])) == 1
