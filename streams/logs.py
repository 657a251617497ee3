"""Logging: plain text by default, one JSON object per line with ``LOG_FORMAT=json``."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from streams import codec

# Never log these values, whatever asks to.
SECRET_WORDS = ("password", "secret", "sasl_plain", "token")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return codec.dumps_line(body)


def json_enabled() -> bool:
    return os.environ.get("LOG_FORMAT", "text").lower() == "json"


def configure_logging(level: str = "info") -> None:
    """Root logging for windvane's own commands (the worker's is set up by Faust)."""
    handler = logging.StreamHandler()
    if json_enabled():
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("[%(asctime)s] [%(levelname)s] %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def use_json_on_existing_handlers() -> None:
    """Switch handlers that Faust/mode installed to JSON lines (``LOG_FORMAT=json``)."""
    if not json_enabled():
        return
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())
