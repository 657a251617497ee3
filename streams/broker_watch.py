"""Is Kafka reachable? The worker's own view of its brokers, for the log, ``/readyz`` and
``windvane_broker_up`` (:mod:`streams.metrics`).

A probe is a fresh client's bootstrap (a metadata request, answered or not within
``timeout`` seconds): a refused connection and a broker that accepts connections but does not
answer (stopped, partitioned) both count as unreachable. At start the worker waits for a
reachable broker instead of exiting, answering ``/readyz`` with 503 meanwhile (the waiting
page below: Faust's web server starts only after the topics are declared); once running, a
task probes every ``interval`` seconds. The clients themselves keep retrying on their own:
this only reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from streams import codec
from streams.config import Settings

log = logging.getLogger("windvane")


class BrokerWatch:
    def __init__(self, settings: Settings, interval: float = 2.0, timeout: float = 5.0) -> None:
        self.settings = settings
        self.interval = interval
        self.timeout = timeout
        self.reachable = False  # until a probe answered
        self.error = "not probed yet"
        self._since = time.monotonic()
        self._probes = 0

    @property
    def servers(self) -> str:
        return ",".join(self.settings.bootstrap_list)

    async def probe(self) -> bool:
        """One probe; updates :attr:`reachable`, the gauge and the log (on a change)."""
        admin = AIOKafkaAdminClient(
            **self.settings.client_kwargs(), request_timeout_ms=int(self.timeout * 1000)
        )
        try:
            await asyncio.wait_for(admin.start(), self.timeout)
            ok, error = True, ""
        except TimeoutError:
            ok, error = False, f"no answer in {self.timeout:.0f}s"
        except (KafkaError, OSError) as exc:
            ok, error = False, str(exc) or type(exc).__name__
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        self._record(ok, error)
        return ok

    def _record(self, ok: bool, error: str) -> None:
        first = self._probes == 0
        self._probes += 1
        if ok != self.reachable or first:
            took = time.monotonic() - self._since
            self._since = time.monotonic()
            if ok and not first:
                log.warning("Kafka reachable again at %s after %.0fs", self.servers, took)
            elif not ok:
                log.warning(
                    "Kafka unreachable at %s (%s): /readyz answers 503 until it answers",
                    self.servers,
                    error,
                )
        self.reachable, self.error = ok, error

    async def wait(self) -> None:
        """Probe until a broker answers (the worker's start), backing off to 10 s."""
        pause = self.interval
        while not await self.probe():
            await asyncio.sleep(pause)
            pause = min(10.0, pause * 2)

    async def run(self) -> None:
        """Probe forever (a worker task)."""
        while True:
            await asyncio.sleep(self.interval)
            await self.probe()


@contextlib.asynccontextmanager
async def waiting_page(
    host: str, port: int, readiness: Callable[[], dict[str, Any]]
) -> AsyncIterator[None]:
    """``/healthz`` (200), ``/readyz`` (503, with ``readiness()``) and ``/metrics`` on the
    worker's web port while it cannot start its own web server yet (no broker)."""

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(body=codec.dumps({"status": "ok"}), content_type="application/json")

    async def readyz(request: web.Request) -> web.Response:
        body = codec.dumps(readiness())
        return web.Response(body=body, status=503, content_type="application/json")

    async def metrics_page(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST.split(";")[0]
        )

    server = web.Application()
    server.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics_page),
        ]
    )
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:  # the port is taken: no page, the wait goes on
        log.warning("waiting page on %s:%s: %s", host, port, exc)
    try:
        yield
    finally:
        await runner.cleanup()
