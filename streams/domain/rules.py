"""Alert rules: the registry of rule kinds, the rules file (``[[rules]]`` TOML) and the
configured rules of a book. Pure: state is a small dict per (rule, symbol).

A rule kind is one class behind :class:`~streams.domain.rule_api.Rule` (re-exported here).
The built-in kinds (:mod:`streams.domain.builtin_rules`) are registered like any other;
third-party kinds load from the ``windvane.rules`` entry point group (the entry's name is
the kind) or from a dotted path in the file (``rule = "mypkg.rules:VolumeSpike"``).

Directions are ``above``/``below``; confirmations ``close`` (final daily close),
``intraday`` (provisional, first live crossing of the day) and ``withdrawn`` (the close
did not confirm an intraday alert).
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from streams.domain.builtin_rules import BUILTIN, _drawn_down, _side
from streams.domain.indicators import Snapshot
from streams.domain.rule_api import (
    KIND_PATTERN,
    REQUIRED,
    Firing,
    Param,
    Rule,
    RuleState,
    Windows,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "REQUIRED",
    "SEVERITIES",
    "Firing",
    "Param",
    "Rule",
    "RuleBook",
    "RuleConfigError",
    "RuleSpec",
    "RuleState",
    "Windows",
    "_drawn_down",
    "_side",
    "identify",
    "known_kinds",
    "rule_class",
    "rule_from_mapping",
]

ENTRY_POINT_GROUP = "windvane.rules"
KINDS = tuple(cls.kind for cls in BUILTIN)  # the built-in kinds
SEVERITIES = ("info", "warning", "critical")
COMMON_KEYS = ("name", "symbols", "severity")  # what every [[rules]] entry may set

_REGISTRY: dict[str, type[Rule]] = {cls.kind: cls for cls in BUILTIN}


class RuleConfigError(ValueError):
    """A rules file that does not describe valid rules."""


class _Located(RuleConfigError):
    """An error of one ``[[rules]]`` entry, with its line when known."""


# -- the registry -----------------------------------------------------------------------
def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def known_kinds() -> tuple[str, ...]:
    """Every kind a rules file may name: built-in, then registered, then entry points."""
    return tuple(dict.fromkeys([*_REGISTRY, *sorted(_entry_points())]))


def _checked(cls: Any, where: str) -> type[Rule]:
    if not (isinstance(cls, type) and issubclass(cls, Rule)):
        raise RuleConfigError(f"{where} is not a windvane rule (a subclass of Rule): {cls!r}")
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not KIND_PATTERN.fullmatch(kind):
        raise RuleConfigError(
            f"{where}: kind must be lower-case letters, digits and _, not {kind!r}"
        )
    for param in cls.parameters:
        if param.name in (*COMMON_KEYS, "rule"):
            raise RuleConfigError(f"{where}: parameter {param.name!r} is reserved")
    return cls


def register(cls: type[Rule], where: str | None = None) -> type[Rule]:
    """Add a rule kind to the registry (usable as a class decorator). A kind names one class."""
    cls = _checked(cls, where or f"{cls.__module__}:{cls.__qualname__}")
    known = _REGISTRY.get(cls.kind)
    if known is not None and known is not cls:
        raise RuleConfigError(
            f"rule kind {cls.kind!r} is already {known.__module__}:{known.__qualname__}; "
            f"{cls.__module__}:{cls.__qualname__} cannot take it"
        )
    _REGISTRY[cls.kind] = cls
    return cls


def _load(target: str, where: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # not found, or the module fails: the file names it
        raise RuleConfigError(f"{where}: cannot import {module_name!r}: {exc}") from exc
    found: Any = module
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise RuleConfigError(f"{where}: {module_name!r} has no {attr!r}") from None
    return found


def rule_class(kind: str) -> type[Rule]:
    """The class of a kind: registered, a ``windvane.rules`` entry point, or a dotted path
    ``module:Class`` (whose ``kind`` is then the rule's kind)."""
    found = _REGISTRY.get(kind)
    if found is not None:
        return found
    if ":" in kind:
        if not re.fullmatch(r"[\w.]+:[\w.]+", kind):
            raise RuleConfigError(f"rule {kind!r}: a dotted path is `module.name:Class`")
        where = f"rule {kind!r}"
        return register(_checked(_load(kind, where), where), where)
    entry = _entry_points().get(kind)
    if entry is None:
        known = known_kinds()
        raise RuleConfigError(
            f"unknown rule {kind!r}; known: {', '.join(known)}{_did_you_mean(kind, known)}"
        )
    where = f"entry point {kind!r} ({entry.value}) of group {ENTRY_POINT_GROUP}"
    try:
        cls = entry.load()
    except Exception as exc:
        raise RuleConfigError(f"{where}: cannot load: {exc}") from exc
    cls = _checked(cls, where)
    if cls.kind != kind:
        raise RuleConfigError(f"{where}: the class says kind {cls.kind!r}")
    return register(cls, where)


# -- one configured rule ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One configured rule: kind, parameters, symbol patterns, severity and its identity.

    ``name`` is what the file set (``name = "hs-critical"``) or None. ``id`` is the rule's
    identity among the rules of a book: its state key and the ``rule_name`` of its alerts.
    :class:`RuleBook` assigns it: the name when set, else :attr:`key` (``#2``... when two
    unnamed rules share kind and parameters). ``id_tag`` is the ``id`` when it is not the
    default :attr:`key`, else None: alert ids include it, so rules with a default identity
    keep the alert ids they always had. ``params`` are checked and converted
    (:func:`rule_from_mapping`); ``rule`` is the kind's :class:`Rule` made with them.
    """

    kind: str
    params: tuple[tuple[str, Any], ...]
    symbols: tuple[str, ...] = ("*",)
    severity: str = "warning"
    name: str | None = None
    id: str = ""
    id_tag: str | None = None
    rule: Rule = field(init=False, repr=False, compare=False)
    live: bool = field(init=False, repr=False, compare=False)  # evaluated on live prices
    # the rule's bound methods (hot path: one call per rule and final close)
    on_close: Callable[[RuleState, Snapshot], Sequence[Firing]] = field(
        init=False, repr=False, compare=False
    )
    on_live: Callable[[RuleState, Snapshot, str], Sequence[Firing]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        rule = rule_class(self.kind)(**dict(self.params))
        object.__setattr__(self, "rule", rule)
        object.__setattr__(self, "live", bool(rule.live))
        object.__setattr__(self, "on_close", rule.on_close)
        object.__setattr__(self, "on_live", rule.on_live)

    @property
    def key(self) -> str:
        """Kind and parameters: the default identity of an unnamed rule."""
        return self.kind + ":" + ",".join(f"{k}={v}" for k, v in self.params)

    def param(self, name: str) -> Any:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(name)

    def matches(self, symbol: str) -> bool:
        return any(fnmatch.fnmatchcase(symbol, pattern) for pattern in self.symbols)

    def sma_windows(self) -> tuple[int, ...]:
        return tuple(self.rule.windows().sma)

    def extreme_windows(self) -> tuple[int, ...]:
        return tuple(self.rule.windows().extremes)

    def summary(self, alert: Mapping[str, Any]) -> str:
        return self.rule.summary(alert)


def rule_from_mapping(raw: Mapping[str, Any]) -> RuleSpec:
    """One ``[[rules]]`` table: ``rule`` (a kind or ``module:Class``), its parameters,
    ``symbols``, ``severity`` and an optional ``name``. The spec's ``id`` is left to
    :class:`RuleBook`. Errors name the rule (its ``name``, else its kind)."""
    data = dict(raw)
    kind = data.pop("rule", None)
    if kind is None:
        raise RuleConfigError(
            f'a rule needs `rule = "<kind>"`; known kinds: {", ".join(known_kinds())}'
        )
    if not isinstance(kind, str):
        raise RuleConfigError(f"rule must be a string (a kind or module:Class), not {kind!r}")
    rule_name = data.pop("name", None)
    cls = rule_class(kind)
    kind = cls.kind
    who = f"rule {rule_name!r} ({kind})" if isinstance(rule_name, str) else f"rule {kind}"
    if rule_name is not None and (not isinstance(rule_name, str) or not rule_name.strip()):
        raise RuleConfigError(f"{who}: name must be a non-empty string, not {rule_name!r}")
    symbols = data.pop("symbols", ["*"])
    if isinstance(symbols, str):
        symbols = [symbols]
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise RuleConfigError(f"{who}: symbols must be a list of glob patterns, not {symbols!r}")
    severity = data.pop("severity", "warning")
    if severity not in SEVERITIES:
        raise RuleConfigError(f"{who}: severity must be one of {SEVERITIES}, not {severity!r}")
    declared: dict[str, Param] = {p.name: p for p in cls.parameters}
    unknown = sorted(set(data) - set(declared))
    if unknown:
        words = [*declared, *COMMON_KEYS]
        plural = "s" if len(unknown) > 1 else ""
        raise RuleConfigError(
            f"{who}: unknown parameter{plural} {', '.join(map(repr, unknown))}"
            f"{_did_you_mean(unknown[0], words)}; {kind} takes "
            f"{', '.join(sorted(declared)) or 'no parameters'}, {', '.join(COMMON_KEYS)}"
        )
    missing = [name for name, p in declared.items() if p.required and name not in data]
    if missing:
        raise RuleConfigError(
            f"{who}: missing required parameter{'s' if len(missing) > 1 else ''} "
            + ", ".join(f"{name!r} ({declared[name].expects()})" for name in missing)
        )
    params: dict[str, Any] = {}
    for name, param in declared.items():
        try:
            params[name] = param.convert(data[name]) if name in data else param.default
        except ValueError as exc:
            raise RuleConfigError(f"{who}: {exc}") from None
    ordered = tuple(sorted(params.items()))
    try:
        return RuleSpec(kind, ordered, tuple(symbols), severity, rule_name)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, RuleConfigError):
            raise
        raise RuleConfigError(f"{who}: {exc}") from exc


def _did_you_mean(word: object, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*rules[ \t]*\]\]")


def header_lines(text: str) -> list[int]:
    """The line (1-based) of each ``[[rules]]`` header of a rules file, in order. tomllib
    gives no positions; a header is a line that starts with ``[[rules]]`` outside a
    multi-line string."""
    lines: list[int] = []
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if in_string is None and _HEADER.match(line):
            lines.append(number)
        for quote in re.findall(r'"""|\'\'\'', line):
            if in_string is None:
                in_string = quote
            elif in_string == quote:
                in_string = None
    return lines


def identify(specs: Sequence[RuleSpec]) -> tuple[RuleSpec, ...]:
    """Give every rule its own identity: its ``name``, or its kind and parameters (``key``),
    with ``#2``, ``#3``... for further unnamed rules of the same kind and parameters (in file
    order: name such rules to keep their state when the file is reordered)."""
    named = [s.name for s in specs if s.name is not None]
    dupes = sorted({n for n in named if named.count(n) > 1})
    if dupes:
        raise RuleConfigError(f"rule names must be unique; repeated: {', '.join(dupes)}")
    taken = set(named)
    seen: dict[str, int] = {}
    out = []
    for spec in specs:
        if spec.name is not None:
            tag = None if spec.name == spec.key else spec.name
            out.append(dataclasses.replace(spec, id=spec.name, id_tag=tag))
            continue
        seen[spec.key] = seen.get(spec.key, 0) + 1
        ident = spec.key if seen[spec.key] == 1 else f"{spec.key}#{seen[spec.key]}"
        if ident in taken:
            raise RuleConfigError(f"rule name {ident!r} is also the identity of an unnamed rule")
        taken.add(ident)
        out.append(dataclasses.replace(spec, id=ident, id_tag=None if ident == spec.key else ident))
    return tuple(out)


@dataclass(frozen=True)
class RuleBook:
    """The configured rules; :meth:`for_symbol` selects those whose patterns match."""

    rules: tuple[RuleSpec, ...]
    _cache: dict[str, tuple[RuleSpec, ...]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", identify(self.rules))

    @classmethod
    def default(cls) -> RuleBook:
        return cls((rule_from_mapping({"rule": "ma_cross"}),))

    @classmethod
    def from_toml(cls, text: str, source: str | None = None) -> RuleBook:
        """A rules file: one or more ``[[rules]]`` tables and nothing else. An entry's error
        names its line (``source:line:``, or ``line N:`` without a source), its number and
        the rule."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleConfigError(f"not TOML: {exc}") from exc
        unknown = sorted(set(doc) - {"rules"})
        if unknown:
            raise RuleConfigError(
                f"unknown top-level key {unknown[0]!r}{_did_you_mean(unknown[0], ['rules'])}; "
                "a rules file holds [[rules]] tables"
            )
        entries = doc.get("rules")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            if entries is None:
                raise RuleConfigError("no rules: define at least one [[rules]] table")
            raise RuleConfigError("`rules` must be an array of tables ([[rules]])")
        if not entries:
            raise RuleConfigError("no rules: define at least one [[rules]] table")
        lines = header_lines(text)
        if len(lines) != len(entries):  # not all [[rules]] headers (an inline array)
            lines = []
        specs = []
        for i, entry in enumerate(entries, 1):
            try:
                specs.append(rule_from_mapping(entry))
            except RuleConfigError as exc:
                at = ""
                if lines:
                    at = f"{source}:{lines[i - 1]}: " if source else f"line {lines[i - 1]}: "
                raise _Located(f"{at}[[rules]] #{i}: {exc}") from exc
        return cls(tuple(specs))

    @classmethod
    def load(cls, path: str | Path | None) -> RuleBook:
        """The rules of a file (errors name it), or the default rule when ``path`` is None."""
        if path is None:
            return cls.default()
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise RuleConfigError(f"{path}: no such rules file") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleConfigError(f"{path}: cannot read the rules file: {exc}") from exc
        try:
            return cls.from_toml(text, str(path))
        except _Located as exc:
            if str(exc).startswith(f"{path}:"):
                raise RuleConfigError(str(exc)) from exc.__cause__
            raise RuleConfigError(f"{path}: {exc}") from exc.__cause__
        except RuleConfigError as exc:
            raise RuleConfigError(f"{path}: {exc}") from exc

    def for_symbol(self, symbol: str) -> tuple[RuleSpec, ...]:
        found = self._cache.get(symbol)
        if found is None:
            found = tuple(r for r in self.rules if r.matches(symbol))
            if len(self._cache) < 100_000:
                self._cache[symbol] = found
        return found

    def sma_windows(self) -> Sequence[int]:
        return sorted({n for r in self.rules for n in r.sma_windows()})

    def extreme_windows(self) -> Sequence[int]:
        return sorted({n for r in self.rules for n in r.extreme_windows()})
