"""The Faust app: created here and nowhere else. Agents are thin: decode -> domain -> send.

The worker runs the article path as Faust agents (at-least-once; republications are
recognised by content hash) and the quote path as :class:`streams.runtime.QuoteTasks`, a
service of this app with its own consumer group and per-partition transactions."""

from __future__ import annotations

import logging
import os
from typing import Any

import faust
import mode
from faust.cli.agents import agents as FaustAgentsCommand
from faust.sensors.prometheus import setup_prometheus_sensors
from faust.utils import terminal
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from streams import codec, metrics
from streams.article_pipeline import ArticlePipeline
from streams.broker_watch import BrokerWatch, waiting_page
from streams.cloudevents import CloudEvents
from streams.config import (
    ALERTS,
    ARTICLES_BYHASH,
    ARTICLES_CLAIMS,
    ARTICLES_ENRICHED,
    ARTICLES_RAW,
    CLAIMS_BYSYMBOL,
    DEADLETTER,
    TOPICS,
    WORKER_ENV,
    Settings,
    writable_dir,
)
from streams.dashboard import PAGE, AlertBoard, series
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine
from streams.domain.rules import RuleBook
from streams.domain.timeutil import utc_now_ms
from streams.kafka_io import ensure_topics
from streams.logs import use_json_on_existing_handlers
from streams.pipeline import DEADLETTER_REASONS, Result, SourceRecord
from streams.runtime import QuoteTasks
from streams.topology import (
    Topology,
    agent_processor,
    dashboard_processor,
    delivery_processor,
    describe,
    quote_processor,
)

log = logging.getLogger("windvane")

settings = Settings.from_env()
DATA_DIR = writable_dir(settings.data_dir / settings.app_id)

_declared = False
broker = BrokerWatch(settings)


class WindvaneApp(faust.App):
    """Creates every topic of ours before the consumer subscribes, so a worker that starts
    before any producer still consumes ``quotes.raw`` (Faust ignores topics missing at
    assignment until the next rebalance)."""

    async def on_first_start(self) -> None:
        global _declared
        # every (reason, source topic) dead-letter series at 0 before any input
        metrics.preset_deadletters(
            {settings.topic(t): reasons for t, reasons in DEADLETTER_REASONS.items()}
        )
        await super().on_first_start()
        use_json_on_existing_handlers()
        # no broker yet: wait for one (log, /readyz 503, windvane_broker_up 0), not exit
        if not await broker.probe():
            async with waiting_page(settings.web_host, settings.web_port, readiness):
                await broker.wait()
        # Changelogs too, before the consumer subscribes: a table written before the consumer
        # knew its changelog failed Faust's partition check on a loaded machine.
        await ensure_topics(settings, TOPICS, compacted=changelog_topics())
        _declared = True


class Worker(faust.Worker):
    """Faust's worker without its terminal progress spinner.

    At ``-l warn`` (and above) Faust installs a spinner handler and lowers the root logger to
    DEBUG so that every log call turns the spinner: each of aiokafka's per-request debug
    lines then builds a LogRecord and walks the handlers, about 3% of a live worker's CPU
    (py-spy, bench/profile_worker.py --rate 5000). The level asked for is the level used.
    """

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None


def faust_environment() -> dict[str, str]:
    """The environment as Faust's settings see it: without windvane's own variables whose
    names Faust also reads."""
    owned = {e.name for e in WORKER_ENV}
    return {k: v for k, v in os.environ.items() if k not in owned}


app = WindvaneApp(
    settings.app_id,
    broker=settings.faust_broker,
    broker_credentials=settings.security.faust_credentials(),
    store=settings.store,
    datadir=str(DATA_DIR),  # stores are per app id
    topic_partitions=settings.partitions,
    topic_replication_factor=settings.replication_factor,
    # the article agents; the quote path's guarantee is PROCESSING_GUARANTEE (streams.runtime)
    processing_guarantee="at_least_once",
    # Faust reads PROCESSING_GUARANTEE from the environment too, and it wins over the argument
    # above: windvane's own setting of that name switched the article agents to Faust's
    # exactly-once (the one that loses records under SIGKILL). Faust sees the environment
    # without the names windvane owns.
    env=faust_environment(),
    web_host=settings.web_host,
    web_port=settings.web_port,
    web_in_thread=False,
    key_serializer="raw",
    value_serializer="raw",
    table_standby_replicas=1,
    stream_wait_empty=False,
    producer_acks=-1,
    broker_commit_every=1000,
    broker_session_timeout=settings.session_timeout,
    broker_heartbeat_interval=min(3.0, settings.session_timeout / 4),
    broker_commit_interval=1.0,
    Worker=Worker,
)
# Faust's sensor metrics go to their own registry (its page is not used): /metrics below
# serves ours and Faust's together, lint-clean (see streams.metrics).
setup_prometheus_sensors(
    app, pattern="/faust-metrics", registry=metrics.FAUST_REGISTRY, name_prefix="faust_windvane"
)


def _topic(logical: str) -> Any:
    return app.topic(
        settings.topic(logical),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )


articles_raw = _topic(ARTICLES_RAW)
articles_byhash = _topic(ARTICLES_BYHASH)
claims_bysymbol = _topic(CLAIMS_BYSYMBOL)
topics = {
    DEADLETTER: _topic(DEADLETTER),
    ARTICLES_ENRICHED: _topic(ARTICLES_ENRICHED),
    ARTICLES_CLAIMS: _topic(ARTICLES_CLAIMS),
    ARTICLES_BYHASH: articles_byhash,
    CLAIMS_BYSYMBOL: claims_bysymbol,
}


def _bytes_table(name: str, help_text: str) -> Any:
    return app.Table(
        name,
        default=None,
        key_type=bytes,  # bytes in, bytes out: faust picks the raw codec from the type
        value_type=bytes,
        partitions=settings.partitions,
        help=help_text,
    )


# First article id per content hash (articles.byhash is keyed by the hash).
article_hashes = _bytes_table("article-hashes", "first article id per content hash")

registry = Registry.load(settings.instruments_path)
engine = QuoteEngine(
    rules=RuleBook.load(settings.rules_path),
    registry=registry,
)
article_pipeline = ArticlePipeline(ArticleEnricher(registry), clock=utc_now_ms)
quote_tasks = QuoteTasks(settings, engine, article_pipeline)
cloudevents = CloudEvents(settings.app_id)


def changelog_topics() -> list[str]:
    """Every compacted changelog the worker declares (full names, after the app id): its
    Faust tables' and the quote tasks'. asyncapi.yaml lists the same (a test checks it)."""
    names = [table.changelog_topic.get_topic_name() for table in app.tables.values()]
    return names + quote_tasks.changelogs


@app.service
class QuotePath(mode.Service):
    """``quotes.raw`` + ``claims.bysymbol`` -> ``quotes.signals``, ``alerts``,
    ``articles.claims`` (+ ``deadletter``), in :class:`streams.runtime.QuoteTasks`."""

    async def on_start(self) -> None:
        # the worker's processors in one table, the quote tasks next to Faust's agents
        self.log.info("Processors:\n%s", processors_table())
        await quote_tasks.start()

    @mode.Service.task
    async def _run(self) -> None:
        await quote_tasks.run()

    async def on_stop(self) -> None:
        await quote_tasks.stop()


class UndeclaredSink(RuntimeError):
    """An agent produced a record for a topic it does not declare (a bug: the topology
    would not show that edge)."""


async def _publish(result: Result, source: SourceRecord, sinks: tuple[str, ...]) -> None:
    """Count the outcome and send the records (the one place agents send from), each to one
    of the agent's declared ``sinks`` (see :data:`AGENT_WIRING`), with its CloudEvents
    headers."""
    if result.status == "duplicate":
        metrics.DUPLICATES.labels(source.topic).inc()
    elif result.status == "deadletter":
        metrics.dead_lettered(result.reason, source.topic, source.partition, source.offset)
    undeclared = [r.topic for r in result.records if r.topic not in sinks]
    if undeclared:  # before anything is sent
        raise UndeclaredSink(f"{undeclared} not among the agent's sinks {sinks}")
    for record in result.records:
        headers = cloudevents.headers(record.topic, record.event)
        await topics[record.topic].send(key=record.key, value=record.value, headers=headers)
        metrics.RECORDS_OUT.labels(settings.topic(record.topic)).inc()


def _source(topic: str, event: Any) -> SourceRecord:
    message = event.message
    stamp = int(message.timestamp * 1000) if message.timestamp else None
    metrics.RECORDS_IN.labels(topic).inc()
    return SourceRecord(topic, message.partition, message.offset, stamp)


@app.agent(articles_raw)
async def route_articles(stream: faust.StreamT[bytes]) -> None:
    """``articles.raw`` -> ``articles.byhash`` (keyed by content hash) or ``deadletter``."""
    async for event in stream.events():
        source = _source(settings.topic(ARTICLES_RAW), event)
        result = article_pipeline.route(event.key, event.value, source)
        await _publish(result, source, ArticlePipeline.ROUTE_SINKS)


@app.agent(articles_byhash)
async def enrich_articles(stream: faust.StreamT[bytes]) -> None:
    """``articles.byhash`` -> ``articles.enriched`` + claims (by symbol, or unknown at once)."""
    async for event in stream.events():
        source = _source(settings.topic(ARTICLES_BYHASH), event)
        result = article_pipeline.enrich(event.key, event.value, source, article_hashes)
        await _publish(result, source, ArticlePipeline.ENRICH_SINKS)


AGENT_WIRING: dict[str, tuple[tuple[str, ...], tuple[Any, ...]]] = {
    route_articles.name: (ArticlePipeline.ROUTE_SINKS, ()),
    enrich_articles.name: (ArticlePipeline.ENRICH_SINKS, (article_hashes,)),
}
"""Each agent's sinks (logical topics: :func:`_publish` sends nowhere else) and the tables it
uses: what the topology shows beside the agent's own channel."""


@app.task
async def watch_broker() -> None:
    """Probe the brokers every few seconds: /readyz, windvane_broker_up and the log."""
    await broker.run()


board = AlertBoard()
dashboard_topic = settings.topic(ALERTS)


@app.task
async def watch_alerts() -> None:
    """Feed the dashboard: read ``alerts`` from the start, as any downstream consumer would
    (no consumer group: every worker sees every alert)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        dashboard_topic,
        **settings.client_kwargs(),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    try:
                        board.add(codec.loads(record.value or b""))
                    except (codec.DecodeError, KeyError, TypeError):
                        log.warning("dashboard: skipped an alerts record that is not an alert")
    finally:
        await consumer.stop()


def topology() -> Topology:
    """The processing graph of this worker (and of ``windvane deliver`` beside it), from its
    own objects: ``windvane topology`` prints it, ``/topology`` serves it."""
    from streams.delivery.service import AlertDelivery

    guarantee = str(app.conf.processing_guarantee.value)  # "at_least_once"
    processors = []
    for agent in app.agents.values():
        if agent.name not in AGENT_WIRING:
            raise LookupError(f"agent {agent.name} is missing from AGENT_WIRING")
        sinks, tables = AGENT_WIRING[agent.name]
        names = [topics[t].get_topic_name() for t in sinks]
        processors.append(agent_processor(agent, names, tables, app.conf.id, guarantee))
    processors.append(quote_processor(quote_tasks))
    processors.append(dashboard_processor(watch_alerts, dashboard_topic))
    processors.append(delivery_processor(settings, AlertDelivery(settings, [], "").group_id))
    return describe(settings, processors)


def processors_table() -> str:
    """The worker's processors as a Faust log table (name, kind, inputs, guarantee, group)."""
    rows = [
        [p.name, p.kind, ", ".join(p.sources), p.guarantee, p.group or "-"]
        for p in topology().processors
        if p.runs_in == "windvane worker"
    ]
    return terminal.logtable(
        rows, title="Processors", headers=["name", "kind", "inputs", "guarantee", "group"]
    )


def _assigned(topic_names: tuple[str, ...]) -> dict[str, list[int]]:
    """The partitions of ``topic_names`` assigned to the Faust consumer now."""
    consumer = getattr(app, "_consumer", None)  # not app.consumer: that would create one
    assigned = consumer.assignment() if consumer is not None else set()
    return {t: sorted(tp.partition for tp in assigned if tp.topic == t) for t in topic_names}


@app.page("/topology")
async def topology_view(web: Any, request: Any) -> Any:
    """The processing graph (``windvane topology --format json``) and what this worker runs
    now: each agent and the quote tasks with the partitions assigned to them."""
    graph = topology()
    live: list[dict[str, Any]] = []
    for p in graph.processors:
        if p.kind == "faust agent":
            live.append({"name": p.name, "kind": p.kind, "partitions": _assigned(p.sources)})
        elif p.kind == "quote task":
            live.append(
                {
                    "name": p.name,
                    "kind": p.kind,
                    "partitions": quote_tasks.assignment(),
                    "tasks": sorted(quote_tasks.tasks),
                    "guarantee": quote_tasks.guarantee,
                }
            )
    return web.json({"topology": graph.to_json(), "running": live})


@app.page("/dashboard")
async def dashboard_page(web: Any, request: Any) -> Any:
    """The operator's page: live alerts and per-symbol charts."""
    return web.html(PAGE.read_text(encoding="utf-8"))


@app.page("/api/alerts")
async def alerts_api(web: Any, request: Any) -> Any:
    """Alerts after sequence number ``after`` (newest last), and the symbols seen."""
    try:
        after = int(request.query.get("after", "0"))
        limit = max(1, min(5000, int(request.query.get("limit", "500"))))
    except ValueError:
        after, limit = 0, 500
    return web.json(
        {"alerts": board.after(after, limit), "symbols": board.symbols(), "seq": board.seq}
    )


@app.page("/api/series/{symbol}")
async def series_api(web: Any, request: Any, symbol: str) -> Any:
    """Final daily closes and SMA 20/60/250 of ``symbol``, oldest first."""
    try:
        days = max(1, min(2000, int(request.query.get("days", "500"))))
    except ValueError:
        days = 500
    state = quote_tasks.symbol_state(symbol.encode())
    last_day = state.last_final_day if state else None
    points = series(symbol, last_day, lambda key: quote_tasks.day(key.encode()), days)
    return web.json({"symbol": symbol, "points": points})


@app.page("/metrics")
async def metrics_page(web: Any, request: Any) -> Any:
    """Prometheus text format: windvane_* and faust_windvane_*."""
    return web.bytes(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST.split(";")[0])


@app.page("/healthz")
async def healthz(web: Any, request: Any) -> Any:
    """The process is alive and its event loop answers."""
    return web.json({"status": "ok"})


def readiness() -> dict[str, Any]:
    """Ready once the worker has partitions assigned, table recovery and the quote tasks'
    restores are done, its topics declared and its brokers answer its probe: what
    ``/readyz`` answers and ``windvane_ready`` reports."""
    consumer = getattr(app, "_consumer", None)  # not app.consumer: that would create one
    try:
        assigned = len(consumer.assignment()) if consumer is not None else 0
    except faust.exceptions.ConsumerNotStarted:  # still waiting for a broker
        assigned = 0
    recovery = getattr(app.tables, "recovery", None)
    recovering = recovery is None or not recovery.completed.is_set()
    quotes_ready = quote_tasks.ready
    ready = (
        assigned > 0
        and not recovering
        and not app.rebalancing
        and _declared
        and quotes_ready
        and broker.reachable
    )
    return {
        "ready": ready,
        "broker_reachable": broker.reachable,
        "assigned_partitions": assigned,
        "quote_tasks": sorted(quote_tasks.tasks),
        "quote_tasks_restoring": quote_tasks.restoring,
        "recovering": recovering,
        "topics_declared": _declared,
    }


@app.page("/readyz")
async def readyz(web: Any, request: Any) -> Any:
    body = readiness()
    return web.json(body, status=200 if body["ready"] else 503)


# ``faust -A streams.app agents`` lists the quote tasks after the agents: this command takes
# the place of Faust's own (a click command registered later under the same name wins).
class agents(FaustAgentsCommand):
    """List agents, and the quote tasks that run beside them in the worker."""

    async def run(self, local: bool) -> None:
        rows = [self.agent_to_row(agent) for agent in self.agents(local=local)]
        quote = quote_processor(quote_tasks)
        how = f"{quote.help} ({quote.guarantee}, group {quote.group})"
        rows.append([f"@{quote.name}", ", ".join(quote.sources), how])
        self.say(self.tabulate(rows, headers=self.headers, title="Agents and quote tasks"))


@app.command()
async def topology_command(self: Any) -> None:
    """Print the processing graph, as `windvane topology` does."""
    from streams.topology import render_text

    self.say(render_text(topology()))
