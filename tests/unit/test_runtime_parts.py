"""The runtime's parts alone: changelogged stores (tombstones, day retention) and the
partitioner, each against an independent reference."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.runtime.sender import Partitioner
from streams.runtime.store import ChangelogStore, DayStore

pytestmark = pytest.mark.unit


def test_changes_are_the_last_write_of_each_key_and_deletes_are_tombstones() -> None:
    store: ChangelogStore[int] = ChangelogStore()
    store[b"a"] = 1
    store.set(b"b", 2)
    store[b"a"] = 3
    store.delete(b"b")
    store.delete(b"never")  # nothing to delete: no tombstone
    assert sorted(store.take_changes()) == [(b"a", 3), (b"b", None)]
    assert store.take_changes() == []
    store.load(b"c", 4)  # a restored record is not a change
    store.load(b"a", None)
    assert dict(store) == {b"c": 4} and store.take_changes() == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([b"A", b"B", b"C"]), st.integers(min_value=0, max_value=900)),
        max_size=80,
    ),
    st.integers(min_value=0, max_value=400),
)
def test_day_retention_keeps_what_a_naive_filter_keeps(
    writes: list[tuple[bytes, int]], retention: int
) -> None:
    start = date(2024, 1, 1)
    store = DayStore(retention)
    deleted: set[bytes] = set()
    for symbol, offset in writes:
        key = symbol + b"|" + (start + timedelta(days=offset)).isoformat().encode()
        store[key] = b"x"
        store[symbol + b"|pending"] = b"p"  # never subject to retention
        deleted |= {k for k, v in store.take_changes() if v is None}
    # reference: per symbol, the days within `retention` days of its newest day written
    newest: dict[bytes, int] = {}
    for symbol, offset in writes:
        newest[symbol] = max(newest.get(symbol, offset), offset)
    expected = {
        symbol + b"|" + (start + timedelta(days=o)).isoformat().encode()
        for symbol, o in writes
        if not retention or o >= newest[symbol] - retention
    }
    kept = {k for k in store if not k.endswith(b"|pending")}
    assert kept == expected
    assert deleted.isdisjoint(kept)
    assert {k for k in store if k.endswith(b"|pending")} == {s + b"|pending" for s, _ in writes}


def test_the_partitioner_agrees_with_the_default_partitioner_of_aiokafka() -> None:
    rng = random.Random(3)
    keys = [f"{rng.randrange(10**6):06d}.HK".encode() for _ in range(500)] + [b"HSTECH", b"HSI"]
    ours = Partitioner()
    for n in (1, 3, 8, 12):
        ours._counts["t"] = n
        reference = DefaultPartitioner()
        for key in keys + keys:  # twice: the cached answer too
            assert ours.partition("t", key) == reference(key, list(range(n)), list(range(n)))


@pytest.mark.parametrize("state_format", [1, 2])
def test_the_runner_gives_its_tasks_the_settings_state_format(state_format: int) -> None:
    from streams.article_pipeline import ArticlePipeline
    from streams.config import Settings
    from streams.domain.articles.article import ArticleEnricher
    from streams.domain.instruments import Registry
    from streams.domain.quotes import QuoteEngine
    from streams.domain.rules import RuleBook
    from streams.runtime.runner import QuoteTasks

    registry = Registry.load(None)
    runner = QuoteTasks(
        Settings(state_format=state_format, day_retention_days=7),
        QuoteEngine(RuleBook.default(), registry),
        ArticlePipeline(ArticleEnricher(registry), clock=lambda: 0),
    )
    task = runner._task(3)
    assert (task.partition, task.state_format, task.days.retention_days) == (3, state_format, 7)
