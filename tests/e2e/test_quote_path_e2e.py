"""End to end: a worker process, ``windvane replay`` of the real HSTECH history, and kcat
(librdkafka, an outside client) reading ``alerts``. The alerts must be exactly the
60-day-line crossings that pandas computes over the whole file."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from tests.kafka_harness import Namespace, Worker
from tests.reference import closes, ma_crossings, shared_path

pytestmark = pytest.mark.e2e


def kcat_read(ns: Namespace, topic: str) -> list[dict]:
    kcat = shutil.which("kcat")
    if kcat is None:
        pytest.fail("kcat is not installed: `make test` installs it (apt-get install kcat)")
    proc = subprocess.run(
        [
            kcat,
            "-C",
            "-b",
            ns.bootstrap,
            "-t",
            ns.topic(topic),
            "-o",
            "beginning",
            "-e",
            "-J",
            "-q",
            "-X",
            "isolation.level=read_committed",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_hstech_replay_alerts_seen_by_kcat_equal_pandas_crossings(ns: Namespace) -> None:
    csv = shared_path("quotes", "HSTECH.csv")
    frame = closes(csv)
    worker = Worker(ns, ns.root / "worker").start()
    try:
        ns.windvane("replay", "quotes", str(csv), "--symbol", "HSTECH")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(kcat_read(ns, "quotes.signals")) >= len(frame):
                break
            time.sleep(1)
        envelopes = kcat_read(ns, "alerts")
    finally:
        worker.stop()
    assert all(e["key"] == "HSTECH" for e in envelopes)
    alerts = [json.loads(e["payload"]) for e in envelopes]
    alerts.sort(key=lambda a: a["trading_day"])  # one symbol: one partition, but be explicit
    assert [(a["trading_day"], a["direction"]) for a in alerts] == ma_crossings(frame, 60)
    oct17 = next(a for a in alerts if a["trading_day"] == "2025-10-17")
    assert oct17["direction"] == "below" and oct17["rule"] == "ma_cross"
    assert oct17["price"] == pytest.approx(5760.38, abs=0.005)
    assert oct17["sma"] == pytest.approx(5877.94, abs=0.005)
    assert oct17["params"] == {"window": 60, "hysteresis": 0.0, "trigger": "close"}
