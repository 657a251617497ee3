"""The quote tasks next to the agents in a real worker: its startup log's processor table,
and ``/topology`` with the partitions each owns, split between two workers of one group."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.kafka_harness import Namespace, Worker

pytestmark = pytest.mark.integration

ALL = list(range(8))


def running(worker: Worker) -> dict[str, dict]:
    status, body = worker.get("/topology")
    assert status == 200, body
    return {p["name"]: p for p in json.loads(body)["running"]}


def test_the_log_and_the_web_view_list_the_quote_tasks_beside_the_agents(ns: Namespace) -> None:
    first = Worker(ns, ns.root / "w1").start()
    second: Worker | None = None
    try:
        status, body = first.get("/topology")
        assert status == 200
        served = json.loads(body)
        # the same graph as `windvane topology` with the same settings
        printed = json.loads(ns.windvane("topology", "--format", "json").stdout)
        assert served["topology"] == printed
        alone = running(first)
        quotes, claims = ns.topic("quotes.raw"), ns.topic("claims.bysymbol")
        assert alone["quote-task"]["partitions"] == {quotes: ALL, claims: ALL}
        assert alone["quote-task"]["tasks"] == ALL
        assert alone["quote-task"]["guarantee"] == "exactly_once_v2"
        assert alone["route_articles"]["partitions"] == {ns.topic("articles.raw"): ALL}
        assert alone["enrich_articles"]["partitions"] == {ns.topic("articles.byhash"): ALL}

        log = first.log.read_text(errors="replace")
        table = log[log.index("Processors:") :]
        rows = re.findall(
            r"^\| (\S+) +\| ([a-z ]+?) +\| (.+?) +\| (\w+) +\| (\S+) +\|$", table, re.M
        )
        assert rows[:4] == [
            ("name", "kind", "inputs", "guarantee", "group"),
            ("route_articles", "faust agent", ns.topic("articles.raw"), "at_least_once", ns.app_id),
            (
                "enrich_articles",
                "faust agent",
                ns.topic("articles.byhash"),
                "at_least_once",
                ns.app_id,
            ),
            (
                "quote-task",
                "quote task",
                f"{quotes}, {claims}",
                "exactly_once_v2",
                f"{ns.app_id}-quotes",
            ),
        ]
        assert "tasks assigned: [0, 1, 2, 3, 4, 5, 6, 7]" in log

        # a second worker of the group: each serves the partitions it owns now
        second = Worker(ns, ns.root / "w2").start()
        deadline = time.monotonic() + 90
        while True:
            views = [running(first), running(second)]
            tasks = [v["quote-task"]["tasks"] for v in views]
            agents = [v["route_articles"]["partitions"][ns.topic("articles.raw")] for v in views]
            split = all(tasks) and sorted(tasks[0] + tasks[1]) == ALL
            if split and all(agents) and sorted(agents[0] + agents[1]) == ALL:
                break
            assert time.monotonic() < deadline, (tasks, agents)
            time.sleep(1)
        for view, owned in zip(views, tasks, strict=True):
            assert view["quote-task"]["partitions"] == {quotes: owned, claims: owned}
        assert f"tasks assigned: {tasks[1]}" in second.log.read_text(errors="replace")
    finally:
        for worker in (second, first):
            if worker is not None:
                worker.stop()
