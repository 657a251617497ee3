"""The example consumers of examples/consumers/ against a replay of real data: a worker
process, ``windvane replay`` of HSTECH, then the Python consumer (aiokafka) and the Java one
(kafka-clients, built by Maven) each read ``alerts`` from the start, read_committed, and
print one line per alert with its CloudEvents headers. Both must list every alert of the
offline run, the 2025-10-17 60-day-line crossing among them, with its headers; and both
print the same lines."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.tools.cli import offline_quote_lines
from streams.tools.sources import quote_records
from tests.kafka_harness import REPO, Namespace, Worker, consume_until
from tests.reference import shared_path
from tests.schemas import SCHEMAS, load

pytestmark = pytest.mark.e2e

CONSUMERS = REPO / "examples" / "consumers"
JAVA = CONSUMERS / "java"
JAR = JAVA / "target" / "windvane-alerts-consumer-1.jar"
OCT17 = "19611f8ba7d89d49549251d4011659e4"  # HSTECH 2025-10-17, ma_cross 60, below


@pytest.fixture(scope="module")
def replayed(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Namespace]:
    """HSTECH replayed through a worker; its outputs committed."""
    ns = Namespace(bootstrap=kafka_bootstrap, root=tmp_path_factory.mktemp("consumers"))
    csv = shared_path("quotes", "HSTECH.csv")
    worker = Worker(ns, ns.root / "worker").start()
    try:
        ns.windvane("replay", "quotes", str(csv), "--symbol", "HSTECH")
        n = sum(1 for _ in quote_records(csv, "HSTECH"))
        asyncio.run(consume_until(ns.bootstrap, ns.topic("quotes.signals"), n, timeout=180))
    finally:
        worker.stop()
    yield ns


def parse(stdout: str) -> list[dict[str, Any]]:
    """The consumers' lines: ``alert name=value ... value=<JSON>``."""
    out = []
    for line in stdout.splitlines():
        assert line.startswith("alert "), line
        head, _, value = line.partition(" value=")
        fields = dict(part.split("=", 1) for part in head.split()[1:])
        fields["value"] = orjson.loads(value)
        out.append(fields)
    return out


def check(ns: Namespace, lines: list[dict[str, Any]]) -> None:
    oracle = [
        x["value"]["id"]
        for x in offline_quote_lines(shared_path("quotes", "HSTECH.csv"), "HSTECH", None)
        if x["topic"] == "alerts"
    ]
    assert sorted(line["ce_id"] for line in lines) == sorted(oracle)
    schema_id = load(SCHEMAS / "alert.json")["$id"]
    for line in lines:
        alert = line["value"]
        assert line["ce_id"] == alert["id"]
        assert line["ce_type"] == f"dev.windvane.alert.{alert['rule']}.v1"
        assert line["ce_subject"] == alert["symbol"] == "HSTECH"
        assert line["ce_time"] == alert["event_time"]
        assert line["ce_source"] == f"windvane/{ns.app_id}/alerts"
        assert line["ce_dataschema"] == schema_id
        assert line["ce_specversion"] == "1.0"
        assert line["content-type"] == "application/json"
    (oct17,) = [line for line in lines if line["ce_id"] == OCT17]
    assert oct17["ce_type"] == "dev.windvane.alert.ma_cross.v1"
    alert = oct17["value"]
    assert (alert["trading_day"], alert["direction"], alert["params"]["window"]) == (
        "2025-10-17",
        "below",
        60,
    )


def run(argv: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=cwd, check=False)
    assert proc.returncode == 0, f"{argv[0]} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc.stdout


def consumer_args(ns: Namespace) -> list[str]:
    return ["--bootstrap", ns.bootstrap, "--topic", ns.topic("alerts"), "--from-beginning",
            "--until-idle", "5"]  # fmt: skip


def python_consumer(ns: Namespace) -> str:
    script = CONSUMERS / "python" / "alerts_consumer.py"
    return run([sys.executable, str(script), *consumer_args(ns)])


def java_jar() -> Path:
    """The Java consumer's jar, built by Maven when missing or older than its sources (`make
    setup` builds it; offline once its jars are in the local repository)."""
    sources = [JAVA / "pom.xml", *JAVA.glob("src/**/*.java")]
    if not JAR.exists() or JAR.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        run(["mvn", "-q", "-f", str(JAVA / "pom.xml"), "package"])
    return JAR


def java_consumer(ns: Namespace) -> str:
    classpath = f"{java_jar()}:{JAVA / 'target' / 'lib'}/*"
    return run(["java", "-cp", classpath, "dev.windvane.examples.AlertsConsumer",
                *consumer_args(ns)])  # fmt: skip


def test_python_consumer_prints_the_alerts_with_their_cloudevents(replayed: Namespace) -> None:
    check(replayed, parse(python_consumer(replayed)))


def test_java_consumer_prints_the_alerts_with_their_cloudevents(replayed: Namespace) -> None:
    java = java_consumer(replayed)
    check(replayed, parse(java))
    # the two consumers print the same lines (same format, same records)
    python = python_consumer(replayed)
    assert sorted(java.splitlines()) == sorted(python.splitlines())
