"""``windvane deliver``: reads ``alerts`` in its own consumer group and delivers each alert to
the sinks whose route matches, with retries; what fails for good goes to
``alerts.undeliverable``. Offsets are committed after a batch is delivered (at-least-once;
receivers dedupe on the alert id, sent as ``Idempotency-Key``)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams import codec, metrics
from streams.config import ALERTS, ALERTS_UNDELIVERABLE, Settings
from streams.delivery.config import Sink
from streams.delivery.payloads import (
    SIGNATURE_HEADER,
    alertmanager_alert,
    backoff_delays,
    sign,
    slack_message,
)
from streams.domain.timeutil import iso_utc, utc_now_ms

log = logging.getLogger("windvane.delivery")


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


class AlertDelivery:
    def __init__(
        self,
        settings: Settings,
        sinks: list[Sink],
        dashboard_url: str,
        group_id: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sinks = sinks
        self.dashboard_url = dashboard_url
        self.group_id = group_id or f"{settings.app_id}-delivery"
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None

    # -- one alert ----------------------------------------------------------------------
    async def deliver(self, alert: dict[str, Any]) -> list[Outcome]:
        targets = [s for s in self.sinks if s.route.matches(alert)]
        return list(await asyncio.gather(*(self._deliver_one(s, alert) for s in targets)))

    async def _deliver_one(self, sink: Sink, alert: dict[str, Any]) -> Outcome:
        delays = backoff_delays(sink.backoff_initial, sink.backoff_max, sink.max_attempts, self.rng)
        error = "not tried"
        for attempt in range(1, sink.max_attempts + 1):
            try:
                await self._send(sink, alert)
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

    async def _send(self, sink: Sink, alert: dict[str, Any]) -> None:
        session = self._session
        assert session is not None, "start() first"
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

    # -- the service ----------------------------------------------------------------------
    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def run(self, stop: asyncio.Event, from_beginning: bool = True) -> None:
        consumer = AIOKafkaConsumer(
            self.settings.topic(ALERTS),
            **self.settings.client_kwargs(),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            isolation_level="read_committed",
        )
        producer = AIOKafkaProducer(
            **self.settings.client_kwargs(), acks="all", enable_idempotence=True
        )
        await self.start()
        await consumer.start()
        await producer.start()
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        await self._handle(record.value, producer)
                if batch:
                    await consumer.commit()
        finally:
            await consumer.stop()
            await producer.stop()
            await self.close()

    async def _handle(self, value: bytes | None, producer: AIOKafkaProducer) -> None:
        try:
            alert = codec.loads(value or b"")
        except codec.DecodeError:
            log.error("skipping an alerts record that is not JSON")
            return
        for outcome in await self.deliver(alert):
            if outcome.delivered:
                continue
            record = {
                "alert": alert,
                "sink": outcome.sink,
                "attempts": outcome.attempts,
                "error": outcome.error,
                "failed_at": iso_utc(utc_now_ms()),
            }
            await producer.send_and_wait(
                self.settings.topic(ALERTS_UNDELIVERABLE),
                key=alert["id"].encode(),
                value=codec.dumps(record),
            )
