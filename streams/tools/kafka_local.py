"""A real Apache Kafka broker (KRaft) from Maven Central jars, no Docker; or a local cluster
of three (:class:`LocalCluster`: three JVMs on loopback ports, replication factor 3).

``windvane kafka up`` resolves the jars with Maven (``ops/kafka/pom.xml``, shipped in the
package as ``streams/kafka-broker.pom.xml``), formats storage
on first use, starts ``kafka.Kafka`` detached, and waits until the broker answers a
metadata request. Data and logs live under ``.windvane/kafka/`` (``WINDVANE_HOME``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from streams.config import CHECKOUT


def broker_pom() -> str:
    """The Maven POM of the broker's classpath (``ops/kafka/pom.xml``), read as package data."""
    return resources.files("streams").joinpath("kafka-broker.pom.xml").read_text(encoding="utf-8")


class BrokerError(RuntimeError):
    """The broker could not be set up, started or reached."""


@dataclass(frozen=True)
class LocalBroker:
    home: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "768m"
    listener_protocol: str = "PLAINTEXT"  # the client listener's security protocol
    extra_properties: tuple[tuple[str, str], ...] = ()
    node_id: int = 1
    voters: str = ""  # controller.quorum.voters of a cluster; empty: this node alone
    cluster_id: str = ""  # shared by a cluster's nodes; empty: a new one at format time
    replication: int = 1  # internal topics' replication factor (min ISR: 2 when 3)
    format_args: tuple[str, ...] = ()  # e.g. --add-scram credentials, created at format time

    @classmethod
    def from_env(cls) -> LocalBroker:
        home = Path(os.environ.get("WINDVANE_HOME", ".windvane")) / "kafka"
        port = int(os.environ.get("WINDVANE_KAFKA_PORT", "9092"))
        controller = int(os.environ.get("WINDVANE_KAFKA_CONTROLLER_PORT", str(port + 1)))
        return cls(home=home.resolve(), port=port, controller_port=controller)

    # -- paths -------------------------------------------------------------------------
    @property
    def lib(self) -> Path:
        return self.lib_dir()

    @staticmethod
    def lib_dir() -> Path:
        """Jars are shared by every broker home: one Maven resolution per checkout (or, for an
        installed wheel, per ``WINDVANE_HOME``)."""
        override = os.environ.get("WINDVANE_KAFKA_LIB")
        if override:
            return Path(override)
        home = (
            CHECKOUT / ".windvane"
            if CHECKOUT
            else Path(os.environ.get("WINDVANE_HOME", ".windvane"))
        )
        return (home / "kafka-lib").resolve()

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def pidfile(self) -> Path:
        return self.home / "broker.pid"

    @property
    def properties(self) -> Path:
        return self.home / "server.properties"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- setup -------------------------------------------------------------------------
    def ensure_jars(self, quiet: bool = True) -> None:
        lib = self.lib
        marker = lib / ".complete"
        pom = broker_pom()
        if marker.exists() and marker.read_text(encoding="utf-8") == pom:
            return
        if shutil.which("mvn") is None:
            raise BrokerError("Maven (mvn) is needed to fetch the Kafka jars; install it")
        if lib.exists():
            shutil.rmtree(lib)
        with tempfile.TemporaryDirectory(prefix="windvane-pom-") as work:
            # Maven works beside its POM (target/): a scratch copy, not the package's file
            pom_file = Path(work) / "pom.xml"
            pom_file.write_text(pom, encoding="utf-8")
            cmd = [
                "mvn",
                "-B",
                *(["-q"] if quiet else []),
                "-f",
                str(pom_file),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={lib}",
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BrokerError(
                f"mvn failed ({proc.returncode}):\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}"
            )
        marker.write_text(pom, encoding="utf-8")

    def write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        rf = str(self.replication)
        min_isr = "2" if self.replication >= 3 else "1"
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters
            or f"{self.node_id}@127.0.0.1:{self.controller_port}",
            "listeners": f"CLIENT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"CLIENT://127.0.0.1:{self.port}",
            "inter.broker.listener.name": "CLIENT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": (
                f"CONTROLLER:PLAINTEXT,CLIENT:{self.listener_protocol}"
            ),
            "log.dirs": str(self.data),
            "num.partitions": "8",
            "default.replication.factor": rf,
            "min.insync.replicas": min_isr,
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": min_isr,
            "transaction.state.log.num.partitions": "8",
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": min_isr,
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "log.retention.hours": "-1",
            "log.segment.bytes": str(64 * 1024 * 1024),
        }
        props.update(dict(self.extra_properties))
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        log4j = self.home / "log4j2.properties"
        log4j.write_text(
            "status = warn\n"
            "appender.file.type = File\n"
            "appender.file.name = FILE\n"
            f"appender.file.fileName = {self.logs / 'server.log'}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = FILE\n"
            "logger.kafka.name = kafka\nlogger.kafka.level = INFO\n"
            "logger.state.name = state.change.logger\nlogger.state.level = WARN\n"
        )

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp",
            f"{self.lib}/*",
            main,
            *args,
        ]

    def format_storage(self) -> None:
        if (self.data / "meta.properties").exists():
            return
        cluster_id = self.cluster_id or base64_uuid()
        proc = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.properties),
                *self.format_args,
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BrokerError(f"storage format failed:\n{proc.stdout}\n{proc.stderr}")

    # -- lifecycle ---------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return pid  # no procfs: trust the signal
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return None  # exited, not yet reaped
        if cmdline and b"java" not in cmdline:
            return None  # a recycled pid
        return pid

    def up(self, timeout: float = 90.0, quiet: bool = True) -> None:
        """Start (idempotent): returns once the broker answers."""
        self.start(quiet)
        self.wait_ready(timeout)

    def start(self, quiet: bool = True) -> None:
        """Start without waiting (a cluster's nodes wait for each other's quorum)."""
        if self.pid() is not None and self.answers():
            return
        if self.pid() is None and port_open("127.0.0.1", self.port):
            raise BrokerError(f"port {self.port} is taken by another process")
        self.ensure_jars(quiet=quiet)
        self.write_config()
        self.format_storage()
        if self.pid() is None:
            out = (self.logs / "stdout.log").open("ab")
            proc = subprocess.Popen(
                self._java("kafka.Kafka", str(self.properties)),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.pidfile.write_text(str(proc.pid))

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise BrokerError(
                    f"broker exited; see {self.logs / 'server.log'}:\n{self.tail_log()}"
                )
            if self.answers():
                return
            time.sleep(0.5)
        raise BrokerError(f"broker did not answer in {timeout:.0f}s:\n{self.tail_log()}")

    def answers(self) -> bool:
        """True when the broker serves a metadata request (not merely an open port)."""
        if not port_open("127.0.0.1", self.port):
            return False
        if self.listener_protocol != "PLAINTEXT":
            return True
        return metadata_ok(self.bootstrap)

    def down(self, timeout: float = 60.0, sig: int = signal.SIGTERM) -> bool:
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        self.pidfile.unlink(missing_ok=True)
        return True

    def destroy(self) -> None:
        self.down()
        shutil.rmtree(self.home, ignore_errors=True)

    def tail_log(self, lines: int = 30) -> str:
        for name in ("server.log", "stdout.log"):
            path = self.logs / name
            if path.exists():
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


@dataclass(frozen=True)
class LocalCluster:
    """Three KRaft nodes (combined broker and controller) on loopback ports ``base_port`` ..
    ``base_port + 5``: replication factor 3, ``min.insync.replicas`` 2, so any one node can
    be stopped and the cluster goes on (quorum and ISR both hold with two)."""

    home: Path
    base_port: int = (
        21092  # below the ephemeral range (32768+): a restarted node gets its port back
    )
    heap: str = "512m"

    @property
    def nodes(self) -> list[LocalBroker]:
        ports = [(self.base_port + 2 * i, self.base_port + 2 * i + 1) for i in range(3)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{c}" for i, (_, c) in enumerate(ports))
        cluster_id = self._cluster_id()
        return [
            LocalBroker(
                home=self.home / f"node{i + 1}",
                port=p,
                controller_port=c,
                heap=self.heap,
                node_id=i + 1,
                voters=voters,
                cluster_id=cluster_id,
                replication=3,
            )
            for i, (p, c) in enumerate(ports)
        ]

    def _cluster_id(self) -> str:
        path = self.home / "cluster.id"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(base64_uuid())
        return path.read_text().strip()

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def up(self, timeout: float = 120.0) -> None:
        nodes = self.nodes
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_ready(timeout)

    def down(self) -> None:
        for node in self.nodes:
            node.down()

    def destroy(self) -> None:
        """Kill every node and delete the data (no controlled shutdown: nothing is kept)."""
        for node in self.nodes:
            node.down(timeout=10, sig=signal.SIGKILL)
        shutil.rmtree(self.home, ignore_errors=True)


def base64_uuid() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, never starting
    with "-": the storage tool would read such an id as an option (one run in 64 failed with
    "--cluster-id/-t: expected one argument"); Kafka's own Uuid.randomUuid() skips them too."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def metadata_ok(bootstrap: str) -> bool:
    """Ask the broker for cluster metadata with aiokafka (in a fresh event loop)."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return True
        except Exception:
            return False
        finally:
            await admin.close()

    def run() -> bool:
        try:
            return asyncio.run(asyncio.wait_for(probe(), 8))
        except Exception:
            return False

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    # called from async code: probe on a thread of its own, with its own loop
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":  # pragma: no cover - manual use
    LocalBroker.from_env().up(quiet=False)
    sys.exit(0)
