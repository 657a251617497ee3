"""Raw record in, output records out: decode -> domain -> encode, with dead-lettering.

Shared by the stream tasks (:mod:`streams.runtime`) and ``windvane offline`` so both give the
same records. No Kafka or Faust imports: state lives in plain mappings the caller owns.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from streams import codec
from streams.cloudevents import SIGNAL_TYPES, Event, alert_event, deadletter_event, signal_event
from streams.config import (
    ALERTS,
    ARTICLES_BYHASH,
    ARTICLES_RAW,
    CLAIMS_BYSYMBOL,
    DEADLETTER,
    QUOTES_RAW,
    QUOTES_SIGNALS,
)
from streams.contracts import decode_quote
from streams.domain.outputs import Alert, DayRecord, Signal
from streams.domain.quotes import QuoteEngine, Rejected, SymbolState
from streams.domain.reasons import ARTICLE_REASONS, INTERNAL_ERROR, QUOTE_REASONS, REASONS
from streams.domain.timeutil import iso_utc
from streams.signal_shapes import SignalShape, compact, fits_compact

log = logging.getLogger(__name__)

MAX_DEADLETTER_ORIGINAL = 256 * 1024  # bytes of the original kept in a dead letter

DEADLETTER_REASONS: dict[str, tuple[str, ...]] = {
    QUOTES_RAW: QUOTE_REASONS,
    CLAIMS_BYSYMBOL: ARTICLE_REASONS,
    ARTICLES_RAW: ARTICLE_REASONS,
    ARTICLES_BYHASH: ARTICLE_REASONS,
}
"""The dead-letter reasons of each input topic (logical name) a worker consumes."""

StateStore = MutableMapping[bytes, bytes]
SymbolStore = MutableMapping[bytes, SymbolState]
"""Live symbol states by symbol key. The caller persists them (the tasks encode each touched
state once per commit, not once per record)."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """Where an input record came from (partition/offset are None offline)."""

    topic: str
    partition: int | None
    offset: int | None
    timestamp: int | None = None


class Origin(Protocol):
    """Where an input record came from: a :class:`SourceRecord`, or the consumer's record
    itself (the tasks pass it as it is: no object per record)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int | None: ...
    @property
    def offset(self) -> int | None: ...
    @property
    def timestamp(self) -> int | None: ...


@dataclass(slots=True)
class OutRecord:
    topic: str  # logical topic name (see streams.config)
    key: bytes | None
    value: bytes
    # what its CloudEvents headers need (streams.cloudevents); None on internal topics
    event: Event | None = None


@dataclass(slots=True)
class Result:
    status: Literal["ok", "duplicate", "deadletter"]
    records: list[OutRecord] = field(default_factory=list)
    reason: str | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    event_ms: int | None = None  # event time of the input, for the processing-lag metric


def deadletter_record(
    key: bytes | None, value: bytes, source: Origin, reason: str, detail: str, now_ms: int
) -> OutRecord:
    """The dead letter for a rejected input: original bytes, origin, reason."""
    kept = value[:MAX_DEADLETTER_ORIGINAL]
    try:
        text: str | None = kept.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    key_text: str | None = None
    if key is not None:
        try:
            key_text = key.decode("utf-8")
        except UnicodeDecodeError:
            key_text = base64.b64encode(key).decode()
    failed_at = iso_utc(now_ms)
    body = {
        "reason": reason,
        "detail": detail[:2000],
        "source": {
            "topic": source.topic,
            "partition": source.partition,
            "offset": source.offset,
            "timestamp": source.timestamp,
        },
        "key": key_text,
        "value_b64": base64.b64encode(kept).decode(),
        "value_text": text,
        "truncated": len(value) > MAX_DEADLETTER_ORIGINAL,
        "size": len(value),
        "failed_at": failed_at,
    }
    event = deadletter_event(
        source.topic, source.partition, source.offset, kept, key_text, failed_at
    )
    return OutRecord(DEADLETTER, key, codec.dumps(body), event)


def dead_letter(
    key: bytes | None, raw: bytes, source: Origin, reason: str, detail: str, now: int
) -> Result:
    """The result of a rejected input: its dead letter and nothing else."""
    return Result("deadletter", [deadletter_record(key, raw, source, reason, detail, now)], reason)


def guarded(
    step: Callable[[], Result], key: bytes | None, raw: bytes, source: Origin, now: int
) -> Result:
    """Run one record's step; a rejection or a bug becomes a dead letter, never a crash."""
    try:
        return step()
    except Exception as exc:
        return failed(exc, key, raw, source, now)


def failed(exc: Exception, key: bytes | None, raw: bytes, source: Origin, now: int) -> Result:
    """The dead letter of a record whose step raised ``exc``: a :class:`Rejected` with a known
    reason gives that reason; anything else is a bug, dead-lettered as ``internal_error``."""
    if isinstance(exc, Rejected):
        if exc.reason in REASONS:
            return dead_letter(key, raw, source, exc.reason, exc.detail, now)
        # a reason outside the known set is a bug (and would be a new metric label)
        log.error("unknown dead-letter reason %r: add it to streams.domain.reasons", exc.reason)
        detail = f"unknown reason {exc.reason!r}: {exc.detail}"
        return dead_letter(key, raw, source, INTERNAL_ERROR, detail, now)
    # a bug must not stop the stream: park the record, loudly
    log.exception(
        "internal error on %s[%s]@%s", source.topic, source.partition, source.offset, exc_info=exc
    )
    detail = f"{type(exc).__name__}: {exc}"
    return dead_letter(key, raw, source, INTERNAL_ERROR, detail, now)


class QuotePipeline:
    """``quotes.raw`` records to ``quotes.signals``, ``alerts`` and ``deadletter`` records."""

    SINKS = (QUOTES_SIGNALS, ALERTS, DEADLETTER)
    """The topics :meth:`process` writes to (logical names): what ``windvane topology``
    shows (tests/unit/test_topology.py checks that the records go there and nowhere else)."""

    def __init__(
        self, engine: QuoteEngine, clock: Callable[[], int], signal_shape: SignalShape = "full"
    ) -> None:
        """``signal_shape`` (``WINDVANE_SIGNAL_SHAPE``): ``full`` signals (``signal/v1``) or
        ``compact`` ones (``signal-compact/v1``, :mod:`streams.signal_shapes`), each with
        its own ``ce_type``."""
        if signal_shape not in SIGNAL_TYPES:
            raise ValueError(f"signal shape {signal_shape!r}: expected full or compact")
        windows = (engine.signal_windows, engine.signal_extremes, engine.drawdown_window)
        if signal_shape == "compact" and not fits_compact(*windows):
            raise ValueError(f"the compact signal shape has fixed windows, not {windows}")
        self.engine = engine
        self.clock = clock
        self._signal_wire: Callable[[Signal], dict[str, Any]] = (
            compact if signal_shape == "compact" else Signal.to_wire
        )
        self._signal_type = SIGNAL_TYPES[signal_shape]

    def process(
        self,
        key: bytes | None,
        value: bytes | None,
        source: Origin,
        store: SymbolStore,
        days: StateStore | None = None,
    ) -> Result:
        """One ``quotes.raw`` record. ``days`` (optional) receives each final day's signal,
        keyed ``symbol|YYYY-MM-DD``, for claim checks."""
        now = self.clock()
        raw = value if value is not None else b""
        try:  # guarded(), without a closure per record
            return self._process(key, raw, store, days, now)
        except Exception as exc:
            return failed(exc, key, raw, source, now)

    def _process(
        self, key: bytes | None, raw: bytes, store: SymbolStore, days: StateStore | None, now: int
    ) -> Result:
        quote = decode_quote(raw)
        symbol_key = quote.symbol.encode("utf-8")
        if key != symbol_key:
            shown = None if key is None else key[:64].decode("utf-8", "replace")
            raise Rejected(
                "key_mismatch",
                f"record key {shown!r} is not the symbol {quote.symbol!r}; "
                "quotes.raw is keyed by symbol so each symbol's state lives in one partition",
            )
        # apply() raises Rejected before it changes anything, and changes the state in place
        state, outcome = self.engine.apply(store.get(symbol_key), quote, now)
        if outcome.duplicate:
            return Result("duplicate", [], None, [])
        store[symbol_key] = state
        records: list[OutRecord] = []
        alerts: list[dict[str, Any]] = []
        dumps, signal_wire, signal_type = codec.dumps, self._signal_wire, self._signal_type
        for em in outcome.emitted:  # every output is keyed by the quote's symbol
            if type(em) is Signal:
                value = dumps(signal_wire(em))
                event = signal_event(em, value, signal_type)
                records.append(OutRecord(QUOTES_SIGNALS, symbol_key, value, event))
                if days is not None and em.final:
                    days[day_key(quote.symbol, em.trading_day)] = day_record(em.day_record())
            else:
                wire = em.to_wire()
                records.append(
                    OutRecord(ALERTS, symbol_key, dumps(wire), alert_event(cast(Alert, em)))
                )
                alerts.append(wire)
        return Result("ok", records, None, alerts, outcome.event_ms)


def day_record(record: DayRecord) -> bytes:
    """A final day's record (:class:`~streams.domain.outputs.DayRecord`) as bytes
    (``codec.dumps`` already returns them at exactly their length)."""
    return codec.dumps(record.to_wire())


def day_key(symbol: str, day: str) -> bytes:
    """Key of a symbol's final day in the day-record table."""
    return f"{symbol}|{day}".encode()


def pending_key(symbol: str | bytes) -> bytes:
    """Key of a symbol's pending claims in the day-record table (same partition, same
    changelog: a restore brings back the days and the claims waiting for them together).
    Takes the record key as it is, so the quote path builds it without decoding."""
    return (symbol if isinstance(symbol, bytes) else symbol.encode()) + b"|pending"
