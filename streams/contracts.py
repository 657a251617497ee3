"""Wire contracts: the JSON Schemas in ``schemas/``, compiled once, checked at the edge.

They are read as package data (``streams/schemas`` is a symlink to the top-level
``schemas/``; the wheel holds the files), so an installed wheel needs no checkout.

fastjsonschema compiles to Python code (draft-07 semantics); the schemas use only keywords
whose meaning is the same in draft 2020-12, which tests check with ``jsonschema``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import fastjsonschema

from streams.codec import DecodeError, loads
from streams.domain.articles.article import Article, ArticleError, article_from_dict
from streams.domain.quotes import Quote, Rejected, plain_quote, quote_from_dict

SCHEMA_DIR: Traversable = resources.files("streams").joinpath("schemas")
SCHEMA_NAMES = (
    "quote",
    "signal",
    "signal-compact",
    "alert",
    "deadletter",
    "article",
    "enriched",
    "claim",
    "undeliverable",
    "cloudevents-headers",
)

_PRICE_FIELDS = {"data.price", "data.close", "data.open", "data.high", "data.low"}


def schema_document(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = loads(SCHEMA_DIR.joinpath(f"{name}.json").read_bytes())
    return doc


@cache
def validator(name: str) -> Callable[[Any], Any]:
    doc = dict(schema_document(name))
    doc.pop("$schema", None)  # compiled with draft-07 semantics (see module docstring)
    compiled: Callable[[Any], Any] = fastjsonschema.compile(doc)
    return compiled


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    """One JSON object, or :class:`Rejected` (``invalid_json`` or ``schema``)."""
    try:
        data = loads(raw)
    except DecodeError as exc:
        raise Rejected("invalid_json", str(exc)) from exc
    if not isinstance(data, dict):
        raise Rejected("schema", f"{what} is a JSON object, not {type(data).__name__}")
    return data


def decode_quote(raw: bytes) -> Quote:
    """Bytes of a ``quotes.raw`` value to a typed quote, or :class:`Rejected` with a reason."""
    data = _json_object(raw, "a quote")
    plain = plain_quote(data)  # the common case, without the validator
    if plain is not None:
        return plain
    try:
        validator("quote")(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        reason = (
            "non_positive"
            if exc.rule == "exclusiveMinimum" and exc.name in _PRICE_FIELDS
            else "schema"
        )
        raise Rejected(reason, exc.message) from exc
    return quote_from_dict(data)


@cache
def _article_shape(shape: str) -> Callable[[Any], Any]:
    """One branch of ``article.json``'s ``oneOf``, compiled alone: its errors name the field
    at fault ("data.body must be string") where the ``oneOf`` could only say "0 matches"."""
    doc = dict(schema_document("article"))
    doc.pop("$schema", None)
    doc.pop("oneOf")
    doc["$ref"] = f"#/$defs/{shape}"
    compiled: Callable[[Any], Any] = fastjsonschema.compile(doc)
    return compiled


def decode_article(raw: bytes) -> Article:
    """Bytes of an ``articles.raw`` value to a typed article, or :class:`Rejected`.

    Both shapes of ``article.json`` are accepted: a record with ``uri`` and no ``id`` is an
    EventRegistry record, any other a windvane one; each is validated against its own shape
    (the same document consumers read), then mapped."""
    data = _json_object(raw, "an article")
    shape = "eventregistry" if "uri" in data and "id" not in data else "windvane"
    try:
        _article_shape(shape)(data)
        return article_from_dict(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise Rejected("schema", exc.message) from exc
    except ArticleError as exc:
        raise Rejected("schema", str(exc)) from exc


def decode_claim_envelope(raw: bytes) -> dict[str, Any]:
    """Bytes of a ``claims.bysymbol`` value (``{"article_id", "claim"}``, written by the
    article path) to the envelope, or :class:`Rejected`: a record there that windvane did
    not write gets a reason, not an internal error (which restores the task)."""
    data = _json_object(raw, "a claim envelope")
    claim = data.get("claim")
    if not isinstance(data.get("article_id"), str) or not isinstance(claim, dict):
        raise Rejected("schema", "a claim envelope has a string article_id and a claim object")
    symbol = claim.get("symbol")
    if symbol is not None and not isinstance(symbol, str):
        raise Rejected("schema", "claim.symbol is a string or null")
    return data
