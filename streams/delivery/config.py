"""Sinks and their routing, from the ``[[sinks]]`` tables of a TOML file. Strict: an unknown
key, an unknown rule kind or a value of the wrong type is an error, never ignored (a typo in
``secret_env`` would otherwise send webhooks unsigned)."""

from __future__ import annotations

import difflib
import fnmatch
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.domain.rules import known_kinds

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}
SINK_TYPES = ("webhook", "alertmanager")
SINK_KEYS = (
    "name",
    "type",
    "url",
    "format",
    "secret",
    "secret_env",
    "timeout",
    "max_attempts",
    "backoff_initial",
    "backoff_max",
    "resolve_after",
    "max_in_flight",
    "match",
)
MATCH_KEYS = ("rules", "names", "symbols", "min_severity")
DEFAULT_MAX_IN_FLIGHT = 8


class DeliveryConfigError(ValueError):
    """A delivery file that does not describe valid sinks."""


@dataclass(frozen=True)
class Route:
    """Which alerts a sink takes: rule kinds, rule names (globs on an alert's ``rule_name``;
    an alert without one does not match), symbol patterns, a minimum severity."""

    rules: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ("*",)
    min_severity: str = "info"
    names: tuple[str, ...] = ()

    def matches(self, alert: Mapping[str, Any]) -> bool:
        if self.rules and alert["rule"] not in self.rules:
            return False
        if self.names:
            name = alert.get("rule_name")
            if not isinstance(name, str):
                return False
            if not any(fnmatch.fnmatchcase(name, p) for p in self.names):
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
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT  # 1: one at a time, in the order read
    route: Route = Route()


class _Table:
    """One TOML table being read: typed getters whose errors name the file and the sink."""

    def __init__(self, raw: Mapping[str, Any], where: str, known: tuple[str, ...]) -> None:
        self.raw = raw
        self.where = where
        for key in raw:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.error(f"unknown key {key!r}{hint}; known keys: {', '.join(known)}")

    def error(self, message: str) -> DeliveryConfigError:
        return DeliveryConfigError(f"{self.where}: {message}")

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.raw.get(key, default)
        if value is not None and (not isinstance(value, str) or not value):
            raise self.error(f"{key} must be a non-empty string, not {value!r}")
        return value

    def choice(self, key: str, default: str | None, choices: tuple[str, ...]) -> str:
        value = self.raw.get(key, default)
        if value not in choices:
            raise self.error(f"{key} must be one of {', '.join(choices)}, not {value!r}")
        return str(value)

    def number(self, key: str, default: float, minimum: float, inclusive: bool = False) -> float:
        value = self.raw.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.error(f"{key} must be a number, not {value!r}")
        if value < minimum or (value == minimum and not inclusive):
            bound = ">=" if inclusive else ">"
            raise self.error(f"{key} must be {bound} {minimum:g}, not {value!r}")
        return float(value)

    def whole(self, key: str, default: int) -> int:
        value = self.raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.error(f"{key} must be a whole number >= 1, not {value!r}")
        return value

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        if key not in self.raw:
            return default
        value = self.raw[key]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(x, str) and x for x in value)
        ):
            raise self.error(f"{key} must be a non-empty list of strings, not {value!r}")
        return tuple(value)


def _route(raw: Any, where: str) -> Route:
    if not isinstance(raw, dict):
        raise DeliveryConfigError(f"{where}: match must be a table ([sinks.match])")
    table = _Table(raw, f"{where} [sinks.match]", MATCH_KEYS)
    rules = table.strings("rules", ())
    kinds = known_kinds() if rules else ()  # built-in and entry points (windvane.rules)
    for kind in rules:
        if kind not in kinds:
            close = difflib.get_close_matches(kind, kinds, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise table.error(f"unknown rule {kind!r}{hint}; known rules: {', '.join(kinds)}")
    return Route(
        rules=rules,
        symbols=table.strings("symbols", ("*",)),
        min_severity=table.choice("min_severity", "info", tuple(SEVERITY_ORDER)),
        names=table.strings("names", ()),
    )


def _sink(raw: Any, path: str | Path, index: int) -> Sink:
    if not isinstance(raw, dict):
        raise DeliveryConfigError(f"{path}: sinks[{index}] must be a table ([[sinks]])")
    name = raw.get("name")
    label = f"sink {name!r}" if isinstance(name, str) and name else f"sinks[{index}]"
    table = _Table(raw, f"{path}: {label}", SINK_KEYS)
    kind = table.choice("type", None, SINK_TYPES)
    url = table.string("url")
    if url is None or not url.startswith(("http://", "https://")):
        raise table.error(f"url must be http(s), not {url!r}")
    if kind != "webhook" and "format" in raw:
        raise table.error("format applies to webhook sinks only")
    if kind != "alertmanager" and "resolve_after" in raw:
        raise table.error("resolve_after applies to alertmanager sinks only")
    if "secret" in raw and "secret_env" in raw:
        raise table.error("give secret or secret_env, not both")
    secret = table.string("secret")
    secret_env = table.string("secret_env")
    if secret_env is not None:
        secret = os.environ.get(secret_env)
        if not secret:
            raise table.error(f"${secret_env} is not set")
    backoff_initial = table.number("backoff_initial", 0.5, 0.0, inclusive=True)
    backoff_max = table.number("backoff_max", 30.0, 0.0, inclusive=True)
    if backoff_max < backoff_initial:
        raise table.error("backoff_max must be >= backoff_initial")
    return Sink(
        name=table.string("name") or kind,
        type=kind,
        url=url.rstrip("/"),
        format=table.choice("format", "json", ("json", "slack")),
        secret=secret,
        timeout=table.number("timeout", 5.0, 0.0),
        max_attempts=table.whole("max_attempts", 5),
        backoff_initial=backoff_initial,
        backoff_max=backoff_max,
        resolve_after=table.number("resolve_after", 86400.0, 0.0),
        max_in_flight=table.whole("max_in_flight", DEFAULT_MAX_IN_FLIGHT),
        route=_route(raw.get("match", {}), table.where),
    )


def load_sinks(path: str | Path) -> list[Sink]:
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DeliveryConfigError(f"{path}: not TOML: {exc}") from exc
    unknown = sorted(set(doc) - {"sinks"})
    if unknown:
        raise DeliveryConfigError(f"{path}: unknown top-level keys {unknown}; known: sinks")
    entries = doc.get("sinks", [])
    if not isinstance(entries, list):
        raise DeliveryConfigError(f"{path}: sinks must be an array of tables ([[sinks]])")
    sinks = [_sink(raw, path, i) for i, raw in enumerate(entries)]
    if not sinks:
        raise DeliveryConfigError(f"{path}: no [[sinks]]")
    names = [s.name for s in sinks]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DeliveryConfigError(
            f"{path}: sink names must differ (they label metrics and undeliverable records): "
            f"{', '.join(repeated)} used more than once"
        )
    return sinks
