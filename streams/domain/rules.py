"""Alert rules evaluated on indicator snapshots: ``ma_cross``, ``sma_cross``, ``drawdown``,
``streak``, ``new_high`` and ``new_low``. Pure: state is a small dict per (rule, symbol).

Directions are ``above``/``below``; confirmations ``close`` (final daily close),
``intraday`` (provisional, first live crossing of the day) and ``withdrawn`` (the close
did not confirm an intraday alert).
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import functools
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from streams.domain.indicators import SCALE, Snapshot

RuleState = dict[str, Any]
Evaluator = Callable[["RuleSpec", RuleState, Snapshot, bool], list["AlertDraft"]]

KINDS = ("ma_cross", "sma_cross", "drawdown", "streak", "new_high", "new_low")
SEVERITIES = ("info", "warning", "critical")


class RuleConfigError(ValueError):
    """A rules file that does not describe valid rules."""


@dataclass(slots=True)
class AlertDraft:
    """What a rule says; the engine adds identity, symbol, day and times."""

    rule: str
    params: dict[str, Any]
    rule_name: str
    id_tag: str | None  # the rule name when it is not the default (kind:params): in the id
    direction: str
    confirmation: str
    price: float
    sma: float | None
    prev_price: float | None
    prev_sma: float | None
    severity: str
    details: dict[str, Any] = field(default_factory=dict)


def _px(units: int | None) -> float | None:
    return None if units is None else units / SCALE


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One configured rule: kind, parameters, symbol patterns, severity and its identity.

    ``name`` is what the file set (``name = "hs-critical"``) or None. ``id`` is the rule's
    identity among the rules of a book: its state key and the ``rule_name`` of its alerts.
    :class:`RuleBook` assigns it: the name when set, else :attr:`key` (``#2``... when two
    unnamed rules share kind and parameters). ``id_tag`` is the ``id`` when it is not the
    default :attr:`key`, else None: alert ids include it, so rules with a default identity
    keep the alert ids they always had.
    """

    kind: str
    params: tuple[tuple[str, Any], ...]
    symbols: tuple[str, ...] = ("*",)
    severity: str = "warning"
    name: str | None = None
    id: str = ""
    id_tag: str | None = None
    # derived once from kind and params (hot path): the parameters by name, windows as ints
    # and decimal thresholds also as exact fractions (``pct_exact``, ``hysteresis_exact``)
    arg: dict[str, Any] = field(init=False, repr=False, compare=False)
    live: bool = field(init=False, repr=False, compare=False)  # evaluated on live prices
    _evaluate: Evaluator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        arg = dict(self.params)
        for name in ("window", "short", "long", "days"):
            if name in arg:
                arg[name] = int(arg[name])
        for name in ("hysteresis", "pct"):
            if name in arg:
                arg[name + "_exact"] = _fraction(arg[name])
        object.__setattr__(self, "arg", arg)
        live = self.kind == "ma_cross" and arg.get("trigger") == "intraday"
        object.__setattr__(self, "live", live)
        object.__setattr__(self, "_evaluate", _EVALUATORS[self.kind])

    @property
    def key(self) -> str:
        """Kind and parameters: the default identity of an unnamed rule."""
        return self.kind + ":" + ",".join(f"{k}={v}" for k, v in self.params)

    def param(self, name: str) -> Any:
        for key, value in self.params:  # a handful of pairs: no dict per call (hot path)
            if key == name:
                return value
        raise KeyError(name)

    def matches(self, symbol: str) -> bool:
        return any(fnmatch.fnmatchcase(symbol, pattern) for pattern in self.symbols)

    # -- windows this rule needs ----------------------------------------------------
    def sma_windows(self) -> tuple[int, ...]:
        if self.kind == "ma_cross":
            return (int(self.param("window")),)
        if self.kind == "sma_cross":
            return (int(self.param("short")), int(self.param("long")))
        return ()

    def extreme_windows(self) -> tuple[int, ...]:
        if self.kind in ("drawdown", "new_high", "new_low"):
            return (int(self.param("window")),)
        return ()

    # -- evaluation -------------------------------------------------------------------
    def on_close(self, state: RuleState, snap: Snapshot) -> list[AlertDraft]:
        """Evaluate on a final daily close; updates ``state`` in place."""
        return self._evaluate(self, state, snap, True)

    def on_live(self, state: RuleState, snap: Snapshot, day: str) -> list[AlertDraft]:
        """Evaluate on a live (provisional) price; only ``ma_cross`` with ``intraday``
        (:attr:`live`)."""
        if not self.live:
            return []
        return _ma_cross_live(self, state, snap, day)

    def draft(self, direction: str, confirmation: str, price: float, **kw: Any) -> AlertDraft:
        return AlertDraft(
            rule=self.kind,
            params=dict(self.params),
            rule_name=self.id,
            id_tag=self.id_tag,
            direction=direction,
            confirmation=confirmation,
            price=price,
            sma=kw.get("sma"),
            prev_price=kw.get("prev_price"),
            prev_sma=kw.get("prev_sma"),
            severity=self.severity,
            details=kw.get("details", {}),
        )


@functools.lru_cache(maxsize=256)
def _fraction(value: Any) -> Fraction:
    """A configured decimal parameter as an exact fraction, parsed once (hot path)."""
    return Fraction(str(value))


def _side(close: int, total: int, n: int, band: Fraction) -> str | None:
    """``above``/``below`` the SMA widened by the hysteresis band; None inside it (exact)."""
    lhs = close * n
    if not band:
        return "above" if lhs > total else "below" if lhs < total else None
    # close * n against total * (1 +- p/q), in integers: multiplied by q > 0
    p, q = band.numerator, band.denominator
    lhs *= q
    if lhs > total * (q + p):
        return "above"
    if lhs < total * (q - p):
        return "below"
    return None


def _drawn_down(high: int, close: int, pct: Fraction) -> bool:
    """``(high - close) / high * 100 >= pct``, exactly, in integers (``high`` > 0; else as
    the fraction does: it raises)."""
    if high <= 0:
        return Fraction(high - close, high) * 100 >= pct
    return (high - close) * 100 * pct.denominator >= pct.numerator * high


def _ma_cross(spec: RuleSpec, state: RuleState, snap: Snapshot, final: bool) -> list[AlertDraft]:
    arg = spec.arg
    n = arg["window"]
    total = snap.sums.get(n)
    out: list[AlertDraft] = []
    if total is None:
        return out
    band = arg["hysteresis_exact"]
    side = _side(snap.close, total, n, band)
    sma = total / (n * SCALE)
    price = snap.close / SCALE
    prev_side = state.get("side")
    intraday = state.pop("intraday", None)  # {"day":..., "direction":...} set by _ma_cross_live
    crossed = side is not None and prev_side is not None and side != prev_side
    if crossed:
        out.append(
            spec.draft(
                str(side),
                "close",
                price,
                sma=sma,
                prev_price=state.get("prev_price"),
                prev_sma=state.get("prev_sma"),
            )
        )
    if intraday is not None and not (crossed and side == intraday["direction"]):
        out.append(
            spec.draft(
                intraday["direction"],
                "withdrawn",
                price,
                sma=sma,
                prev_price=state.get("prev_price"),
                prev_sma=state.get("prev_sma"),
                details={"intraday_price": intraday["price"]},
            )
        )
    if side is not None:
        state["side"] = side
    state["prev_price"] = price
    state["prev_sma"] = sma
    return out


def _ma_cross_live(spec: RuleSpec, state: RuleState, snap: Snapshot, day: str) -> list[AlertDraft]:
    n = spec.arg["window"]
    total = snap.sums.get(n)
    prev_side = state.get("side")
    if total is None or prev_side is None or state.get("intraday_day") == day:
        return []
    side = _side(snap.close, total, n, spec.arg["hysteresis_exact"])
    if side is None or side == prev_side:
        return []
    price = snap.close / SCALE
    state["intraday_day"] = day  # once per bar
    state["intraday"] = {"direction": side, "price": price}
    return [
        spec.draft(
            side,
            "intraday",
            price,
            sma=total / (n * SCALE),
            prev_price=state.get("prev_price"),
            prev_sma=state.get("prev_sma"),
        )
    ]


def _sma_cross(spec: RuleSpec, state: RuleState, snap: Snapshot, final: bool) -> list[AlertDraft]:
    short, long = spec.arg["short"], spec.arg["long"]
    s_total, l_total = snap.sums.get(short), snap.sums.get(long)
    if s_total is None or l_total is None:
        return []
    lhs, rhs = s_total * long, l_total * short
    side = "above" if lhs > rhs else "below" if lhs < rhs else None
    s_sma, l_sma = s_total / (short * SCALE), l_total / (long * SCALE)
    out: list[AlertDraft] = []
    prev_side = state.get("side")
    if side is not None and prev_side is not None and side != prev_side:
        out.append(
            spec.draft(
                side,
                "close",
                snap.close / SCALE,
                sma=l_sma,
                prev_price=state.get("prev_price"),
                prev_sma=state.get("prev_sma"),
                details={
                    "short_sma": s_sma,
                    "prev_short_sma": state.get("prev_short_sma"),
                    "cross": "golden" if side == "above" else "death",
                },
            )
        )
    if side is not None:
        state["side"] = side
    state.update(prev_price=snap.close / SCALE, prev_sma=l_sma, prev_short_sma=s_sma)
    return out


def _drawdown(spec: RuleSpec, state: RuleState, snap: Snapshot, final: bool) -> list[AlertDraft]:
    n = spec.arg["window"]
    high = snap.highs.get(n)
    if high is None:
        return []
    threshold = spec.arg["pct_exact"]
    inside = _drawn_down(high, snap.close, threshold)
    was = state.get("inside")
    state["inside"] = inside
    if was is None or was == inside:
        return []
    dd = Fraction(high - snap.close, high) * 100
    return [
        spec.draft(
            "below" if inside else "above",
            "close",
            snap.close / SCALE,
            prev_price=_px(snap.prev_close),
            details={"drawdown_pct": float(dd), "rolling_high": high / SCALE},
        )
    ]


def _streak(spec: RuleSpec, state: RuleState, snap: Snapshot, final: bool) -> list[AlertDraft]:
    n = spec.arg["days"]
    if abs(snap.streak) != n:
        return []
    return [
        spec.draft(
            "above" if snap.streak > 0 else "below",
            "close",
            snap.close / SCALE,
            prev_price=_px(snap.prev_close),
            details={"streak": snap.streak},
        )
    ]


def _new_extreme(spec: RuleSpec, state: RuleState, snap: Snapshot, final: bool) -> list[AlertDraft]:
    n = spec.arg["window"]
    high = spec.kind == "new_high"
    prior = (snap.prev_highs if high else snap.prev_lows).get(n)
    if prior is None:
        return []
    if (snap.close > prior) if high else (snap.close < prior):
        return [
            spec.draft(
                "above" if high else "below",
                "close",
                snap.close / SCALE,
                prev_price=_px(snap.prev_close),
                details={"prior_extreme": prior / SCALE},
            )
        ]
    return []


_EVALUATORS: dict[str, Evaluator] = {
    "ma_cross": _ma_cross,
    "sma_cross": _sma_cross,
    "drawdown": _drawdown,
    "streak": _streak,
    "new_high": _new_extreme,
    "new_low": _new_extreme,
}

_DEFAULTS: dict[str, dict[str, Any]] = {
    "ma_cross": {"window": 60, "hysteresis": 0.0, "trigger": "close"},
    "sma_cross": {"short": 20, "long": 60},
    "drawdown": {"pct": 10.0, "window": 250},
    "streak": {"days": 5},
    "new_high": {"window": 250},
    "new_low": {"window": 250},
}


def rule_from_mapping(raw: Mapping[str, Any]) -> RuleSpec:
    """One ``[[rules]]`` table: ``rule`` kind, its parameters, ``symbols``, ``severity`` and an
    optional ``name``. The spec's ``id`` is left to :class:`RuleBook`."""
    data = dict(raw)
    kind = data.pop("rule", None)
    if kind is None:
        raise RuleConfigError(f'a rule needs `rule = "<kind>"`; known kinds: {", ".join(KINDS)}')
    if kind not in _EVALUATORS:
        raise RuleConfigError(
            f"unknown rule {kind!r}; known: {', '.join(KINDS)}{_did_you_mean(kind, KINDS)}"
        )
    rule_name = data.pop("name", None)
    if rule_name is not None and (not isinstance(rule_name, str) or not rule_name.strip()):
        raise RuleConfigError(f"{kind}: name must be a non-empty string, not {rule_name!r}")
    symbols = data.pop("symbols", ["*"])
    if isinstance(symbols, str):
        symbols = [symbols]
    severity = data.pop("severity", "warning")
    if severity not in SEVERITIES:
        raise RuleConfigError(f"severity must be one of {SEVERITIES}, not {severity!r}")
    params = dict(_DEFAULTS[kind])
    unknown = set(data) - set(params)
    if unknown:
        first = sorted(unknown)[0]
        raise RuleConfigError(
            f"{kind}: unknown parameters {sorted(unknown)}; {kind} takes "
            f"{', '.join(sorted(params))}, name, symbols, severity"
            f"{_did_you_mean(first, [*params, 'name', 'symbols', 'severity'])}"
        )
    params.update(data)
    for name, value in params.items():
        if name == "trigger":
            if value not in ("close", "intraday"):
                raise RuleConfigError(f"{kind}: trigger must be 'close' or 'intraday'")
        elif name in ("hysteresis", "pct"):
            if not isinstance(value, int | float) or value < 0:
                raise RuleConfigError(f"{kind}: {name} must be a number >= 0")
            params[name] = float(value)
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise RuleConfigError(f"{kind}: {name} must be a whole number >= 1")
    if kind == "sma_cross" and params["short"] >= params["long"]:
        raise RuleConfigError("sma_cross: short must be less than long")
    return RuleSpec(kind, tuple(sorted(params.items())), tuple(symbols), severity, rule_name)


def _did_you_mean(word: object, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
    def from_toml(cls, text: str) -> RuleBook:
        """A rules file: one or more ``[[rules]]`` tables and nothing else."""
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
        specs = []
        for i, entry in enumerate(entries, 1):
            try:
                specs.append(rule_from_mapping(entry))
            except RuleConfigError as exc:
                raise RuleConfigError(f"[[rules]] #{i}: {exc}") from exc
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
            return cls.from_toml(text)
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
