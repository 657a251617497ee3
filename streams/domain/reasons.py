"""Why a record is dead-lettered: the fixed set of ``reason`` values, per input path.

A dead letter's ``reason`` is also the ``reason`` label of ``windvane_deadletters_total``,
so the set must stay small and known: every ``Rejected`` raised in ``streams/`` names one of
these (a unit test reads the sources to check), and a reason outside the set is
dead-lettered as ``internal_error`` (a bug) by :func:`streams.pipeline.guarded`.
"""

from __future__ import annotations

INVALID_JSON = "invalid_json"  # not one UTF-8 JSON document (streams.contracts)
SCHEMA = "schema"  # JSON, but not the topic's contract (streams.contracts, the mappers)
INTERNAL_ERROR = "internal_error"  # the code raised on the record: a bug (streams.pipeline)

QUOTE_REASONS = (
    INVALID_JSON,
    SCHEMA,
    "non_positive",  # a price <= 0
    "non_finite",  # a price that is NaN or infinite
    "bad_timestamp",  # a tick time that is not an instant in 1970..2100
    "key_mismatch",  # the record key is not the quote's symbol (streams.pipeline)
    "late",  # a quote of a day already final, or older than the symbol's current day
    "closed_session",  # dated on a day the instrument's exchange calendar has no session
    "no_trading",  # an equity's daily bar with volume 0 repeating the previous close
    INTERNAL_ERROR,
)
"""``quotes.raw``."""

ARTICLE_REASONS = (INVALID_JSON, SCHEMA, INTERNAL_ERROR)
"""``articles.raw``, and the internal ``articles.byhash`` and ``claims.bysymbol``."""

REASONS = frozenset((*QUOTE_REASONS, *ARTICLE_REASONS))


def known(reason: str | None) -> str:
    """``reason`` if it is one of :data:`REASONS`, else ``internal_error``."""
    if reason is not None and reason in REASONS:
        return reason
    return INTERNAL_ERROR
