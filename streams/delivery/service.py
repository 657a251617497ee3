"""``windvane deliver``: reads ``alerts`` in its own consumer group and delivers each alert to
the sinks whose route matches. Each sink has its own queue and up to ``max_in_flight``
deliveries in flight, so a sink that is down holds no other sink. What fails for good goes to
``alerts.undeliverable``. A partition's offset is committed only up to the records that every
sink has finished (delivered or recorded as undeliverable): at-least-once, receivers dedupe on
the alert id, sent as ``Idempotency-Key``."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from streams import codec, metrics
from streams.cloudevents import CloudEvents, undeliverable_event
from streams.config import ALERTS, ALERTS_UNDELIVERABLE, Settings
from streams.delivery.config import Sink
from streams.delivery.payloads import (
    SIGNATURE_HEADER,
    alertmanager_alert,
    backoff_delays,
    sign,
    slack_message,
)
from streams.delivery.watermark import OffsetWatermark
from streams.domain.timeutil import iso_utc, utc_now_ms

log = logging.getLogger("windvane.delivery")

# fields routing and the Idempotency-Key need; a record without them is not an alert
ALERT_KEYS = ("id", "rule", "symbol", "severity")


class DeliveryError(Exception):
    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Outcome:
    sink: str
    delivered: bool
    attempts: int
    error: str | None = None


@dataclass(frozen=True, eq=False)
class _Job:
    """One alert for one sink, and the partition watermark to tell when it is finished."""

    alert: dict[str, Any]
    offset: int
    watermark: OffsetWatermark


def as_alert(value: bytes | None) -> dict[str, Any] | None:
    """The alert in an ``alerts`` record, or ``None`` when the record is not one."""
    try:
        alert = codec.loads(value or b"")
    except codec.DecodeError:
        return None
    if not isinstance(alert, dict) or not all(isinstance(alert.get(k), str) for k in ALERT_KEYS):
        return None
    return alert


def undeliverable_record(alert: dict[str, Any], outcome: Outcome, now_ms: int) -> dict[str, Any]:
    """The value written to ``alerts.undeliverable`` (schemas/undeliverable.json) for an alert
    that ``outcome``'s sink did not take."""
    return {
        "alert": alert,
        "sink": outcome.sink,
        "attempts": outcome.attempts,
        "error": outcome.error,
        "failed_at": iso_utc(now_ms),
    }


class AlertDelivery:
    def __init__(
        self,
        settings: Settings,
        sinks: list[Sink],
        dashboard_url: str,
        group_id: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        max_uncommitted: int = 10_000,
    ) -> None:
        self.settings = settings
        self.cloudevents = CloudEvents(settings.app_id)
        self.sinks = sinks
        self.dashboard_url = dashboard_url
        self.group_id = group_id or f"{settings.app_id}-delivery"
        self.sleep = sleep
        self.rng = rng or random.Random()
        # records read but not yet finished by every sink; beyond this, reading pauses
        self.max_uncommitted = max_uncommitted
        self._session: aiohttp.ClientSession | None = None
        self._queues: dict[str, asyncio.Queue[_Job]] = {s.name: asyncio.Queue() for s in sinks}
        self._watermarks: dict[TopicPartition, OffsetWatermark] = {}
        self._committed: dict[TopicPartition, int] = {}

    def targets(self, alert: dict[str, Any]) -> list[Sink]:
        return [s for s in self.sinks if s.route.matches(alert)]

    # -- one alert to one sink ------------------------------------------------------------
    async def _deliver_one(self, sink: Sink, alert: dict[str, Any]) -> Outcome:
        try:
            url, body, headers = self._request(sink, alert)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            metrics.DELIVERIES.labels(sink.name, "undeliverable").inc()
            log.error("alert %s has no %s payload: %r", alert["id"], sink.type, exc)
            return Outcome(sink.name, False, 0, f"cannot build the payload: {exc!r}")
        delays = backoff_delays(sink.backoff_initial, sink.backoff_max, sink.max_attempts, self.rng)
        error = "not tried"
        for attempt in range(1, sink.max_attempts + 1):
            try:
                await self._post(sink, url, body, headers)
                metrics.DELIVERIES.labels(sink.name, "delivered").inc()
                log.info("delivered alert %s to %s (attempt %d)", alert["id"], sink.name, attempt)
                return Outcome(sink.name, True, attempt)
            except DeliveryError as exc:
                error = str(exc)
                if not exc.retryable or attempt == sink.max_attempts:
                    break
                metrics.DELIVERIES.labels(sink.name, "retried").inc()
                log.warning(
                    "alert %s to %s failed (%s); retry %d", alert["id"], sink.name, error, attempt
                )
                await self.sleep(delays[attempt - 1])
        metrics.DELIVERIES.labels(sink.name, "undeliverable").inc()
        log.error(
            "alert %s undeliverable to %s after %d tries: %s",
            alert["id"],
            sink.name,
            attempt,
            error,
        )
        return Outcome(sink.name, False, attempt, error)

    def _request(self, sink: Sink, alert: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
        if sink.type == "alertmanager":
            url = f"{sink.url}/api/v2/alerts"
            body = codec.dumps([alertmanager_alert(alert, self.dashboard_url, sink.resolve_after)])
        else:
            url = sink.url
            body = codec.dumps(
                slack_message(alert, self.dashboard_url) if sink.format == "slack" else alert
            )
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": alert["id"],
            "User-Agent": "windvane",
        }
        if sink.secret:
            headers[SIGNATURE_HEADER] = sign(sink.secret, body)
        return url, body, headers

    async def _post(self, sink: Sink, url: str, body: bytes, headers: dict[str, str]) -> None:
        session = self._session
        assert session is not None, "start() first"
        try:
            async with session.post(
                url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=sink.timeout)
            ) as resp:
                if 200 <= resp.status < 300:
                    return
                text = (await resp.text())[:200]
                retryable = resp.status >= 500 or resp.status in (408, 425, 429)
                raise DeliveryError(f"HTTP {resp.status}: {text}", retryable)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", True) from exc

    # -- one sink: its queue and its workers ----------------------------------------------
    async def _work(self, sink: Sink, producer: AIOKafkaProducer) -> None:
        """One of the sink's ``max_in_flight`` workers: the next alert of its queue, with
        retries, then the next. A sink with one worker delivers in the order read."""
        queue = self._queues[sink.name]
        while True:
            job = await queue.get()
            if job.watermark.revoked:  # another consumer owns the partition now
                continue
            outcome = await self._deliver_one(sink, job.alert)
            if not outcome.delivered:
                await self._undeliverable(producer, job.alert, outcome)
            job.watermark.finish(job.offset)

    async def _undeliverable(
        self, producer: AIOKafkaProducer, alert: dict[str, Any], outcome: Outcome
    ) -> None:
        record = undeliverable_record(alert, outcome, utc_now_ms())
        event = undeliverable_event(alert["id"], outcome.sink, record["failed_at"])
        await producer.send_and_wait(
            self.settings.topic(ALERTS_UNDELIVERABLE),
            key=alert["id"].encode(),
            value=codec.dumps(record),
            headers=self.cloudevents.headers(ALERTS_UNDELIVERABLE, event),
        )

    # -- reading alerts and committing what every sink has finished ----------------------
    def _dispatch(self, tp: TopicPartition, offset: int, value: bytes | None) -> None:
        watermark = self._watermarks.get(tp)
        if watermark is None:
            watermark = self._watermarks[tp] = OffsetWatermark()
        alert = as_alert(value)
        if alert is None:
            log.error("skipping %s offset %d: not an alert", tp, offset)
            watermark.add(offset, 0)
            return
        targets = self.targets(alert)
        watermark.add(offset, len(targets))
        for sink in targets:
            self._queues[sink.name].put_nowait(_Job(alert, offset, watermark))

    def uncommitted(self) -> int:
        return sum(len(w) for w in self._watermarks.values())

    async def _commit(
        self, consumer: AIOKafkaConsumer, only: Iterable[TopicPartition] | None = None
    ) -> None:
        partitions = self._watermarks if only is None else only
        offsets: dict[TopicPartition, int] = {}
        for tp in partitions:
            watermark = self._watermarks.get(tp)
            if watermark is None or watermark.committable is None:
                continue
            if watermark.committable != self._committed.get(tp):
                offsets[tp] = watermark.committable
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance under way: the next commit tries again
            log.warning("commit of %s failed: %r", offsets, exc)
            return
        self._committed.update(offsets)

    def _revoke(self, revoked: Iterable[TopicPartition]) -> None:
        for tp in revoked:
            watermark = self._watermarks.pop(tp, None)
            if watermark is not None:
                watermark.revoked = True
            self._committed.pop(tp, None)

    def _room(self, consumer: AIOKafkaConsumer) -> int:
        """How many more records may be read; at none, every partition is paused (``getmany``
        keeps the consumer in its group and returns nothing until they are resumed)."""
        room = self.max_uncommitted - self.uncommitted()
        if room <= 0:
            consumer.pause(*consumer.assignment())
        elif consumer.paused():
            consumer.resume(*consumer.paused())
        return max(1, room)

    # -- the service ----------------------------------------------------------------------
    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def run(self, stop: asyncio.Event, from_beginning: bool = True) -> None:
        session_ms = int(self.settings.session_timeout * 1000)
        consumer = AIOKafkaConsumer(
            **self.settings.client_kwargs(),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            isolation_level="read_committed",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(100, session_ms // 3),
        )
        consumer.subscribe([self.settings.topic(ALERTS)], listener=_Rebalance(self, consumer))
        producer = AIOKafkaProducer(
            **self.settings.client_kwargs(), acks="all", enable_idempotence=True
        )
        await self.start()
        await consumer.start()
        await producer.start()
        workers = [
            asyncio.create_task(self._work(sink, producer), name=f"deliver-{sink.name}-{i}")
            for sink in self.sinks
            for i in range(sink.max_in_flight)
        ]
        try:
            while not stop.is_set():
                for task in workers:
                    if task.done():
                        task.result()  # a worker that failed (Kafka down) stops the service
                room = self._room(consumer)
                batch = await consumer.getmany(timeout_ms=500, max_records=room)
                for tp, records in batch.items():
                    for record in records:
                        self._dispatch(tp, record.offset, record.value)
                await self._commit(consumer)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await self._commit(consumer)
            await consumer.stop()
            await producer.stop()
            await self.close()


class _Rebalance(ConsumerRebalanceListener):
    """Before partitions move: commit what is finished on them, and drop what is queued (the
    new owner reads it again from the committed offset)."""

    def __init__(self, service: AlertDelivery, consumer: AIOKafkaConsumer) -> None:
        self.service = service
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.service._commit(self.consumer, only=revoked)
        self.service._revoke(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None
