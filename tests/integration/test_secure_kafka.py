"""Secured Kafka: the local broker with a SASL_SSL listener (SCRAM-SHA-512 over TLS, with a
self-signed CA this test makes), and the full quote path over it: a worker, `windvane
replay` and `windvane tail` all connect with SASL/SCRAM over TLS; the alerts equal the
pandas reference; the password appears in no output; a wrong password is refused with
SASL_AUTHENTICATION_FAILED (not just any error)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed
from aiokafka.helpers import create_ssl_context

from streams.config import KafkaSecurity
from streams.tools.kafka_local import LocalBroker, free_port
from tests.faults.harness import report
from tests.kafka_harness import REPO, Namespace, Worker
from tests.peers import require
from tests.reference import closes, ma_crossings, shared_path

pytestmark = [pytest.mark.integration, pytest.mark.faults]

USER = "windvane"


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str
    cafile: Path
    password: str

    def env(self, password: str | None = None) -> dict[str, str]:
        return {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": USER,
            "KAFKA_SASL_PASSWORD": password or self.password,
            "KAFKA_SSL_CAFILE": str(self.cafile),
        }


def make_certificates(root: Path) -> tuple[Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl, PEM)."""
    openssl = require("openssl", "openssl")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=root, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=windvane test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    )
    (root / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
        "-out",
        "server.pem",
    )
    run("pkcs8", "-topk8", "-nocrypt", "-in", "server.key", "-out", "server.pk8")
    keystore = root / "server-keystore.pem"  # private key + certificate chain, Kafka's PEM store
    keystore.write_text(
        (root / "server.pk8").read_text()
        + (root / "server.pem").read_text()
        + (root / "ca.pem").read_text()
    )
    return root / "ca.pem", keystore


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    certs = tmp_path_factory.mktemp("certs")
    cafile, keystore = make_certificates(certs)
    password = secrets.token_urlsafe(24)
    port, controller, internal = free_port(), free_port(), free_port()
    jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    broker = LocalBroker(
        home=REPO / ".windvane" / "test-secure-kafka",
        port=port,
        controller_port=controller,
        listener_protocol="SASL_SSL",
        extra_properties=(
            (
                "listeners",
                f"CLIENT://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal},"
                f"CONTROLLER://127.0.0.1:{controller}",
            ),
            ("advertised.listeners", f"CLIENT://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal}"),
            (
                "listener.security.protocol.map",
                "CONTROLLER:PLAINTEXT,CLIENT:SASL_SSL,INTERNAL:PLAINTEXT",
            ),
            ("inter.broker.listener.name", "INTERNAL"),
            ("sasl.enabled.mechanisms", "SCRAM-SHA-512"),
            ("listener.name.client.scram-sha-512.sasl.jaas.config", jaas),
            ("listener.name.client.ssl.keystore.type", "PEM"),
            ("listener.name.client.ssl.keystore.location", str(keystore)),
        ),
        format_args=("--add-scram", f"SCRAM-SHA-512=[name={USER},password={password}]"),
    )
    broker.destroy()
    broker.up(timeout=120)
    try:
        yield SecureBroker(broker.bootstrap, cafile, password)
    finally:
        broker.destroy()


async def _connect(broker: SecureBroker, password: str, trust_ca: bool = True) -> None:
    """One connection (TLS, then SASL/SCRAM) with the arguments every windvane client gets
    from its settings; raises what aiokafka raises."""
    security = KafkaSecurity(
        protocol="SASL_SSL",
        mechanism="SCRAM-SHA-512",
        username=USER,
        password=password,
        cafile=str(broker.cafile) if trust_ca else None,  # None: the system's CAs only
    )
    host, port = broker.bootstrap.rsplit(":", 1)
    conn = await create_conn(host, int(port), request_timeout_ms=5000, **security.aiokafka_kwargs())
    conn.close()


async def _start_consumer(broker: SecureBroker, password: str) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        security_protocol="SASL_SSL",
        ssl_context=create_ssl_context(cafile=str(broker.cafile)),
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=USER,
        sasl_plain_password=password,
        request_timeout_ms=5000,
    )
    try:
        await asyncio.wait_for(consumer.start(), 20)
    finally:
        await consumer.stop()


def test_a_wrong_password_is_refused_by_sasl_authentication(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The refusal is the broker's SCRAM verdict (SASL_AUTHENTICATION_FAILED), not any
    failure: the right password connects over the same TLS, and a TLS failure is told
    apart."""
    asyncio.run(_connect(secure_broker, secure_broker.password))
    with pytest.raises(SaslAuthenticationFailed):
        asyncio.run(_connect(secure_broker, "not-the-password"))
    with pytest.raises(ssl.SSLCertVerificationError):  # what a TLS failure looks like
        asyncio.run(_connect(secure_broker, secure_broker.password, trust_ca=False))
    # a client: aiokafka's bootstrap logs the connection's error and gives up with
    # KafkaConnectionError; the error it logged is the authentication failure
    caplog.set_level(logging.ERROR, logger="aiokafka")
    with pytest.raises(KafkaConnectionError):
        asyncio.run(_start_consumer(secure_broker, "not-the-password"))
    logged = [a for r in caplog.records if r.name.startswith("aiokafka") for a in r.args or ()]
    assert any(isinstance(a, SaslAuthenticationFailed) for a in logged), caplog.text


def test_quote_path_over_sasl_scram_and_tls(secure_broker: SecureBroker, tmp_path: Path) -> None:
    ns = Namespace(bootstrap=secure_broker.bootstrap, root=tmp_path)
    env = secure_broker.env()
    worker = Worker(ns, tmp_path / "w", **env).start(timeout=120)
    try:
        csv = shared_path("quotes", "HSTECH.csv")
        replay = ns.windvane("replay", "quotes", str(csv), "--symbol", "HSTECH", **env)
        want = ma_crossings(closes(csv), 60)
        tail = ns.windvane("tail", "alerts", "--from-beginning", "--idle-timeout", "8", **env)
        got_lines = [orjson.loads(line) for line in tail.stdout.splitlines() if line.strip()]
        deadline = 0
        while len(got_lines) < len(want) and deadline < 6:  # the worker may still be at it
            deadline += 1
            tail = ns.windvane("tail", "alerts", "--from-beginning", "--idle-timeout", "8", **env)
            got_lines = [orjson.loads(line) for line in tail.stdout.splitlines() if line.strip()]
    finally:
        worker.stop()
    got = [(a["value"]["trading_day"], a["value"]["direction"]) for a in got_lines]
    missing, duplicated = len(set(want) - set(got)), len(got) - len(set(got) & set(want))
    report("secured_kafka", 1477, 0, missing, duplicated, 0)
    assert sorted(got) == sorted(want)
    assert ("2025-10-17", "below") in got
    secret = secure_broker.password
    for text in (
        worker.log.read_text(errors="replace"),
        replay.stdout,
        replay.stderr,
        tail.stdout,
        tail.stderr,
    ):
        assert secret not in text
