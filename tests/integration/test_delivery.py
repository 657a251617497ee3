"""Alert delivery through real peers: ``windvane deliver`` as a process reads ``alerts`` from
the real broker and delivers to a real Alertmanager (listed back through its own API), to a
signed webhook that fails the first tries on purpose, to a Slack-format webhook, and to a
webhook that is down for good (-> ``alerts.undeliverable``)."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import orjson
import pytest

from streams.cli import offline_quote_lines
from streams.kafka_local import free_port
from tests.kafka_harness import VENV_BIN, Namespace, consume_until, produce
from tests.peers import Alertmanager, Receiver, wait_until
from tests.reference import shared_path

pytestmark = pytest.mark.integration
SECRET = "s3cr3t-for-tests"


def hstech_alerts(since: str, until: str) -> list[dict]:
    lines = offline_quote_lines(shared_path("quotes", "HSTECH.csv"), "HSTECH", None)
    return [
        x["value"]
        for x in lines
        if x["topic"] == "alerts" and since <= x["value"]["trading_day"] <= until
    ]


async def test_deliver_to_alertmanager_and_webhooks(ns: Namespace, tmp_path: Path) -> None:
    alerts = hstech_alerts("2025-10-01", "2025-11-30")
    assert [a["trading_day"] for a in alerts] == ["2025-10-17", "2025-10-20", "2025-10-31"]
    am = Alertmanager(tmp_path).start()
    receiver = await Receiver(SECRET).start()
    config = tmp_path / "delivery.toml"
    config.write_text(
        f"""
[[sinks]]
name = "alertmanager"
type = "alertmanager"
url = "{am.url}"

[[sinks]]
name = "signed"
type = "webhook"
url = "{receiver.url("/flaky")}"
secret_env = "TEST_WEBHOOK_SECRET"
max_attempts = 4
backoff_initial = 0.05
backoff_max = 0.2

[[sinks]]
name = "slack"
type = "webhook"
format = "slack"
url = "{receiver.url("/slack")}"
[sinks.match]
symbols = ["HST*"]
min_severity = "warning"

[[sinks]]
name = "broken"
type = "webhook"
url = "{receiver.url("/broken")}"
max_attempts = 3
backoff_initial = 0.01
backoff_max = 0.05
[sinks.match]
rules = ["ma_cross"]
"""
    )
    metrics_port = free_port()
    env = ns.env(TEST_WEBHOOK_SECRET=SECRET, WINDVANE_DASHBOARD_URL="http://127.0.0.1:6066")
    await produce(
        ns.bootstrap, ns.topic("alerts"), [(a["symbol"].encode(), orjson.dumps(a)) for a in alerts]
    )
    proc = subprocess.Popen(
        [str(VENV_BIN / "windvane"), "deliver", "--config", str(config), "--metrics-port", str(metrics_port)],
        env=env, stdout=(tmp_path / "deliver.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        await wait_until(
            lambda: len(receiver.accepted) == 3 and len(receiver.slack) == 3, 90, "webhooks"
        )
        undeliverable = await consume_until(ns.bootstrap, ns.topic("alerts.undeliverable"), 3)
        await wait_until(lambda: len(am.alerts()) == 3, 30, "alertmanager")
        listed = am.alerts()
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(30)
        await receiver.stop()
        am.stop()
    log = (tmp_path / "deliver.log").read_text()
    assert proc.returncode == 0, log
    assert SECRET not in log

    # Alertmanager: its own API lists every alert, with our labels and the summary line
    by_day = {a["labels"]["trading_day"]: a for a in listed}
    oct17 = by_day["2025-10-17"]
    assert oct17["labels"] | {} == {
        "alertname": "WindvaneMaCross", "symbol": "HSTECH", "rule": "ma_cross", "direction": "below",
        "rule_name": "ma_cross:hysteresis=0.0,trigger=close,window=60",
        "severity": "warning", "confirmation": "close", "trading_day": "2025-10-17",
    }  # fmt: skip
    assert oct17["annotations"]["summary"] == "HSTECH closed 5760.38, below its 60-day SMA 5877.94"
    assert oct17["generatorURL"].startswith("http://127.0.0.1:6066/dashboard?symbol=HSTECH")
    assert oct17["startsAt"].startswith("2025-10-17T08:00:00")

    # signed webhook: every alert tried 3 times (2 failures on purpose), all signatures valid
    assert receiver.bad_signatures == 0
    assert dict(receiver.tries) == {a["id"]: 3 for a in alerts}
    assert sorted(x["id"] for x in receiver.accepted) == sorted(a["id"] for a in alerts)
    assert receiver.accepted[0] == next(a for a in alerts if a["id"] == receiver.accepted[0]["id"])

    # Slack format
    assert any("below its 60-day SMA 5877.94" in m["text"] for m in receiver.slack)

    # the sink that is down for good: each alert on alerts.undeliverable after 3 tries
    assert sorted(v["alert"]["id"] for _, v in undeliverable) == sorted(a["id"] for a in alerts)
    assert {(v["sink"], v["attempts"]) for _, v in undeliverable} == {("broken", 3)}
    assert "HTTP 500" in undeliverable[0][1]["error"]

    assert 'windvane_deliveries_total{outcome="retried",sink="signed"} 6.0' in metrics
    assert 'windvane_deliveries_total{outcome="undeliverable",sink="broken"} 3.0' in metrics
    assert 'windvane_deliveries_total{outcome="delivered",sink="alertmanager"} 3.0' in metrics
