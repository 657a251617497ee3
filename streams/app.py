"""The Faust app: created here and nowhere else. Agents are thin: decode -> domain -> send."""

from __future__ import annotations

import logging
import shutil
import time
from typing import Any

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from streams import codec, metrics
from streams.article_pipeline import ArticlePipeline
from streams.config import (
    ALERTS,
    ARTICLES_BYHASH,
    ARTICLES_CLAIMS,
    ARTICLES_ENRICHED,
    ARTICLES_RAW,
    CLAIMS_BYSYMBOL,
    DEADLETTER,
    QUOTES_RAW,
    QUOTES_SIGNALS,
    TOPICS,
    Settings,
)
from streams.dashboard import PAGE, AlertBoard, series
from streams.domain.alert_text import summary
from streams.domain.articles.article import ArticleEnricher
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine, SymbolState
from streams.domain.rules import RuleBook
from streams.domain.timeutil import utc_now_ms
from streams.kafka_io import ensure_topics
from streams.logs import use_json_on_existing_handlers
from streams.pipeline import QuotePipeline, Result, SourceRecord
from streams.transactions import (
    SourcePartitionTransactions,
    WholeEventConsumer,
    drain_changelog,
    whole_event,
)

log = logging.getLogger("windvane")

settings = Settings.from_env()
DATA_DIR = settings.data_dir / settings.app_id
CLEAN_SHUTDOWN = DATA_DIR / ".clean-shutdown"


def _prepare_local_state() -> None:
    """Under exactly-once, local stores left by a crash may hold writes of transactions that
    were aborted; like Kafka Streams, wipe them and restore from the changelogs (which hold
    committed writes only). A clean stop leaves a marker that spares the restore."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    dirty = [p for p in DATA_DIR.iterdir() if p != CLEAN_SHUTDOWN]
    if settings.processing_guarantee == "exactly_once" and dirty and not CLEAN_SHUTDOWN.exists():
        log.warning("unclean shutdown before: wiping %s, tables restore from changelogs", DATA_DIR)
        shutil.rmtree(DATA_DIR)
        DATA_DIR.mkdir(parents=True)
    CLEAN_SHUTDOWN.unlink(missing_ok=True)


_prepare_local_state()

_declared = False
exactly_once = settings.processing_guarantee == "exactly_once"


class WindvaneApp(faust.App):
    """Creates every topic of ours before the consumer subscribes, so a worker that starts
    before any producer still consumes ``quotes.raw`` (Faust ignores topics missing at
    assignment until the next rebalance)."""

    async def on_first_start(self) -> None:
        global _declared
        await super().on_first_start()
        use_json_on_existing_handlers()
        # Changelogs too, before the consumer subscribes: a table written before the consumer
        # knew its changelog failed Faust's partition check on a loaded machine.
        changelogs = [table.changelog_topic.get_topic_name() for table in self.tables.values()]
        await ensure_topics(settings, TOPICS, compacted=changelogs)
        _declared = True

    def _new_transport(self) -> Any:
        transport = super()._new_transport()
        transport.TransactionManager = SourcePartitionTransactions  # type: ignore[misc]
        if settings.processing_guarantee == "exactly_once":
            transport.Consumer = WholeEventConsumer  # type: ignore[misc]
        return transport

    async def on_shutdown(self) -> None:
        """Called once every child service (tables and their stores) has stopped."""
        await super().on_shutdown()
        CLEAN_SHUTDOWN.touch()


app = WindvaneApp(
    settings.app_id,
    broker=settings.faust_broker,
    store=settings.store,
    datadir=str(DATA_DIR),  # stores are per app id
    topic_partitions=settings.partitions,
    topic_replication_factor=settings.replication_factor,
    processing_guarantee=settings.processing_guarantee,
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


quotes_raw = _topic(QUOTES_RAW)
articles_raw = _topic(ARTICLES_RAW)
articles_byhash = _topic(ARTICLES_BYHASH)
claims_bysymbol = _topic(CLAIMS_BYSYMBOL)
topics = {
    QUOTES_SIGNALS: _topic(QUOTES_SIGNALS),
    ALERTS: _topic(ALERTS),
    DEADLETTER: _topic(DEADLETTER),
    ARTICLES_ENRICHED: _topic(ARTICLES_ENRICHED),
    ARTICLES_CLAIMS: _topic(ARTICLES_CLAIMS),
    ARTICLES_BYHASH: articles_byhash,
    CLAIMS_BYSYMBOL: claims_bysymbol,
}

# Per-symbol quote state (serialized SymbolState), keyed like quotes.raw so that each
# symbol's state lives in the partition its quotes arrive on; changelog-backed.
quote_state = app.Table(
    "quote-state",
    default=None,
    key_type=bytes,  # bytes in, bytes out: faust picks the raw codec from the type
    value_type=bytes,
    partitions=settings.partitions,
)


def _bytes_table(name: str, help_text: str) -> Any:
    return app.Table(
        name,
        default=None,
        key_type=bytes,  # bytes in, bytes out: faust picks the raw codec from the type
        value_type=bytes,
        partitions=settings.partitions,
        help=help_text,
    )


# Final signal of each symbol's trading days ("symbol|YYYY-MM-DD"), written by the quote
# agent and read by the claim checker in the same partition (claims are keyed by symbol).
quote_days = _bytes_table("quote-days", "final daily signals, for claim checks")
# First article id per content hash (articles.byhash is keyed by the hash).
article_hashes = _bytes_table("article-hashes", "first article id per content hash")

registry = Registry.load(settings.instruments_path)
engine = QuoteEngine(
    rules=RuleBook.load(settings.rules_path),
    registry=registry,
)
pipeline = QuotePipeline(engine, clock=utc_now_ms)
article_pipeline = ArticlePipeline(ArticleEnricher(registry), clock=utc_now_ms)


@app.agent(quotes_raw)
async def process_quotes(stream: faust.StreamT[bytes]) -> None:
    """``quotes.raw`` -> ``quotes.signals`` + ``alerts`` (+ ``deadletter``)."""
    source_topic = settings.topic(QUOTES_RAW)
    timer = metrics.PROCESSING_SECONDS.labels(source_topic)
    lag = metrics.PROCESSING_LAG.labels(source_topic)
    async for event in stream.events():
        started = time.perf_counter()
        source = _source(source_topic, event)
        async with whole_event(event, exactly_once):
            result = pipeline.process(event.key, event.value, source, quote_state, quote_days)
            await _publish(result, source)
        for alert in result.alerts:
            metrics.ALERTS.labels(alert["rule"], alert["direction"]).inc()
            log.info(
                "alert %s %s %s %s",
                alert["id"][:12],
                alert["symbol"],
                alert["trading_day"],
                summary(alert),
            )
        if result.event_ms is not None:
            lag.observe(max(0.0, utc_now_ms() - result.event_ms) / 1000)
        _consumer_lag(event)
        timer.observe(time.perf_counter() - started)


async def _publish(result: Result, source: SourceRecord) -> None:
    """Count the outcome and send the records (the one place agents send from)."""
    if exactly_once:
        await drain_changelog(app)  # first, before anything else awaits
    if result.status == "duplicate":
        metrics.DUPLICATES.labels(source.topic).inc()
    elif result.status == "deadletter":
        metrics.DEADLETTERS.labels(result.reason).inc()
        log.warning(
            "dead letter %s at %s[%s]@%s",
            result.reason,
            source.topic,
            source.partition,
            source.offset,
        )
    for record in result.records:
        await topics[record.topic].send(key=record.key, value=record.value)
        metrics.RECORDS_OUT.labels(settings.topic(record.topic)).inc()


def _consumer_lag(event: Any) -> None:
    """Records between this one and the partition's high watermark."""
    message = event.message
    try:
        highwater = app.consumer.highwater(message.tp)
    except Exception:  # not assigned any more (rebalance), or a test channel
        return
    if highwater is not None:
        behind = max(0, highwater - message.offset - 1)
        metrics.CONSUMER_LAG.labels(message.topic, str(message.partition)).set(behind)


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
        async with whole_event(event, exactly_once):
            await _publish(article_pipeline.route(event.key, event.value, source), source)


@app.agent(articles_byhash)
async def enrich_articles(stream: faust.StreamT[bytes]) -> None:
    """``articles.byhash`` -> ``articles.enriched`` + claims (by symbol, or unknown at once)."""
    async for event in stream.events():
        source = _source(settings.topic(ARTICLES_BYHASH), event)
        async with whole_event(event, exactly_once):
            result = article_pipeline.enrich(event.key, event.value, source, article_hashes)
            await _publish(result, source)


@app.agent(claims_bysymbol)
async def check_claims(stream: faust.StreamT[bytes]) -> None:
    """``claims.bysymbol`` -> ``articles.claims``, against the symbol's day records."""
    async for event in stream.events():
        source = _source(settings.topic(CLAIMS_BYSYMBOL), event)
        async with whole_event(event, exactly_once):
            await _publish(
                article_pipeline.check(event.key, event.value, source, quote_days), source
            )


board = AlertBoard()


@app.task
async def watch_alerts() -> None:
    """Feed the dashboard: read ``alerts`` from the start, as any downstream consumer would
    (no consumer group: every worker sees every alert)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        settings.topic(ALERTS),
        bootstrap_servers=settings.bootstrap_list,
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
    raw = quote_state.get(symbol.encode())
    last_day = SymbolState.from_bytes(raw, engine).last_final_day if raw else None
    points = series(symbol, last_day, lambda key: quote_days.get(key.encode()), days)
    return web.json({"symbol": symbol, "points": points})


@app.page("/metrics")
async def metrics_page(web: Any, request: Any) -> Any:
    """Prometheus text format: windvane_* and faust_windvane_*."""
    return web.bytes(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST.split(";")[0])


@app.page("/healthz")
async def healthz(web: Any, request: Any) -> Any:
    """The process is alive and its event loop answers."""
    return web.json({"status": "ok"})


@app.page("/readyz")
async def readyz(web: Any, request: Any) -> Any:
    """Ready once the worker has partitions assigned and table recovery is done."""
    assigned = len(app.consumer.assignment()) if app.consumer else 0
    recovery = getattr(app.tables, "recovery", None)
    recovering = recovery is None or not recovery.completed.is_set()
    ready = assigned > 0 and not recovering and not app.rebalancing and _declared
    body = {
        "ready": ready,
        "assigned_partitions": assigned,
        "recovering": recovering,
        "topics_declared": _declared,
    }
    return web.json(body, status=200 if ready else 503)
