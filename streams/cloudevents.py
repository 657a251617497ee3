"""CloudEvents 1.0 on every output record: the Kafka protocol binding's binary content mode.

The record value stays the event data, byte for byte; the attributes go in Kafka headers
(``schemas/cloudevents-headers.json``, ``asyncapi.yaml``):

==================  ===========================================================================
``ce_specversion``  ``1.0``
``ce_id``           deterministic (a replay gives the same ids): the alert id; a signal's
                    ``<symbol>/<day>/final`` (a day's final snapshot) or ``<symbol>/<day>/``
                    + SHA-256 of its value, 32 hex digits (a provisional one);
                    ``<claim_id>/<verdict>``; the enriched article's id; a dead letter's
                    ``<topic>/<partition>/<offset>`` of the input it rejected (deployed topic
                    name); ``<alert id>/<sink>`` for an undeliverable alert
``ce_source``       ``windvane/<app id>/<topic>`` (a relative URI-reference; the logical topic
                    name, without ``WINDVANE_TOPIC_PREFIX``)
``ce_type``         ``dev.windvane.signal.v1`` (``dev.windvane.signal.compact.v1`` under
                    ``WINDVANE_SIGNAL_SHAPE=compact``), ``dev.windvane.alert.<rule kind>.v1``,
                    ``dev.windvane.article.enriched.v1``, ``dev.windvane.article.claim.v1``,
                    ``dev.windvane.deadletter.v1``, ``dev.windvane.undeliverable.v1``
``ce_time``         the value's own time (RFC 3339): ``event_time`` (signals, alerts),
                    ``enriched_at``, ``checked_at``, ``failed_at``
``ce_subject``      the symbol (signals, alerts), the article id (enriched, claims), the alert
                    id (undeliverable), the rejected record's key (dead letters; none without)
``ce_dataschema``   the ``$id`` of the value's schema, version included (:func:`dataschema`)
``content-type``    ``application/json``
==================  ===========================================================================

Two steps, so that the hot path makes no header lists it may throw away: the pipelines tag
each output record with its :data:`Event` (type, id, time, subject: what only the typed
output knows), and the producer side (:class:`CloudEvents`, which knows the app id) turns
it into the header list when it sends, from constant headers encoded once per (topic,
type). Internal topics (repartition, changelogs) get no event and no headers.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from streams import codec
from streams.config import (
    ALERTS,
    ALERTS_UNDELIVERABLE,
    ARTICLES_CLAIMS,
    ARTICLES_ENRICHED,
    DEADLETTER,
    QUOTES_SIGNALS,
)
from streams.domain.outputs import Alert, Signal

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
SCHEMA_BASE = "https://windvane.dev/schemas/"

DATASCHEMA: dict[str, str] = {
    QUOTES_SIGNALS: SCHEMA_BASE + "signal/v1",
    ALERTS: SCHEMA_BASE + "alert/v1",
    DEADLETTER: SCHEMA_BASE + "deadletter/v1",
    ARTICLES_ENRICHED: SCHEMA_BASE + "enriched/v1",
    ARTICLES_CLAIMS: SCHEMA_BASE + "claim/v1",
    ALERTS_UNDELIVERABLE: SCHEMA_BASE + "undeliverable/v1",
}
"""Output topic (logical name) -> the ``$id`` of its value's schema (``schemas/*.json``; a
test checks they agree). Only these topics get CloudEvents headers."""

SIGNAL_TYPE = "dev.windvane.signal.v1"
SIGNAL_COMPACT_TYPE = "dev.windvane.signal.compact.v1"
SIGNAL_TYPES = {"full": SIGNAL_TYPE, "compact": SIGNAL_COMPACT_TYPE}
"""The ``ce_type`` of each signal shape (``WINDVANE_SIGNAL_SHAPE``, :mod:`streams.signal_shapes`)."""

TYPE_DATASCHEMA: dict[str, str] = {SIGNAL_COMPACT_TYPE: SCHEMA_BASE + "signal-compact/v1"}
"""The event types whose value has another schema than their topic's usual one
(:data:`DATASCHEMA`): a topic that carries two shapes, told apart by ``ce_type``."""
ENRICHED_TYPE = "dev.windvane.article.enriched.v1"
CLAIM_TYPE = "dev.windvane.article.claim.v1"
DEADLETTER_TYPE = "dev.windvane.deadletter.v1"
UNDELIVERABLE_TYPE = "dev.windvane.undeliverable.v1"

Event = tuple[str, str, str, str | None]
"""What an output record's headers need beyond its topic: (``ce_type``, ``ce_id``,
``ce_time``, ``ce_subject`` or None)."""

Header = tuple[str, bytes]


def dataschema(topic: str, type_: str) -> str:
    """``ce_dataschema`` of an event of ``type_`` on ``topic`` (logical name)."""
    return TYPE_DATASCHEMA.get(type_) or DATASCHEMA[topic]


def alert_type(rule: str) -> str:
    """``dev.windvane.alert.<rule kind>.v1``; a kind's characters outside ``[a-z0-9_]``
    (a plug-in's name) become ``_``, as the type's pattern requires."""
    found = _ALERT_TYPES.get(rule)
    if found is None:
        found = _ALERT_TYPES[rule] = f"dev.windvane.alert.{_NOT_NAME.sub('_', rule.lower())}.v1"
    return found


_ALERT_TYPES: dict[str, str] = {}
_NOT_NAME = re.compile(r"[^a-z0-9_]")


# -- events of the typed outputs and of the other records ---------------------------------


def signal_event(signal: Signal, value: bytes, type_: str = SIGNAL_TYPE) -> Event:
    """A snapshot has no id field: a day's final snapshot (one per symbol and day: a day once
    final takes no more input) is ``<symbol>/<day>/final``; a provisional one (each tick that
    changes the day's bar) is ``<symbol>/<day>/`` + the first 32 hex digits of the SHA-256 of
    its value as written (no wall-clock field in it, so a replay gives the same; two identical
    snapshots are the same event; the compact shape's value hashes to another id than the
    full one). Daily bars give final snapshots only: no hash on that path. ``type_`` is the
    shape's (:data:`SIGNAL_TYPES`)."""
    if signal.final:
        ident = f"{signal.symbol}/{signal.trading_day}/final"
    else:
        ident = f"{signal.symbol}/{signal.trading_day}/{hashlib.sha256(value).hexdigest()[:32]}"
    return (type_, ident, signal.event_time, signal.symbol)


def alert_event(alert: Alert) -> Event:
    return (alert_type(alert.rule), alert.id, alert.event_time, alert.symbol)


def enriched_event(article_id: str, enriched_at: str) -> Event:
    return (ENRICHED_TYPE, article_id, enriched_at, article_id)


def claim_event(article_id: str, claim: dict[str, Any], verdict: str, checked_at: str) -> Event:
    """A pending claim is published twice (``pending``, then its verdict): one event each.
    A claim without a string ``claim_id`` (a ``claims.bysymbol`` record windvane did not
    write) is named by the hash of its content instead."""
    claim_id = claim.get("claim_id")
    if not isinstance(claim_id, str):
        claim_id = hashlib.sha256(codec.dumps_sorted([article_id, claim])).hexdigest()[:24]
    return (CLAIM_TYPE, f"{claim_id}/{verdict}", checked_at, article_id)


def deadletter_event(
    topic: str, partition: int | None, offset: int | None, raw: bytes, key: str | None, at: str
) -> Event:
    """The rejected input's position; offline (no position), the hash of its bytes."""
    where = hashlib.sha256(raw).hexdigest()[:32] if offset is None else f"{partition}/{offset}"
    return (DEADLETTER_TYPE, f"{topic}/{where}", at, key)


def undeliverable_event(alert_id: str, sink: str, failed_at: str) -> Event:
    return (UNDELIVERABLE_TYPE, f"{alert_id}/{sink}", failed_at, alert_id)


# -- the producer side ----------------------------------------------------------------------


class CloudEvents:
    """The headers of the records one app sends (``ce_source`` names its app id)."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self._fixed: dict[tuple[str, str], tuple[Header, ...]] = {}

    def source(self, topic: str) -> str:
        """``ce_source`` of the records of ``topic`` (logical name)."""
        return f"windvane/{self.app_id}/{topic}"

    def fixed(self, topic: str, type_: str) -> tuple[Header, ...]:
        """The headers every record of ``topic`` and ``type_`` shares, encoded once."""
        found = self._fixed.get((topic, type_))
        if found is None:
            found = self._fixed[(topic, type_)] = (
                ("ce_specversion", SPECVERSION.encode()),
                ("ce_source", self.source(topic).encode()),
                ("ce_type", type_.encode()),
                ("ce_dataschema", dataschema(topic, type_).encode()),
                ("content-type", CONTENT_TYPE.encode()),
            )
        return found

    def headers(self, topic: str, event: Event | None) -> list[Header] | None:
        """The Kafka headers of a record of ``topic`` (logical name) tagged ``event``; None
        for a record with no event (internal topics)."""
        if event is None:
            return None
        type_, id_, time, subject = event
        fixed = self._fixed.get((topic, type_)) or self.fixed(topic, type_)
        if subject is None:
            return [*fixed, ("ce_id", id_.encode()), ("ce_time", time.encode())]
        return [
            *fixed,
            ("ce_id", id_.encode()),
            ("ce_time", time.encode()),
            ("ce_subject", subject.encode()),
        ]
