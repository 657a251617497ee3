"""A quote task's batches, without a broker: outputs, changelog and restore, poison records.

The broker-facing half (transactions, rebalances, SIGKILL) is tested in integration/ and
faults/ against a real Kafka."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from aiokafka import ConsumerRecord

from streams.article_pipeline import ArticlePipeline
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.domain.rules import RuleBook
from streams.pipeline import QuotePipeline
from streams.runtime import Task, TaskCorrupted
from tests.reference import closes, ma_crossings, shared_path

pytestmark = pytest.mark.unit

TOPIC = "quotes.raw"


def record(offset: int, value: bytes, key: bytes = b"HSTECH") -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TOPIC, 3, offset, offset, 0, key, value, None, len(key), len(value), ())


def new_task(engine: QuoteEngine) -> Task:
    registry = Registry.load(None)
    claims = ArticlePipeline(ArticleEnricher(registry), clock=lambda: 0)
    return Task(3, QuotePipeline(engine, clock=lambda: 0), claims)


def hstech() -> list[ConsumerRecord[bytes, bytes]]:
    frame = closes(shared_path("quotes", "HSTECH.csv"))
    return [
        record(i, orjson.dumps({"symbol": "HSTECH", "date": r.date, "close": r.close}))
        for i, r in enumerate(frame.itertuples())
    ]


def restored(engine: QuoteEngine, changelog: dict[bytes, bytes], days: dict[bytes, bytes]) -> Task:
    task = new_task(engine)
    for key, raw in changelog.items():
        task.state.load(key, SymbolState.from_bytes(raw, engine))
    for key, raw in days.items():
        task.days.load(key, raw)
    return task


def alerts(records: list[Any]) -> list[tuple[str, str]]:
    out = [orjson.loads(r.value) for r in records if r.topic == "alerts"]
    return [(a["trading_day"], a["direction"]) for a in out]


def test_batches_with_a_restore_between_give_the_reference_crossings() -> None:
    engine = QuoteEngine(RuleBook.default())
    records = hstech()
    task = new_task(engine)
    changelog: dict[bytes, bytes] = {}
    days: dict[bytes, bytes] = {}
    got: list[tuple[str, str]] = []
    for start in range(0, len(records), 97):  # uneven batches; a restart after each
        task.process(records[start : start + 97], TOPIC)
        commit = task.take_commit()
        assert [k for k, _ in commit.states] == [b"HSTECH"]  # one entry per touched symbol
        changelog.update(commit.states)  # type: ignore[arg-type]
        days.update(commit.days)  # type: ignore[arg-type]
        assert commit.batch.offsets == {(TOPIC, 3): min(start + 97, len(records))}
        assert commit.offsets == commit.batch.offsets
        got += alerts(commit.batch.records)
        task = restored(engine, changelog, days)
    frame = closes(shared_path("quotes", "HSTECH.csv"))
    assert got == ma_crossings(frame, 60)
    assert len(days) == len(records)
    empty = task.take_commit()  # nothing changed after a restore
    assert (empty.states, empty.days, empty.batch.records) == ([], [], [])


def test_a_bug_in_the_domain_corrupts_the_task_then_the_record_is_dead_lettered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = QuoteEngine(RuleBook.default())
    records = hstech()[:10]
    real = engine.apply

    def flaky(state: Any, quote: Any, now: int) -> Any:
        if getattr(quote, "day", None) == records_date(records[4]):
            raise ZeroDivisionError("boom")
        return real(state, quote, now)

    monkeypatch.setattr(engine, "apply", flaky)
    task = new_task(engine)
    with pytest.raises(TaskCorrupted) as caught:
        task.process(records, TOPIC)
    assert caught.value.poison == (TOPIC, 4)
    task = new_task(engine)  # restored from an empty changelog
    task.poison.add((TOPIC, 4))
    task.process(records, TOPIC)
    batch = task.take_commit().batch
    dead = [orjson.loads(r.value) for r in batch.records if r.topic == "deadletter"]
    assert [(d["reason"], d["source"]["offset"]) for d in dead] == [("internal_error", 4)]
    signals = [r for r in batch.records if r.topic == "quotes.signals"]
    assert len(signals) == 9


def records_date(rec: ConsumerRecord[bytes, bytes]) -> Any:
    return dt.date.fromisoformat(orjson.loads(rec.value)["date"])


def test_a_batch_counts_its_dead_letters_only_once_committed() -> None:
    """process() records the batch's dead letters and leaves the counter alone: the run
    loop counts them after the commit, so a discarded and replayed batch counts once."""
    from prometheus_client import REGISTRY

    def counted() -> float | None:
        labels = {"reason": "invalid_json", "topic": TOPIC}
        return REGISTRY.get_sample_value("windvane_deadletters_total", labels)

    before = counted()
    records = [*hstech()[:3], record(3, b"{nope"), record(4, b"")]
    task = new_task(QuoteEngine(RuleBook.default()))
    task.process(records, TOPIC)
    batch = task.take_commit().batch
    assert [(reason, src.offset) for reason, src in batch.dead] == [
        ("invalid_json", 3),
        ("invalid_json", 4),
    ]
    assert counted() == before


def test_a_batch_is_counted_once_with_the_totals_of_one_count_per_record() -> None:
    """Task.process counts its records once per call: records in, duplicates, one
    processing-time observation per record and one lag observation per record processed."""
    from prometheus_client import REGISTRY

    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"topic": TOPIC}) or 0.0

    names = (
        "windvane_records_in_total",
        "windvane_duplicates_total",
        "windvane_processing_seconds_count",
        "windvane_processing_lag_seconds_count",
    )
    before = {n: sample(n) for n in names}
    lag_before = REGISTRY.get_sample_value(
        "windvane_processing_lag_seconds_bucket", {"topic": TOPIC, "le": "86400.0"}
    )
    bars = hstech()[:6]
    records = [*bars, record(6, bars[5].value), record(7, b"{nope")]  # a duplicate, a dead one
    task = new_task(QuoteEngine(RuleBook.default()))
    task.process(records, TOPIC)
    got = {n: sample(n) - before[n] for n in names}
    assert got == {
        "windvane_records_in_total": 8,
        "windvane_duplicates_total": 1,
        "windvane_processing_seconds_count": 8,
        "windvane_processing_lag_seconds_count": 6,  # the bars processed (years old)
    }
    lag_after = REGISTRY.get_sample_value(
        "windvane_processing_lag_seconds_bucket", {"topic": TOPIC, "le": "86400.0"}
    )
    assert lag_after == lag_before  # no bar of 2020-2025 is less than a day old
    assert task.take_commit().batch.offsets == {(TOPIC, 3): 8}


@pytest.mark.parametrize("scale", [9.3e10, 1e12, 184467440738.0])
def test_prices_beyond_64_bit_units_commit_and_restore(scale: float) -> None:
    """A price above ~92 billion has more fixed-point units than 64 bits hold: the state still
    encodes (those units as text), restores, and the SMAs are the plain means of the closes
    (a tick and daily bars; such a price once failed every commit of its task)."""
    engine = QuoteEngine(RuleBook.load(None), Registry.load(None))
    closes_ = [scale * f for f in (1.0, 1.1, 0.9, 1.05, 1.2, 0.95, 1.3)]
    bars = [
        orjson.dumps({"symbol": "BIG", "date": f"2024-01-{d:02d}", "close": c})
        for d, c in zip((2, 3, 4, 5, 8, 9, 10), closes_, strict=True)
    ]
    tick = orjson.dumps({"symbol": "BIG", "ts": 1704963600000, "price": scale * 1.4})  # 11th
    task = new_task(engine)
    task.process([record(i, v, b"BIG") for i, v in enumerate(bars[:4])], TOPIC)
    first = task.take_commit()
    again = restored(engine, dict(first.states), dict(first.days))  # type: ignore[arg-type]
    again.process([record(4 + i, v, b"BIG") for i, v in enumerate([*bars[4:], tick])], TOPIC)
    second = again.take_commit()
    assert second.states and all(v is not None for _, v in second.states)
    signals = [orjson.loads(r.value) for r in second.batch.records if r.topic == "quotes.signals"]
    last_bar = next(s for s in signals if s["trading_day"] == "2024-01-10")
    assert last_bar["sma"]["5"] == pytest.approx(sum(closes_[-5:]) / 5, rel=1e-12)
    live = signals[-1]
    assert not live["final"] and live["price"] == scale * 1.4
    assert live["sma"]["5"] == pytest.approx((sum(closes_[-4:]) + scale * 1.4) / 5, rel=1e-12)


@pytest.mark.parametrize("state_format", [1, 2])
def test_each_state_format_restores_to_the_reference_crossings(state_format: int) -> None:
    """``WINDVANE_STATE_FORMAT``: records in the format asked for (1 also carries the
    history's sums and extremes, which workers before 2 read), and a restore between every
    batch from either one gives the pandas crossings."""
    engine = QuoteEngine(RuleBook.default())
    records = hstech()
    task = new_task(engine)
    task.state_format = state_format
    changelog: dict[bytes, bytes] = {}
    days: dict[bytes, bytes] = {}
    got: list[tuple[str, str]] = []
    for start in range(0, len(records), 250):
        task.process(records[start : start + 250], TOPIC)
        commit = task.take_commit()
        for _, raw in commit.states:
            assert raw is not None
            data = orjson.loads(raw)
            assert data["v"] == state_format
            assert ({"sums", "highs", "lows"} <= set(data["history"])) == (state_format == 1)
        changelog.update(commit.states)  # type: ignore[arg-type]
        days.update(commit.days)  # type: ignore[arg-type]
        got += alerts(commit.batch.records)
        task = restored(engine, changelog, days)
        task.state_format = state_format
    assert got == ma_crossings(closes(shared_path("quotes", "HSTECH.csv")), 60)
