"""windvane's own Prometheus metrics (``windvane_*``), beside Faust's sensor metrics."""

from __future__ import annotations

import bisect
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.domain.reasons import known

RECORDS_IN = Counter("windvane_records_in_total", "Records consumed, by topic", ["topic"])
RECORDS_OUT = Counter("windvane_records_out_total", "Records produced, by topic", ["topic"])
DEADLETTERS = Counter(
    "windvane_deadletters_total",
    "Records dead-lettered, by reason and by topic: the source topic the bad record came from",
    ["reason", "topic"],
)
DUPLICATES = Counter("windvane_duplicates_total", "Exact duplicate records ignored", ["topic"])
ALERTS = Counter(
    "windvane_alerts_total", "Alerts emitted, by rule and direction", ["rule", "direction"]
)
PROCESSING_SECONDS = Histogram(
    "windvane_processing_seconds",
    "Time to process one input record (decode, domain, encode)",
    ["topic"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0),
)
DELIVERIES = Counter(
    "windvane_deliveries_total", "Alert deliveries, by sink and outcome", ["sink", "outcome"]
)
PROCESSING_LAG = Histogram(
    "windvane_processing_lag_seconds",
    "From an output's event time to its emission (replays of history show their age)",
    ["topic"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400, 86400 * 30, 86400 * 365),
)
TASKS_FENCED = Counter(
    "windvane_tasks_fenced_total",
    "Quote tasks dropped because a newer owner fenced their producer (this worker was a zombie)",
)
RESTORE_SECONDS = Histogram(
    "windvane_restore_seconds",
    "Time to restore tasks' state from their changelogs (once per assignment)",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
CONSUMER_LAG = Gauge(
    "windvane_consumer_lag_records",
    "Records behind the partition's high watermark, after the record just processed",
    ["topic", "partition"],
)


# Faust's own sensor metrics live in a registry of their own and reach /metrics through this
# filter: one of them names its unit "ms", which Prometheus' lint (promtool) rejects, and
# windvane_processing_seconds measures the same thing in base units.
FAUST_REGISTRY = CollectorRegistry(auto_describe=True)
_FAUST_DROPPED = ("_events_runtime_ms",)


class FaustMetricsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for family in FAUST_REGISTRY.collect():
            if not family.name.endswith(_FAUST_DROPPED):
                yield family


REGISTRY.register(FaustMetricsCollector())


_READY_HELP = "1 while the worker's /readyz answers 200 (assigned, recovered, declared), else 0"


class ReadinessCollector(Collector):
    """``windvane_ready`` for alerting on /readyz; only in a worker (where streams.app is
    loaded), not in ``windvane deliver`` or the command line."""

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("windvane_ready", _READY_HELP)

    def collect(self) -> Iterator[Metric]:
        worker = sys.modules.get("streams.app")
        if worker is None or not hasattr(worker, "readiness"):
            return
        try:
            ready = bool(worker.readiness()["ready"])
        except Exception:  # a half-started app is not ready; /metrics must still answer
            ready = False
        yield GaugeMetricFamily("windvane_ready", _READY_HELP, value=float(ready))


REGISTRY.register(ReadinessCollector())

_BROKER_HELP = "1 while the worker's probe of its Kafka bootstrap servers is answered, else 0"


class BrokerCollector(Collector):
    """``windvane_broker_up`` from the worker's :class:`streams.broker_watch.BrokerWatch`;
    only in a worker, like ``windvane_ready``."""

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("windvane_broker_up", _BROKER_HELP)

    def collect(self) -> Iterator[Metric]:
        worker = sys.modules.get("streams.app")
        watch = getattr(worker, "broker", None)
        if watch is None:
            return
        yield GaugeMetricFamily("windvane_broker_up", _BROKER_HELP, value=float(watch.reachable))


REGISTRY.register(BrokerCollector())


def observe_many(histogram: Any, value: float, count: int) -> None:
    """``count`` observations of ``value`` on a histogram child in one step: the exposition of
    ``count`` calls of ``observe(value)`` (tested) without their cost. A task observes a
    batch's records once per batch, not once per record."""
    if count > 0:
        histogram._sum.inc(value * count)
        histogram._buckets[bisect.bisect_left(histogram._upper_bounds, value)].inc(count)


def observe_all(histogram: Any, values: Iterable[float]) -> None:
    """One observation of each of ``values`` in one step (the exposition of one ``observe``
    call each, tested). Uses the child's buckets and sum as ``Histogram.observe`` does: the
    bucket of a value is the first whose upper bound is >= it."""
    bounds: list[float] = histogram._upper_bounds
    counts = [0] * len(bounds)
    total = 0.0
    for value in values:
        counts[bisect.bisect_left(bounds, value)] += 1
        total += value
    histogram._sum.inc(total)
    for bucket, n in zip(histogram._buckets, counts, strict=True):
        if n:
            bucket.inc(n)


def preset_deadletters(reasons_by_topic: Mapping[str, Iterable[str]]) -> None:
    """Every (reason, source topic) series of ``windvane_deadletters_total`` at 0, before
    any input: a rate or an increase sees the first dead letter, and the absence of a
    series means the worker never started, not "no dead letters yet"."""
    for topic, reasons in reasons_by_topic.items():
        for reason in reasons:
            DEADLETTERS.labels(known(reason), topic)


def dead_lettered(
    reason: str | None, topic: str, partition: int | None, offset: int | None
) -> None:
    """Count a dead-lettered input and log where it came from (every runtime calls this).
    ``topic`` is the source topic; a reason outside the known set counts as
    ``internal_error`` (the label set stays bounded)."""
    DEADLETTERS.labels(known(reason), topic).inc()
    logging.getLogger("windvane").warning(
        "dead letter %s at %s[%s]@%s", reason, topic, partition, offset
    )
