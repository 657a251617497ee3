"""Real outside peers for delivery tests: Prometheus Alertmanager (Debian package) and a
local HTTP receiver that checks signatures and fails on purpose."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from streams.delivery.payloads import SIGNATURE_HEADER, verify
from streams.tools.kafka_local import free_port


def require(binary: str, package: str) -> str:
    found = shutil.which(binary)
    if found is None:
        raise AssertionError(
            f"{binary} is missing: `make test` installs it (apt-get install {package})"
        )
    return found


class Alertmanager:
    """``prometheus-alertmanager`` on a loopback port, its own storage, no clustering."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Alertmanager:
        binary = require("prometheus-alertmanager", "prometheus-alertmanager")
        config = self.root / "alertmanager.yml"
        config.write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
        (self.root / "am-data").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.path={self.root / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=(self.root / "alertmanager.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(
            f"alertmanager not ready:\n{(self.root / 'alertmanager.log').read_text()}"
        )

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts?active=true", timeout=5) as resp:
            return list(json.loads(resp.read()))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@dataclass
class Receiver:
    """An HTTP receiver: ``/flaky`` fails each alert's first ``fail_first`` tries with 503,
    ``/broken`` always answers 500, ``/slack`` records Slack payloads. Bad signatures: 401."""

    secret: str
    fail_first: int = 2
    port: int = field(default_factory=free_port)
    tries: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    accepted: list[dict[str, Any]] = field(default_factory=list)
    slack: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _flaky(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, body, request.headers.get(SIGNATURE_HEADER, "")):
            self.bad_signatures += 1
            return web.Response(status=401)
        key = request.headers["Idempotency-Key"]
        self.tries[key] += 1
        if self.tries[key] <= self.fail_first:
            return web.Response(status=503, text="try again")
        self.accepted.append(json.loads(body))
        return web.Response(status=200)

    async def _broken(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=500, text="down for good")

    async def _slack(self, request: web.Request) -> web.Response:
        self.slack.append(json.loads(await request.read()))
        return web.Response(status=200, text="ok")

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/flaky", self._flaky)
        app.router.add_post("/broken", self._broken)
        app.router.add_post("/slack", self._slack)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def wait_until(predicate: Any, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
