"""At-least-once: a commit round whose group-offset commit fails after its outputs and changelog
entries were written (the failure injected in the real consumer's ``commit``), while the
feed goes on. The runtime resets the tasks from their changelog (which holds the input
offsets written with the states) and carries on: nothing is missing, whatever is repeated is
an exact duplicate of a record already published, and no record gets a ``late`` dead letter
for a day its own replay made final."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from streams.article_pipeline import ArticlePipeline
from streams.config import TOPICS, Settings
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine
from streams.domain.rules import RuleBook
from streams.kafka_io import ensure_topics
from streams.runtime import QuoteTasks
from tests.faults.harness import canonical, daily_bars, feed, read_outputs, reference, report
from tests.kafka_harness import Namespace

pytestmark = pytest.mark.faults


async def test_a_failed_offset_commit_after_the_writes_loses_nothing(
    ns: Namespace, tmp_path: Path
) -> None:
    inputs = daily_bars(["HSTECH.csv", "HSI.csv", "CSI300.csv", "0700.HK.csv"], 4)
    expected = reference(inputs)
    settings = Settings(
        bootstrap_servers=ns.bootstrap,
        app_id=ns.app_id,
        topic_prefix=ns.prefix,
        processing_guarantee="at_least_once",
        data_dir=tmp_path,
        session_timeout=10,
    )
    registry = Registry.load(None)
    tasks = QuoteTasks(
        settings,
        QuoteEngine(RuleBook.default(), registry),
        ArticlePipeline(ArticleEnricher(registry), clock=lambda: 0),
        max_records=500,  # many small rounds: the failures land mid-feed
    )
    await ensure_topics(settings, TOPICS, compacted=tasks.changelogs)
    await tasks.start()
    consumer = tasks._consumer
    assert consumer is not None
    real_commit = consumer.commit
    failures = {"left": 3, "rounds": 0}

    async def flaky_commit(*args: Any, **kwargs: Any) -> None:
        failures["rounds"] += 1
        if failures["rounds"] % 7 == 0 and failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("injected: the group offset commit failed")
        await real_commit(*args, **kwargs)

    consumer.commit = flaky_commit  # type: ignore[method-assign]
    runner = asyncio.create_task(tasks.run())
    try:
        await feed(ns, inputs, 12.0)
        signals, alerts, dead = await read_outputs(ns, expected)
    finally:
        await tasks.stop()
        runner.cancel()
    assert failures["left"] == 0, f"only {3 - failures['left']} failures were injected"

    missing = duplicated = 0
    for topic, got in (("quotes.signals", signals), ("alerts", alerts), ("deadletter", dead)):
        want = Counter(canonical(v, topic) for v in expected[topic])
        have = Counter(canonical(v, topic) for _, v in got)
        missing += sum((want - have).values())
        extra = have - want
        assert not (set(extra) - set(want)), f"{topic}: records the reference does not have"
        duplicated += sum(extra.values())
    report("alos_commit_failure", len(inputs), 0, missing, duplicated, len(dead))
    assert missing == 0
    assert not [v for _, v in dead if v["reason"] == "late"]
