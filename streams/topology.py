"""The processing graph, as Kafka Streams' ``Topology.describe()`` prints it: sub-topologies
of sources (topics, key), processors (the Faust agents, the quote tasks, the dashboard's
reader, ``windvane deliver``), state stores with their changelogs, sinks, and each
processor's guarantee.

Nothing here is a hand-kept picture: :func:`describe` takes the worker's own objects (its
Faust app's agents and tables, the quote runtime) and the settings, so the names follow
``WINDVANE_APP_ID`` and ``WINDVANE_TOPIC_PREFIX`` as the worker's do. ``windvane topology``
prints it (text, mermaid or JSON); ``/topology`` on the worker serves it with the partitions
each processor owns; the README's picture is its mermaid (a test compares them).
No Kafka or Faust imports: the worker's objects come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from streams.config import ALERTS, ALERTS_UNDELIVERABLE, TOPIC_KEYS, Settings

EXACTLY_ONCE = "exactly_once"
AT_LEAST_ONCE = "at_least_once"
READ_ONLY = "read_only"


@dataclass(frozen=True)
class Store:
    """A state store and the compacted changelog it is restored from."""

    name: str
    changelog: str


@dataclass(frozen=True)
class Processor:
    """One processing node with its sources and sinks (deployed topic names)."""

    name: str
    kind: str  # "faust agent", "quote task", "faust task", "delivery"
    runs_in: str  # the process: "windvane worker" or "windvane deliver"
    sources: tuple[str, ...]
    sinks: tuple[str, ...]
    stores: tuple[Store, ...]
    guarantee: str  # EXACTLY_ONCE, AT_LEAST_ONCE or READ_ONLY
    group: str | None  # consumer group (None: reads every partition, no group)
    how: str  # the guarantee, or the processor's parallelism, in a few words
    help: str = ""


@dataclass(frozen=True)
class Topology:
    app_id: str
    topic_prefix: str
    processors: tuple[Processor, ...]
    keys: Mapping[str, str] = field(default_factory=dict)  # deployed topic -> key

    def topics(self) -> set[str]:
        """Every topic the graph reads or writes, changelogs included."""
        names: set[str] = set()
        for p in self.processors:
            names.update(p.sources, p.sinks, (s.changelog for s in p.stores))
        return names

    def operations(self) -> set[tuple[str, str, str]]:
        """(process, ``receive`` | ``send``, topic) of every edge, as AsyncAPI's operations
        (a store's changelog is written, and read back on restore)."""
        ops: set[tuple[str, str, str]] = set()
        for p in self.processors:
            ops.update((p.runs_in, "receive", t) for t in p.sources)
            ops.update((p.runs_in, "send", t) for t in p.sinks)
            for s in p.stores:
                ops.update({(p.runs_in, "send", s.changelog), (p.runs_in, "receive", s.changelog)})
        return ops

    def to_json(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "topic_prefix": self.topic_prefix,
            "sub_topologies": [
                {"id": i, **asdict(p), "keys": {t: self.keys.get(t) for t in p.sources + p.sinks}}
                for i, p in enumerate(self.processors)
            ],
        }


def agent_processor(
    agent: Any,
    sinks: Iterable[str],
    tables: Iterable[Any],
    group: str,
    guarantee: str,
) -> Processor:
    """A Faust agent: its channel's topics, the topics it may send to, its tables."""
    return Processor(
        name=agent.name.rsplit(".", 1)[-1],
        kind="faust agent",
        runs_in="windvane worker",
        sources=tuple(sorted(agent.channel.topics)),
        sinks=tuple(sinks),
        stores=tuple(Store(t.name, t.changelog_topic.get_topic_name()) for t in tables),
        guarantee=guarantee,
        group=group,
        how="a redelivery gives the same ids" if guarantee == AT_LEAST_ONCE else "Faust's",
        help=_first_line(agent.help),
    )


def quote_processor(quote_tasks: Any) -> Processor:
    """The quote runtime (:class:`streams.runtime.QuoteTasks`): one task per partition."""
    app_id = quote_tasks.settings.app_id
    how = {
        "exactly_once": f"one transaction per task, transactional id {app_id}-quotes-<p>",
        "exactly_once_v2": (
            f"one transaction per worker and round, transactional id {app_id}-quotes-<random>,"
            " offsets checked against the group generation"
        ),
    }
    return Processor(
        name="quote-task",
        kind="quote task",
        runs_in="windvane worker",
        sources=tuple(quote_tasks.inputs),
        sinks=tuple(quote_tasks.sinks),
        stores=tuple(Store(n, c) for n, c in quote_tasks.stores.items()),
        guarantee=quote_tasks.guarantee,
        group=quote_tasks.group_id,
        how=how.get(quote_tasks.guarantee, "idempotent producer, offsets after the acks"),
        help="one task per partition p of both inputs: state, claim checks, outputs",
    )


def dashboard_processor(task: Any, topic: str) -> Processor:
    """The Faust task that reads ``alerts`` for the dashboard (no group: all partitions)."""
    return Processor(
        name=task.__name__,
        kind="faust task",
        runs_in="windvane worker",
        sources=(topic,),
        sinks=(),
        stores=(),
        guarantee=READ_ONLY,
        group=None,
        how="read_committed, every partition, no group",
        help=_first_line(task.__doc__),
    )


def delivery_processor(settings: Settings, group: str) -> Processor:
    """``windvane deliver`` (:class:`streams.delivery.service.AlertDelivery`)."""
    return Processor(
        name="deliver",
        kind="delivery",
        runs_in="windvane deliver",
        sources=(settings.topic(ALERTS),),
        sinks=(settings.topic(ALERTS_UNDELIVERABLE),),
        stores=(),
        guarantee=AT_LEAST_ONCE,
        group=group,
        how="receivers dedupe on the Idempotency-Key, the alert id",
        help="alerts to webhooks, Slack and Alertmanager; what fails for good is undeliverable",
    )


def describe(settings: Settings, processors: Iterable[Processor]) -> Topology:
    keys = {settings.topic(t): key for t, key in TOPIC_KEYS.items()}
    return Topology(settings.app_id, settings.topic_prefix, tuple(processors), keys)


def _first_line(text: str | None) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line.replace("``", "")


# -- text: Topology.describe() ----------------------------------------------------------------

_GUARANTEE = {
    EXACTLY_ONCE: "exactly-once",
    "exactly_once_v2": "exactly-once (v2)",
    AT_LEAST_ONCE: "at-least-once",
    READ_ONLY: "read-only",
}


def render_text(topology: Topology) -> str:
    """Kafka Streams' ``TopologyDescription`` layout, with each sub-topology's guarantee and
    group, and each store's changelog."""
    prefix = topology.topic_prefix or "(none)"
    lines = [f"Topologies (app id {topology.app_id}, topic prefix {prefix}):"]
    process = None
    for i, p in enumerate(topology.processors):
        if p.runs_in != process:
            process = p.runs_in
            lines.append(f"  {process}")
        group = f"group {p.group}" if p.group else "no group"
        lines.append(f"   Sub-topology: {i} [{p.kind}, {group}]")
        lines.append(f"    Guarantee: {_GUARANTEE[p.guarantee]} ({p.how})")
        source = f"{p.name}-source"
        keys = sorted({topology.keys.get(t, "?") for t in p.sources})
        lines.append(
            f"    Source: {source} (topics: [{', '.join(p.sources)}], key: {', '.join(keys)})"
        )
        lines.append(f"      --> {p.name}")
        stores = ", ".join(s.name for s in p.stores)
        lines.append(f"    Processor: {p.name} (stores: [{stores}])")
        if p.sinks:
            lines.append(f"      --> {', '.join(f'{p.name}-sink-{t}' for t in p.sinks)}")
        lines.append(f"      <-- {source}")
        for t in p.sinks:
            key = topology.keys.get(t, "?")
            lines.append(f"    Sink: {p.name}-sink-{t} (topic: {t}, key: {key})")
            lines.append(f"      <-- {p.name}")
        for s in p.stores:
            lines.append(f"    Store: {s.name} (changelog: {s.changelog})")
        lines.append("")
    return "\n".join(lines)


# -- the README's copy ------------------------------------------------------------------------

BEGIN = "<!-- topology:begin (make docs writes this block: windvane topology --format mermaid) -->"
END = "<!-- topology:end -->"


def readme_block(text: str) -> str:
    """The mermaid between the markers of ``text`` (a README), without its fence."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    body = text[start:end].strip("\n")
    fence = "```mermaid\n"
    if not (body.startswith(fence) and body.endswith("```")):
        raise ValueError("the topology block is not one ```mermaid fence")
    return body[len(fence) : -3]


def with_readme_block(text: str, mermaid: str) -> str:
    """``text`` with the block between the markers replaced by ``mermaid``, fenced."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n```mermaid\n" + mermaid + "```\n" + text[end:]


# -- mermaid ----------------------------------------------------------------------------------


def _id(kind: str, name: str) -> str:
    return kind + "_" + "".join(c if c.isalnum() else "_" for c in name)


def render_mermaid(topology: Topology) -> str:
    """A flowchart: topics (with their keys) between processors; each process a subgraph;
    stores beside their processor with the changelog; exactly-once processors in bold."""
    out = ["flowchart LR"]
    topics: list[str] = []
    for p in topology.processors:
        for t in (*p.sources, *p.sinks):
            if t not in topics:
                topics.append(t)
    for t in topics:
        out.append(f'  {_id("t", t)}(["{t}<br/>key: {topology.keys.get(t, "?")}"])')
    by_process: dict[str, list[Processor]] = {}
    for p in topology.processors:
        by_process.setdefault(p.runs_in, []).append(p)
    for process, processors in by_process.items():
        out.append(f'  subgraph {_id("g", process)}["{process}"]')
        for p in processors:
            label = f"{p.name}<br/>{p.kind} · {_GUARANTEE[p.guarantee]}"
            out.append(f'    {_id("p", p.name)}[["{label}"]]')
            for s in p.stores:
                out.append(f'    {_id("s", s.name)}[("{s.name}<br/>changelog: {s.changelog}")]')
        out.append("  end")
    for p in topology.processors:
        pid = _id("p", p.name)
        out += [f"  {_id('t', t)} --> {pid}" for t in p.sources]
        out += [f"  {pid} --> {_id('t', t)}" for t in p.sinks]
        out += [f"  {pid} -.- {_id('s', s.name)}" for s in p.stores]
    eos = [_id("p", p.name) for p in topology.processors if p.guarantee.startswith(EXACTLY_ONCE)]
    if eos:
        out.append("  classDef eos stroke-width:3px")
        out.append(f"  class {','.join(eos)} eos")
    return "\n".join(out) + "\n"
