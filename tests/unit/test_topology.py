"""``windvane topology``: the graph the worker's own objects give, against the references that
do not come from it: asyncapi.yaml's topics, keys and operations, the records the pipeline
steps really produce, the README's picture (a fresh render) and its hand-drawn arrows.

The command runs as a process (it imports the worker's module, which reads the settings from
the environment when it is imported), with a clean environment as ``make docs`` does."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.article_pipeline import ArticlePipeline
from streams.config import TOPIC_KEYS, TOPICS
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine
from streams.domain.rules import RuleBook
from streams.pipeline import QuotePipeline, SourceRecord
from streams.topology import BEGIN, END, readme_block, with_readme_block
from tests.reference import closes, shared_path
from tests.schemas import ASYNCAPI, REPO, load_asyncapi, resolve

pytestmark = pytest.mark.unit

README = REPO / "README.md"
DOC = ASYNCAPI
LEADER = "{appId}-__assignor-__leader"  # Faust's own topic: no processor of ours uses it


def topology(tmp_path: Path, fmt: str, **env: str) -> str:
    """``windvane topology --format fmt`` in a process whose settings are only ``env``."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WINDVANE_", "KAFKA_")) and k != "PROCESSING_GUARANTEE"
    }
    clean.update(
        WINDVANE_STORE="memory://", WINDVANE_DATA_DIR=str(tmp_path), PYTHONPATH=str(REPO), **env
    )
    proc = subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", "topology", "--format", fmt],
        capture_output=True,
        text=True,
        env=clean,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The three renders with the default settings."""
    tmp = tmp_path_factory.mktemp("topology")
    return {
        "json": json.loads(topology(tmp, "json")),
        "mermaid": topology(tmp, "mermaid"),
        "text": topology(tmp, "text"),
    }


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return load_asyncapi()


def topics_of(graph: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for sub in graph["sub_topologies"]:
        names.update(sub["sources"], sub["sinks"], (s["changelog"] for s in sub["stores"]))
    return names


def operations_of(graph: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(process, action, topic), as asyncapi.yaml's operations name them."""
    ops = set()
    for sub in graph["sub_topologies"]:
        process = sub["runs_in"].removeprefix("windvane ")
        ops.update((process, "receive", t) for t in sub["sources"])
        ops.update((process, "send", t) for t in sub["sinks"])
        for store in sub["stores"]:
            ops.update({(process, "send", store["changelog"]), (process, "receive", store["changelog"])})  # fmt: skip
    return ops


def by_name(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {sub["name"]: sub for sub in graph["sub_topologies"]}


# -- the graph against asyncapi.yaml and streams/config.py ---------------------------------


def test_the_topics_are_those_of_asyncapi_and_streams_config(
    default: dict[str, Any], doc: dict[str, Any]
) -> None:
    graph = default["json"]
    addresses = {c["address"].replace("{appId}", "windvane") for c in doc["channels"].values()}
    assert topics_of(graph) == addresses - {LEADER.replace("{appId}", "windvane")}
    assert {t for t in topics_of(graph) if not t.startswith("windvane-")} == set(TOPICS)


def test_the_reads_and_writes_are_asyncapis_operations(
    default: dict[str, Any], doc: dict[str, Any]
) -> None:
    expected = set()
    for op in doc["operations"].values():
        (tag,) = [t["name"] for t in op["tags"]]
        address = resolve(doc, op["channel"])["address"]
        if address != LEADER:
            expected.add((tag, op["action"], address.replace("{appId}", "windvane")))
    assert operations_of(default["json"]) == expected


def test_the_keys_are_asyncapis(doc: dict[str, Any]) -> None:
    """Each topic's key label names what the catalogue's key schema describes."""
    for channel in doc["channels"].values():
        address = channel["address"]
        if address not in TOPIC_KEYS:
            continue
        for message in channel["messages"].values():
            key = resolve(doc, resolve(doc, message)["bindings"]["kafka"]["key"])
            first = TOPIC_KEYS[address].split()[0]
            assert first in key["description"].lower(), (address, TOPIC_KEYS[address], key)
    assert set(TOPIC_KEYS) == set(TOPICS)


def test_who_does_what_and_how_sure(default: dict[str, Any]) -> None:
    subs = by_name(default["json"])
    assert list(subs) == [
        "route_articles", "enrich_articles", "quote-task", "watch_alerts", "deliver",
    ]  # fmt: skip
    quote = subs["quote-task"]
    assert quote["guarantee"] == "exactly_once_v2" and quote["group"] == "windvane-quotes"
    assert "windvane-quotes-<random>" in quote["how"]
    assert quote["sources"] == ["quotes.raw", "claims.bysymbol"]
    assert [s["name"] for s in quote["stores"]] == ["quote-state", "quote-days"]
    for agent in ("route_articles", "enrich_articles"):
        assert subs[agent]["kind"] == "faust agent" and subs[agent]["group"] == "windvane"
        assert subs[agent]["guarantee"] == "at_least_once"
    assert subs["enrich_articles"]["stores"] == [
        {"name": "article-hashes", "changelog": "windvane-article-hashes-changelog"}
    ]
    assert subs["watch_alerts"]["group"] is None and subs["watch_alerts"]["sinks"] == []
    assert subs["deliver"]["runs_in"] == "windvane deliver"
    assert subs["deliver"]["group"] == "windvane-delivery"


def test_names_follow_the_settings(tmp_path: Path, default: dict[str, Any]) -> None:
    """As ``windvane config`` shows them: the prefix on every topic, the app id on the groups,
    changelogs and transactional ids; the quote path's guarantee from the setting."""
    graph = json.loads(
        topology(
            tmp_path,
            "json",
            WINDVANE_APP_ID="acme",
            WINDVANE_TOPIC_PREFIX="prod.",
            PROCESSING_GUARANTEE="at_least_once",
        )
    )
    renamed = {
        t.replace("windvane-", "acme-") if t.startswith("windvane-") else "prod." + t
        for t in topics_of(default["json"])
    }
    assert topics_of(graph) == renamed
    subs = by_name(graph)
    assert {s["group"] for s in subs.values()} == {"acme", "acme-quotes", "acme-delivery", None}
    assert subs["quote-task"]["guarantee"] == "at_least_once"
    assert "transaction" not in subs["quote-task"]["how"]
    assert graph["sub_topologies"][0]["keys"] == {
        "prod.articles.raw": "article id",
        "prod.articles.byhash": "content hash",
        "prod.deadletter": "rejected record's key",
    }


# -- the declared sinks against the records the steps really produce -----------------------


def outputs(results: Iterator[Any]) -> set[str]:
    return {record.topic for result in results for record in result.records}


def test_each_step_writes_exactly_its_declared_sinks() -> None:
    """Real inputs (the 99 news records, HSTECH's history) and broken ones through each step:
    every topic a record goes to is declared, and every declared one is used."""
    pipeline = ArticlePipeline(ArticleEnricher(Registry.load(None)), clock=lambda: 1)
    news = shared_path("articles", "news-hk-2025-07-24_08-23.jsonl").read_bytes().splitlines()
    src = SourceRecord("t", 0, 0)
    routed = [pipeline.route(None, raw, src) for raw in [*news, b"{broken"]]
    assert outputs(iter(routed)) == set(ArticlePipeline.ROUTE_SINKS)
    hashes: dict[bytes, bytes] = {}
    byhash = [r for result in routed for r in result.records if r.topic == "articles.byhash"]
    enriched = [pipeline.enrich(r.key, r.value, src, hashes) for r in byhash]
    enriched.append(pipeline.enrich(b"k", b"[]", src, hashes))
    assert outputs(iter(enriched)) == set(ArticlePipeline.ENRICH_SINKS)

    quotes = QuotePipeline(QuoteEngine(RuleBook.load(None), Registry.load(None)), lambda: 1)
    state: dict[bytes, Any] = {}
    days: dict[bytes, bytes] = {}
    bars = [
        orjson.dumps({"symbol": "HSTECH", "date": r.date, "close": r.close})
        for r in closes(shared_path("quotes", "HSTECH.csv")).itertuples()
    ]
    processed = [quotes.process(b"HSTECH", v, src, state, days) for v in [*bars, b"{"]]
    assert outputs(iter(processed)) == set(QuotePipeline.SINKS)

    def latest(symbol: str) -> str | None:
        found = state.get(symbol.encode())
        return found.last_final_day if found is not None else None

    claims = [r for result in enriched for r in result.records if r.topic == "claims.bysymbol"]
    checked = [pipeline.check(c.key, c.value, src, days, latest) for c in [*claims]]
    checked.append(pipeline.check(b"HSTECH", b"{", src, days, latest))
    rechecked = [r for key in state for r in pipeline.recheck(key, days, latest)]
    assert outputs(iter(checked)) | {r.topic for r in rechecked} == set(ArticlePipeline.CHECK_SINKS)


# -- the renders ------------------------------------------------------------------------------


def test_the_readme_picture_is_a_fresh_render(default: dict[str, Any]) -> None:
    text = README.read_text(encoding="utf-8")
    assert readme_block(text) == default["mermaid"], "the README's topology is stale: make docs"
    # what make docs writes is what the check reads back, and a stale block is told apart
    assert with_readme_block(text, default["mermaid"]) == text
    stale = with_readme_block(text, default["mermaid"].replace("quote-task", "quote-tasks"))
    assert readme_block(stale) != default["mermaid"]
    assert text.count(BEGIN) == text.count(END) == 1


def test_the_mermaid_has_every_edge_of_the_graph(default: dict[str, Any]) -> None:
    edges = set(re.findall(r"^  (\w+) --> (\w+)$", default["mermaid"], re.M))

    def node(kind: str, name: str) -> str:
        return kind + "_" + re.sub(r"\W", "_", name)

    expected = set()
    for sub in default["json"]["sub_topologies"]:
        expected |= {(node("t", t), node("p", sub["name"])) for t in sub["sources"]}
        expected |= {(node("p", sub["name"]), node("t", t)) for t in sub["sinks"]}
    assert edges == expected
    assert "class p_quote_task eos" in default["mermaid"]


def test_the_text_is_topology_describe(default: dict[str, Any]) -> None:
    """Parsed back as Kafka Streams' TopologyDescription reads (Source/Processor/Sink lines,
    --> successors, <-- predecessors), it is the same graph as the JSON."""
    parsed: dict[int, dict[str, Any]] = {}
    current: dict[str, Any] = {}
    node = ""
    successors: dict[str, list[str]] = {}
    predecessors: dict[str, list[str]] = {}
    for line in default["text"].splitlines():
        if m := re.match(r"   Sub-topology: (\d+) ", line):
            current = parsed.setdefault(int(m[1]), {"sinks": [], "stores": []})
        elif m := re.match(r"    Source: (\S+) \(topics: \[(.*)\], key: .*\)$", line):
            node, current["sources"] = m[1], m[2].split(", ")
        elif m := re.match(r"    Processor: (\S+) \(stores: \[(.*)\]\)$", line):
            node, current["name"] = m[1], m[1]
        elif m := re.match(r"    Sink: (\S+) \(topic: (\S+), key: .*\)$", line):
            node = m[1]
            current["sinks"].append(m[2])
        elif m := re.match(r"    Store: (\S+) \(changelog: (\S+)\)$", line):
            current["stores"].append({"name": m[1], "changelog": m[2]})
        elif m := re.match(r"      --> (.*)$", line):
            successors[node] = m[1].split(", ")
        elif m := re.match(r"      <-- (.*)$", line):
            predecessors[node] = m[1].split(", ")
    for sub in default["json"]["sub_topologies"]:
        got = parsed[sub["id"]]
        assert (got["name"], got["sources"], got["sinks"], got["stores"]) == (
            sub["name"], sub["sources"], sub["sinks"], sub["stores"],
        )  # fmt: skip
        name = sub["name"]
        assert successors[f"{name}-source"] == [name]
        assert successors.get(name, []) == [f"{name}-sink-{t}" for t in sub["sinks"]]
        assert predecessors[name] == [f"{name}-source"]
        assert all(predecessors[f"{name}-sink-{t}"] == [name] for t in sub["sinks"])


def test_the_hand_drawn_pictures_of_the_readme_agree_with_the_graph(
    default: dict[str, Any],
) -> None:
    """The two drawings under "How it works": the quote path's names exactly the quote
    task's topics and changelogs; in the article path's, every arrow between two names of
    the graph on one line (topic ─► processor ─► topic) is one of its edges."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## How it works") : text.index("### Topology")]
    quote_drawing, article_drawing = re.findall(r"^```\n(.*?)^```", section, re.M | re.S)
    graph = default["json"]
    subs = by_name(graph)
    aliases = {"quote task p": "quote-task"}
    names = sorted({*topics_of(graph), *subs, *aliases}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(n) for n in names))

    quote = subs["quote-task"]
    named = {m[0] for m in pattern.finditer(quote_drawing.replace("<app>", "windvane"))}
    assert named == {*quote["sources"], *quote["sinks"], *(s["changelog"] for s in quote["stores"])}

    edges = set()
    for sub in graph["sub_topologies"]:
        edges |= {(t, sub["name"]) for t in sub["sources"]}
        edges |= {(sub["name"], t) for t in sub["sinks"]}
    arrows = []
    for line in article_drawing.splitlines():
        for chain in re.split(r"\s{3,}", line):  # columns side by side are separate
            found = list(pattern.finditer(chain))
            for left, right in itertools.pairwise(found):
                if "─►" in chain[left.end() : right.start()]:
                    arrows.append((aliases.get(left[0], left[0]), aliases.get(right[0], right[0])))
    assert set(arrows) <= edges
    assert len(arrows) == 6, arrows
