"""Settings from environment variables, with defaults for the local broker.

Every variable is listed in the README. Kafka settings live here and nowhere else.
"""

from __future__ import annotations

import functools
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from streams.signal_shapes import SHAPES, SignalShape

REPO_ROOT = Path(__file__).resolve().parent.parent
# The source checkout this package runs from (an editable install, or PYTHONPATH), or None when
# streams is installed from the wheel (then REPO_ROOT is site-packages). What the code reads
# at run time ships in the package (importlib.resources); only the tools that work on the
# repository's own files (``windvane demo``, ``windvane eval``'s defaults) need a checkout.
CHECKOUT: Path | None = (
    REPO_ROOT
    if (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "samples").is_dir()
    else None
)

# Logical topic names; the deployed name is ``WINDVANE_TOPIC_PREFIX`` + logical name.
QUOTES_RAW = "quotes.raw"
QUOTES_SIGNALS = "quotes.signals"
ALERTS = "alerts"
ALERTS_UNDELIVERABLE = "alerts.undeliverable"
DEADLETTER = "deadletter"
ARTICLES_RAW = "articles.raw"
ARTICLES_ENRICHED = "articles.enriched"
ARTICLES_CLAIMS = "articles.claims"
# Internal repartition topics (Kafka Streams' pattern): articles by content hash, so that
# republications meet in one partition; claims by symbol, so that each claim is checked in
# the partition that holds that symbol's quote state.
ARTICLES_BYHASH = "articles.byhash"
CLAIMS_BYSYMBOL = "claims.bysymbol"
TOPICS = (
    QUOTES_RAW,
    QUOTES_SIGNALS,
    ALERTS,
    ALERTS_UNDELIVERABLE,
    DEADLETTER,
    ARTICLES_RAW,
    ARTICLES_ENRICHED,
    ARTICLES_CLAIMS,
    ARTICLES_BYHASH,
    CLAIMS_BYSYMBOL,
)
INTERNAL_TOPICS = (ARTICLES_BYHASH, CLAIMS_BYSYMBOL)
"""Of :data:`TOPICS`, the worker's own (asyncapi.yaml marks them internal); the changelogs,
named after the app id, are declared by the worker (``streams.app.changelog_topics``)."""
TOPIC_KEYS = {
    QUOTES_RAW: "symbol",
    QUOTES_SIGNALS: "symbol",
    ALERTS: "symbol",
    ALERTS_UNDELIVERABLE: "alert id",
    DEADLETTER: "rejected record's key",
    ARTICLES_RAW: "article id",
    ARTICLES_ENRICHED: "article id",
    ARTICLES_CLAIMS: "article id",
    ARTICLES_BYHASH: "content hash",
    CLAIMS_BYSYMBOL: "symbol",
}
"""The key of each topic of :data:`TOPICS`, as ``windvane topology`` shows it (asyncapi.yaml
has the same in each message's key: tests/unit/test_topology.py compares them)."""


class ConfigError(ValueError):
    """A setting (environment variable or file) that is not valid; the message names it."""


@functools.lru_cache(maxsize=8)
def _ssl_context(cafile: str | None) -> ssl.SSLContext:
    from aiokafka.helpers import create_ssl_context

    return create_ssl_context(cafile=cafile)


@dataclass(frozen=True)
class KafkaSecurity:
    """How clients authenticate: PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL with
    SCRAM-SHA-256/512 or PLAIN. The password never appears in a repr or a log line."""

    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None

    @classmethod
    def from_env(cls) -> KafkaSecurity:
        protocols = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
        protocol = _env("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
        if protocol not in protocols:
            raise ConfigError(
                f"KAFKA_SECURITY_PROTOCOL={protocol!r}: expected one of {', '.join(protocols)}"
            )
        sasl = protocol.startswith("SASL")
        mechanisms = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
        return cls(
            protocol=protocol,
            mechanism=_choice("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", mechanisms)
            if sasl
            else None,
            username=os.environ.get("KAFKA_SASL_USERNAME") if sasl else None,
            password=os.environ.get("KAFKA_SASL_PASSWORD") if sasl else None,
            cafile=os.environ.get("KAFKA_SSL_CAFILE") or None,
        )

    @property
    def uses_ssl(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        return _ssl_context(self.cafile) if self.uses_ssl else None

    def aiokafka_kwargs(self) -> dict[str, Any]:
        if self.protocol == "PLAINTEXT":
            return {}
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_ssl:
            kwargs["ssl_context"] = self.ssl_context()
        if self.protocol.startswith("SASL"):
            kwargs.update(
                sasl_mechanism=self.mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        return kwargs

    def faust_credentials(self) -> Any:
        """The same, for Faust's ``broker_credentials`` (None for PLAINTEXT)."""
        import faust

        if self.protocol.startswith("SASL"):
            return faust.SASLCredentials(
                username=self.username,
                password=self.password,
                ssl_context=self.ssl_context(),
                mechanism=self.mechanism,
            )
        if self.protocol == "SSL":
            return faust.SSLCredentials(self.ssl_context())
        return None


@dataclass(frozen=True)
class EnvVar:
    """One environment variable the worker reads: what ``windvane config`` prints."""

    name: str
    default: str
    meaning: str
    secret: bool = False


# The worker's settings, in the order ``windvane config`` prints them (the README has them all).
WORKER_ENV = (
    EnvVar("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", "comma-separated brokers"),
    EnvVar("WINDVANE_APP_ID", "windvane", "consumer group, changelog names, store folder"),
    EnvVar("WINDVANE_TOPIC_PREFIX", "", "put in front of every topic name"),
    EnvVar("WINDVANE_PARTITIONS", "8", "partitions of the topics the worker creates"),
    EnvVar("WINDVANE_REPLICATION_FACTOR", "1", "replication factor of those topics"),
    EnvVar(
        "PROCESSING_GUARANTEE",
        "exactly_once_v2",
        "quote path: exactly_once_v2 | exactly_once (a transaction per task) | at_least_once",
    ),
    EnvVar("WINDVANE_STORE", "rocksdb://", "Faust table store (memory:// for tests)"),
    EnvVar("WINDVANE_DATA_DIR", ".windvane/worker", "local table stores"),
    EnvVar("WINDVANE_WEB_HOST", "127.0.0.1", "web server: /metrics, /healthz, /readyz"),
    EnvVar("WINDVANE_WEB_PORT", "6066", "its port"),
    EnvVar("WINDVANE_RULES", "", "TOML rules file (unset: ma_cross 60 for every symbol)"),
    EnvVar("WINDVANE_INSTRUMENTS", "", "instrument registry TOML (unset: the built-in one)"),
    EnvVar("WINDVANE_SESSION_TIMEOUT", "30", "consumer group session timeout, seconds"),
    EnvVar("WINDVANE_COMMIT_INTERVAL_MS", "25", "quote path: ms between commit rounds"),
    EnvVar("WINDVANE_DAY_RETENTION_DAYS", "400", "quote path: days of day records kept (0: all)"),
    EnvVar("WINDVANE_SIGNAL_SHAPE", "full", "quotes.signals values: full | compact"),
    EnvVar(
        "WINDVANE_STATE_FORMAT",
        "2",
        "quote state records written: 2 | 1 (while workers older than v2 still run)",
    ),
    EnvVar("LOG_LEVEL", "info", "log level (debug also shows tracebacks of errors)"),
    EnvVar("LOG_FORMAT", "text", "text | json"),
    EnvVar("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", "PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL"),
    EnvVar("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", "SCRAM-SHA-512 | SCRAM-SHA-256 | PLAIN"),
    EnvVar("KAFKA_SASL_USERNAME", "", "SASL user"),
    EnvVar("KAFKA_SASL_PASSWORD", "", "SASL password", secret=True),
    EnvVar("KAFKA_SSL_CAFILE", "", "PEM file of the CA of the brokers' certificates"),
)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _number(name: str, default: str, kind: type[int] | type[float], minimum: float) -> Any:
    """A numeric variable, or a :class:`ConfigError` that names it and says what it expects."""
    raw = _env(name, default)
    what = "a whole number" if kind is int else "a number"
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not {what}; expected {what} >= {minimum:g}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: expected {what} >= {minimum:g}")
    return value


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _env(name, default)
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
    return raw


def _existing_file(name: str) -> Path | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(f"{name}={raw!r}: no such file")
    return path


def writable_dir(path: Path, name: str = "WINDVANE_DATA_DIR") -> Path:
    """``path``, made if missing, once a probe file could be written there and removed; a
    :class:`ConfigError` naming ``name`` otherwise (a file where the directory should be, no
    permission, a read-only or full file system): the worker exits with that one line
    instead of failing later in its table store."""
    probe = path / f".write-probe-{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"windvane")
        probe.unlink()
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ConfigError(
            f"{name}: {path} is not a writable directory ({why}); the worker keeps its "
            "table stores there: point it at a directory it can write"
        ) from exc
    return path


@dataclass(frozen=True)
class Settings:
    bootstrap_servers: str = "127.0.0.1:9092"
    app_id: str = "windvane"
    topic_prefix: str = ""
    partitions: int = 8
    replication_factor: int = 1
    processing_guarantee: str = "exactly_once_v2"
    store: str = "rocksdb://"
    data_dir: Path = field(default_factory=lambda: Path(".windvane/worker"))
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    rules_path: Path | None = None
    instruments_path: Path | None = None
    log_level: str = "info"
    session_timeout: float = 30.0
    commit_interval_ms: int = 25
    day_retention_days: int = 400
    signal_shape: SignalShape = "full"
    state_format: int = 2
    security: KafkaSecurity = field(default_factory=lambda: KafkaSecurity())

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of :data:`WORKER_ENV`; a :class:`ConfigError` names a bad one."""
        return cls(
            bootstrap_servers=_env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            app_id=_env("WINDVANE_APP_ID", "windvane"),
            topic_prefix=_env("WINDVANE_TOPIC_PREFIX", ""),
            partitions=_number("WINDVANE_PARTITIONS", "8", int, 1),
            replication_factor=_number("WINDVANE_REPLICATION_FACTOR", "1", int, 1),
            processing_guarantee=_choice(
                "PROCESSING_GUARANTEE",
                "exactly_once_v2",
                ("exactly_once_v2", "exactly_once", "at_least_once"),
            ),
            store=_env("WINDVANE_STORE", "rocksdb://"),
            data_dir=Path(_env("WINDVANE_DATA_DIR", ".windvane/worker")),
            web_host=_env("WINDVANE_WEB_HOST", "127.0.0.1"),
            web_port=_number("WINDVANE_WEB_PORT", "6066", int, 0),
            rules_path=_existing_file("WINDVANE_RULES"),
            instruments_path=_existing_file("WINDVANE_INSTRUMENTS"),
            log_level=_env("LOG_LEVEL", "info"),
            session_timeout=_number("WINDVANE_SESSION_TIMEOUT", "30", float, 1),
            commit_interval_ms=_number("WINDVANE_COMMIT_INTERVAL_MS", "25", int, 0),
            day_retention_days=_number("WINDVANE_DAY_RETENTION_DAYS", "400", int, 0),
            signal_shape=cast(SignalShape, _choice("WINDVANE_SIGNAL_SHAPE", "full", SHAPES)),
            state_format=int(_choice("WINDVANE_STATE_FORMAT", "2", ("2", "1"))),
            security=KafkaSecurity.from_env(),
        )

    def effective(self) -> list[tuple[EnvVar, str, bool]]:
        """Each variable of :data:`WORKER_ENV` with its effective value (secrets masked) and
        whether the environment set it: what ``windvane config`` prints."""
        rows = []
        for var in WORKER_ENV:
            raw = os.environ.get(var.name) or ""
            value = raw or var.default
            if var.secret and value:
                value = "****"
            rows.append((var, value, bool(raw)))
        return rows

    def topic(self, logical: str) -> str:
        return self.topic_prefix + logical

    @property
    def bootstrap_list(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]

    def client_kwargs(self) -> dict[str, Any]:
        """Connection arguments for every aiokafka client: bootstrap servers and security."""
        return {"bootstrap_servers": self.bootstrap_list, **self.security.aiokafka_kwargs()}

    @property
    def faust_broker(self) -> str:
        return ";".join(f"kafka://{s}" for s in self.bootstrap_list)
