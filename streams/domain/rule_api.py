"""What a rule is: one class behind :class:`Rule` (built-in kinds and plug-ins alike).

A rule declares its ``kind`` (the ``rule`` of its alerts), its parameters (:class:`Param`:
name, type, default, bounds), the windows the indicator engine must keep for it
(:meth:`Rule.windows`), its evaluation on a final daily close (:meth:`Rule.on_close`) and,
when :attr:`Rule.live`, on a live price (:meth:`Rule.on_live`), and its one-line summary
(:meth:`Rule.summary`, carried by each alert as ``summary``).

Evaluation is pure: a rule reads a :class:`~streams.domain.indicators.Snapshot` and its own
state dict (JSON values only: it is persisted in the changelog with the symbol's state) and
returns :class:`Firing` values; the engine adds the identity, symbol, day and times.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from streams.domain.indicators import Snapshot

RuleState = dict[str, Any]
KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]*")  # a rule kind is also a CloudEvents type part


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The default of a parameter the rules file must set."""

_TYPE_WORDS = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a rule: its name, type (``int``, ``float``, ``str`` or ``bool``), its
    default (:data:`REQUIRED` when the file must set it), an optional lower bound
    (``minimum``, inclusive) and an optional set of allowed values (``choices``)."""

    name: str
    type: type
    default: Any = REQUIRED
    minimum: float | None = None
    choices: tuple[Any, ...] = ()
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def convert(self, value: Any) -> Any:
        """``value`` as this parameter's type, or ValueError saying what is expected."""
        kind = self.type
        ok = (
            isinstance(value, int) and not isinstance(value, bool)
            if kind is int
            else isinstance(value, int | float) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind)
        )
        if ok and kind is float:
            value = float(value)
        if ok and self.choices and value not in self.choices:
            ok = False
        if ok and self.minimum is not None and value < self.minimum:
            ok = False
        if not ok:
            raise ValueError(f"{self.name} must be {self.expects()}, not {_shown(value)}")
        return value

    def expects(self) -> str:
        if self.choices:
            return " or ".join(repr(c) for c in self.choices)
        word = _TYPE_WORDS.get(self.type, self.type.__name__)
        if self.minimum is not None:
            bound = int(self.minimum) if float(self.minimum).is_integer() else self.minimum
            word += f" >= {bound}"
        return word


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    return repr(value)


@dataclass(frozen=True, slots=True)
class Windows:
    """What the indicator engine keeps for a rule: SMA lengths (running sums, in
    ``Snapshot.sums``) and rolling-extreme lengths (``Snapshot.highs``/``lows`` and
    ``prev_highs``/``prev_lows``). Anything else a rule keeps in its own state."""

    sma: tuple[int, ...] = ()
    extremes: tuple[int, ...] = ()


@dataclass(slots=True)
class Firing:
    """What a rule says when it fires: ``direction`` (``above``/``below``), the price, and
    optionally the SMA it crossed and the previous day's values; ``details`` are the rule's
    own (JSON values). ``confirmation`` is ``close`` on a final close, ``intraday`` on a live
    price, ``withdrawn`` when a close did not confirm an intraday firing."""

    direction: str
    price: float
    confirmation: str = "close"
    sma: float | None = None
    prev_price: float | None = None
    prev_sma: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Rule(ABC):
    """A kind of alert rule. Subclasses set :attr:`kind` and :attr:`parameters` and implement
    :meth:`on_close` and :meth:`summary`; the rest has defaults.

    An instance is one configured rule: the parameters of its ``[[rules]]`` entry, checked and
    converted, are its attributes (``self.window``), and :attr:`params` holds them all.
    """

    kind: ClassVar[str]
    parameters: ClassVar[tuple[Param, ...]] = ()
    live: bool = False  # evaluated on live (provisional) prices too

    def __init__(self, **params: Any) -> None:
        declared = {p.name for p in self.parameters}
        unknown = sorted(set(params) - declared)
        if unknown:
            raise TypeError(f"{self.kind} takes no parameter {unknown[0]!r}")
        self.params: dict[str, Any] = params
        for name, value in params.items():
            setattr(self, name, value)
        self.setup()

    def setup(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Check combinations of parameters (raise ValueError) and precompute; no-op here."""

    def windows(self) -> Windows:
        """The windows the indicator engine must keep for this rule."""
        return Windows()

    @abstractmethod
    def on_close(self, state: RuleState, snap: Snapshot) -> Sequence[Firing]:
        """Evaluate on a final daily close; update ``state`` in place."""

    def on_live(self, state: RuleState, snap: Snapshot, day: str) -> Sequence[Firing]:
        """Evaluate on a live price of trading day ``day`` (only when :attr:`live`)."""
        return ()

    @abstractmethod
    def summary(self, alert: Mapping[str, Any]) -> str:
        """One line for people, from the alert's own fields (its wire form)."""


def number(value: float | None) -> str:
    """A price or level in a summary: two decimals, ``n/a`` for none."""
    return "n/a" if value is None else f"{value:.2f}"
