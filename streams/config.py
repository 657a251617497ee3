"""Settings from environment variables, with defaults for the local broker.

Every variable is listed in the README. Kafka settings live here and nowhere else.
"""

from __future__ import annotations

import functools
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        protocol = _env("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
        if protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL: unknown protocol {protocol!r}")
        sasl = protocol.startswith("SASL")
        return cls(
            protocol=protocol,
            mechanism=_env("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512") if sasl else None,
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


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


@dataclass(frozen=True)
class Settings:
    bootstrap_servers: str = "127.0.0.1:9092"
    app_id: str = "windvane"
    topic_prefix: str = ""
    partitions: int = 8
    replication_factor: int = 1
    processing_guarantee: str = "exactly_once"
    store: str = "rocksdb://"
    data_dir: Path = field(default_factory=lambda: Path(".windvane/worker"))
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    rules_path: Path | None = None
    instruments_path: Path | None = None
    log_level: str = "info"
    session_timeout: float = 30.0
    security: KafkaSecurity = field(default_factory=lambda: KafkaSecurity())

    @classmethod
    def from_env(cls) -> Settings:
        rules = os.environ.get("WINDVANE_RULES")
        instruments = os.environ.get("WINDVANE_INSTRUMENTS")
        guarantee = _env("PROCESSING_GUARANTEE", "exactly_once")
        if guarantee not in ("at_least_once", "exactly_once"):
            raise ValueError("PROCESSING_GUARANTEE must be at_least_once or exactly_once")
        return cls(
            bootstrap_servers=_env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            app_id=_env("WINDVANE_APP_ID", "windvane"),
            topic_prefix=_env("WINDVANE_TOPIC_PREFIX", ""),
            partitions=int(_env("WINDVANE_PARTITIONS", "8")),
            replication_factor=int(_env("WINDVANE_REPLICATION_FACTOR", "1")),
            processing_guarantee=guarantee,
            store=_env("WINDVANE_STORE", "rocksdb://"),
            data_dir=Path(_env("WINDVANE_DATA_DIR", ".windvane/worker")),
            web_host=_env("WINDVANE_WEB_HOST", "127.0.0.1"),
            web_port=int(_env("WINDVANE_WEB_PORT", "6066")),
            rules_path=Path(rules) if rules else None,
            instruments_path=Path(instruments) if instruments else None,
            log_level=_env("LOG_LEVEL", "info"),
            session_timeout=float(_env("WINDVANE_SESSION_TIMEOUT", "30")),
            security=KafkaSecurity.from_env(),
        )

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
