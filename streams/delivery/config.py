"""Sinks and their routing, from the ``[[sinks]]`` tables of a TOML file."""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


class DeliveryConfigError(ValueError):
    """A delivery file that does not describe valid sinks."""


@dataclass(frozen=True)
class Route:
    """Which alerts a sink takes: rule kinds, symbol patterns, a minimum severity."""

    rules: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ("*",)
    min_severity: str = "info"

    def matches(self, alert: dict[str, Any]) -> bool:
        if self.rules and alert["rule"] not in self.rules:
            return False
        if not any(fnmatch.fnmatchcase(alert["symbol"], p) for p in self.symbols):
            return False
        return SEVERITY_ORDER.get(alert["severity"], 0) >= SEVERITY_ORDER[self.min_severity]


@dataclass(frozen=True)
class Sink:
    name: str
    type: str  # webhook | alertmanager
    url: str
    format: str = "json"  # webhook: json | slack
    secret: str | None = field(default=None, repr=False)
    timeout: float = 5.0
    max_attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    resolve_after: float = 86400.0  # alertmanager: seconds an alert stays active after emission
    route: Route = Route()


def _sink(raw: dict[str, Any]) -> Sink:
    data = dict(raw)
    kind = data.get("type")
    if kind not in ("webhook", "alertmanager"):
        raise DeliveryConfigError(f"sink type must be webhook or alertmanager, not {kind!r}")
    if not isinstance(data.get("url"), str) or not data["url"].startswith(("http://", "https://")):
        raise DeliveryConfigError(f"sink {data.get('name')!r}: url must be http(s)")
    secret = data.get("secret")
    if data.get("secret_env"):
        secret = os.environ.get(data["secret_env"])
        if not secret:
            raise DeliveryConfigError(
                f"sink {data.get('name')!r}: ${data['secret_env']} is not set"
            )
    match = data.get("match", {})
    severity = match.get("min_severity", "info")
    if severity not in SEVERITY_ORDER:
        raise DeliveryConfigError(f"min_severity must be one of {list(SEVERITY_ORDER)}")
    fmt = data.get("format", "json")
    if fmt not in ("json", "slack"):
        raise DeliveryConfigError("webhook format must be json or slack")
    return Sink(
        name=str(data.get("name") or kind),
        type=kind,
        url=data["url"].rstrip("/"),
        format=fmt,
        secret=secret,
        timeout=float(data.get("timeout", 5.0)),
        max_attempts=int(data.get("max_attempts", 5)),
        backoff_initial=float(data.get("backoff_initial", 0.5)),
        backoff_max=float(data.get("backoff_max", 30.0)),
        resolve_after=float(data.get("resolve_after", 86400.0)),
        route=Route(
            rules=tuple(match.get("rules", ())),
            symbols=tuple(match.get("symbols", ("*",))),
            min_severity=severity,
        ),
    )


def load_sinks(path: str | Path) -> list[Sink]:
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DeliveryConfigError(f"{path}: not TOML: {exc}") from exc
    sinks = [_sink(raw) for raw in doc.get("sinks", [])]
    if not sinks:
        raise DeliveryConfigError(f"{path}: no [[sinks]]")
    return sinks
