"""The Faust app: created here and nowhere else. Agents are thin: decode -> domain -> send."""

from __future__ import annotations

import logging
import time
from typing import Any

import faust
from faust.sensors.prometheus import setup_prometheus_sensors

from streams import metrics
from streams.config import (
    ALERTS,
    DEADLETTER,
    QUOTES_RAW,
    QUOTES_SIGNALS,
    TOPICS,
    Settings,
)
from streams.domain.instruments import Registry
from streams.domain.quotes import QuoteEngine
from streams.domain.rules import RuleBook
from streams.domain.timeutil import utc_now_ms
from streams.kafka_io import ensure_topics
from streams.pipeline import QuotePipeline, SourceRecord

log = logging.getLogger("windvane")

settings = Settings.from_env()
(settings.data_dir / settings.app_id).mkdir(parents=True, exist_ok=True)

_declared = False


class WindvaneApp(faust.App):
    """Creates every topic of ours before the consumer subscribes, so a worker that starts
    before any producer still consumes ``quotes.raw`` (Faust ignores topics missing at
    assignment until the next rebalance)."""

    async def on_first_start(self) -> None:
        global _declared
        await super().on_first_start()
        await ensure_topics(settings, TOPICS)
        _declared = True


app = WindvaneApp(
    settings.app_id,
    broker=settings.faust_broker,
    store=settings.store,
    datadir=str(settings.data_dir / settings.app_id),  # stores are per app id
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
    broker_commit_interval=1.0,
)
setup_prometheus_sensors(app, name_prefix="faust_windvane")


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
topics = {
    QUOTES_SIGNALS: _topic(QUOTES_SIGNALS),
    ALERTS: _topic(ALERTS),
    DEADLETTER: _topic(DEADLETTER),
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

engine = QuoteEngine(
    rules=RuleBook.load(settings.rules_path),
    registry=Registry.load(settings.instruments_path),
)
pipeline = QuotePipeline(engine, clock=utc_now_ms)


@app.agent(quotes_raw)
async def process_quotes(stream: faust.StreamT[bytes]) -> None:
    """``quotes.raw`` -> ``quotes.signals`` + ``alerts`` (+ ``deadletter``)."""
    source_topic = settings.topic(QUOTES_RAW)
    in_counter = metrics.RECORDS_IN.labels(source_topic)
    timer = metrics.PROCESSING_SECONDS.labels(source_topic)
    async for event in stream.events():
        started = time.perf_counter()
        message = event.message
        in_counter.inc()
        stamp = int(message.timestamp * 1000) if message.timestamp else None
        source = SourceRecord(source_topic, message.partition, message.offset, stamp)
        result = pipeline.process(event.key, event.value, source, quote_state)
        if result.status == "duplicate":
            metrics.DUPLICATES.labels(source_topic).inc()
        elif result.status == "deadletter":
            metrics.DEADLETTERS.labels(result.reason).inc()
            log.warning(
                "dead letter %s at %s[%s]@%s",
                result.reason,
                source_topic,
                message.partition,
                message.offset,
            )
        for alert in result.alerts:
            metrics.ALERTS.labels(alert["rule"], alert["direction"]).inc()
        for record in result.records:
            await topics[record.topic].send(key=record.key, value=record.value)
            metrics.RECORDS_OUT.labels(settings.topic(record.topic)).inc()
        timer.observe(time.perf_counter() - started)


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
