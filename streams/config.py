"""Settings from environment variables, with defaults for the local broker.

Every variable is listed in the README. Kafka settings live here and nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

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
        )

    def topic(self, logical: str) -> str:
        return self.topic_prefix + logical

    @property
    def bootstrap_list(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]

    @property
    def faust_broker(self) -> str:
        return ";".join(f"kafka://{s}" for s in self.bootstrap_list)
