"""Versioned, compatible schemas: each schema's ``$id`` ends in its version, and each one is
backward compatible for a consumer with its copy in ``schemas/released/`` (the last release):
no field removed, no type narrowed, no new required field, enums only grown. A change that
breaks that is a new version (a new ``$id``, a new topic or event type), not an edit.

The checker (tests/schemas.py) is tested here too, on synthetic breaking changes of the real
schemas: each kind of break must be caught, wherever it sits (nested objects, arrays,
``$defs`` behind a ``$ref``, ``oneOf`` branches, ``if``/``then``/``else``)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from streams.contracts import SCHEMA_NAMES
from tests.schemas import ID_PREFIX, RELEASED, SCHEMAS, Break, breaks, load

pytestmark = pytest.mark.unit

RELEASED_NAMES = sorted(p.stem for p in RELEASED.glob("*.json"))


def test_every_schema_has_a_versioned_id() -> None:
    names = sorted(p.stem for p in SCHEMAS.glob("*.json"))
    assert names == sorted(SCHEMA_NAMES)
    for name in names:
        schema_id = load(SCHEMAS / f"{name}.json")["$id"]
        assert re.fullmatch(re.escape(ID_PREFIX + name) + r"/v[1-9][0-9]*", schema_id), schema_id


def test_the_released_schemas_are_the_current_ones_last_release() -> None:
    """Every released schema is still there; new ones may be (released with the next)."""
    assert RELEASED_NAMES, "schemas/released/ holds the last release's schemas"
    assert set(RELEASED_NAMES) <= set(SCHEMA_NAMES)


@pytest.mark.parametrize("name", RELEASED_NAMES)
def test_each_schema_is_backward_compatible_with_its_release(name: str) -> None:
    released = load(RELEASED / f"{name}.json")
    current = load(SCHEMAS / f"{name}.json")
    # the same version: a breaking change is a new version on a new topic, not an edit here
    assert current["$id"] == released["$id"]
    assert breaks(released, current) == []


# -- the checker itself --------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def edited(name: str, edit: Edit) -> list[Break]:
    """The breaks the checker finds in ``edit`` applied to a copy of the released schema."""
    released = load(RELEASED / f"{name}.json")
    current = copy.deepcopy(released)
    edit(current)
    return breaks(released, current)


def _drop(d: dict[str, Any], key: str) -> None:
    del d["properties"][key]
    if key in d.get("required", []):
        d["required"].remove(key)


BREAKING: list[tuple[str, str, Edit, str, str]] = [
    # (schema, kind of break, edit, where, why)
    ("alert", "removed", lambda s: _drop(s, "rule_name"), "/rule_name", "optional field removed"),
    ("alert", "removed", lambda s: _drop(s, "price"), "/price", "required field removed"),
    ("alert", "removed", lambda s: s["required"].remove("sma"), "/sma", "no longer required"),
    (
        "alert",
        "narrowed",
        lambda s: s["properties"]["sma"].update(type="number"),
        "/sma",
        "null no longer allowed",
    ),
    (
        "deadletter",
        "narrowed",
        lambda s: s["properties"]["size"].update(type="string"),
        "/size",
        "integer became string",
    ),
    (
        "alert",
        "narrowed",
        lambda s: s["properties"]["price"].update(type="integer"),
        "/price",
        "number became integer",
    ),
    (
        "alert",
        "narrowed",
        lambda s: s["properties"]["params"].update(enum=[{}]),
        "/params",
        "an enum where any value was allowed",
    ),
    (
        "alert",
        "required",
        lambda s: s["required"].append("rule_name"),
        "/rule_name",
        "optional field now required",
    ),
    (
        "alert",
        "required",
        lambda s: (
            s["properties"].update(market={"type": "string"}),
            s["required"].append("market"),
        ),
        "/market",
        "new required field",
    ),
    (
        "alert",
        "enum",
        lambda s: s["properties"]["severity"]["enum"].remove("critical"),
        "/severity",
        "enum shrunk",
    ),
    (
        "cloudevents-headers",
        "enum",
        lambda s: s["properties"]["ce_specversion"].update(enum=["1.1"]),
        "/ce_specversion",
        "enum value replaced",
    ),
    # nested: an object inside an object
    (
        "deadletter",
        "removed",
        lambda s: _drop(s["properties"]["source"], "offset"),
        "/source/offset",
        "nested field removed",
    ),
    (
        "claim",
        "enum",
        lambda s: s["properties"]["claim"]["properties"]["date_basis"]["enum"].remove(None),
        "/claim/date_basis",
        "nested enum shrunk",
    ),
    (
        "claim",
        "required",
        lambda s: s["properties"]["claim"]["required"].append("date"),
        "/claim/date",
        "nested new required field",
    ),
    # behind a $ref, inside array items
    (
        "enriched",
        "enum",
        lambda s: s["$defs"]["metric"]["properties"]["kind"]["enum"].remove("count"),
        "/metrics/[]/kind",
        "enum shrunk in an array item's $def",
    ),
    (
        "enriched",
        "removed",
        lambda s: _drop(s["$defs"]["entity"], "matched"),
        "/entities/[]/matched",
        "field removed in an array item's $def",
    ),
    (
        "enriched",
        "narrowed",
        lambda s: s["properties"]["claims"]["items"].update(type="string"),
        "/claims/[]",
        "array items narrowed",
    ),
    # behind a $ref, in additionalProperties
    (
        "signal",
        "narrowed",
        lambda s: s["$defs"]["windowed"]["additionalProperties"].update(type="number"),
        "/sma/*",
        "map values narrowed",
    ),
    # oneOf branches (article.json: windvane | eventregistry)
    (
        "article",
        "removed",
        lambda s: _drop(s["$defs"]["eventregistry"], "dateTimePub"),
        "/oneOf[1]/dateTimePub",
        "field removed in a oneOf branch",
    ),
    (
        "article",
        "narrowed",
        lambda s: s["$defs"]["optional_string"].update(type="string"),
        "/oneOf[0]/source",
        "shared $def narrowed",
    ),
    (
        "article",
        "required",
        lambda s: s["$defs"]["windvane"]["required"].append("lang"),
        "/oneOf[0]/lang",
        "new required field in a oneOf branch",
    ),
    (
        "article",
        "removed",
        lambda s: s["oneOf"].pop(),
        "/oneOf[1]",
        "oneOf branch removed",
    ),
    (
        "article",
        "narrowed",
        lambda s: s["$defs"]["eventregistry"]["properties"]["source"]["oneOf"][2].update(
            properties={"uri": {"type": "string"}, "title": {"$ref": "#/$defs/optional_string"}}
        ),
        "/oneOf[1]/source/oneOf[2]/uri",
        "nested oneOf branch narrowed",
    ),
    # if/then/else (quote.json: daily bar | tick)
    (
        "quote",
        "removed",
        lambda s: _drop(s["else"], "seq"),
        "/else/seq",
        "field removed in else",
    ),
    (
        "quote",
        "required",
        lambda s: s["then"]["required"].append("open"),
        "/then/open",
        "new required field in then",
    ),
]


@pytest.mark.parametrize(
    ("name", "kind", "edit", "where", "why"), BREAKING, ids=[b[4] for b in BREAKING]
)
def test_the_checker_catches_each_kind_of_break(
    name: str, kind: str, edit: Edit, where: str, why: str
) -> None:
    found = edited(name, edit)
    assert (kind, where) in {(b.kind, b.path) for b in found}, found


def _add_optional(s: dict[str, Any]) -> None:
    s["properties"]["market"] = {"type": "string"}


COMPATIBLE: list[tuple[str, Edit, str]] = [
    ("alert", lambda s: None, "unchanged"),
    ("alert", _add_optional, "new optional field"),
    ("alert", lambda s: s["properties"]["rule"]["enum"].append("volume_spike"), "enum grown"),
    ("alert", lambda s: s["properties"]["price"].update(type=["number", "null"]), "type widened"),
    ("deadletter", lambda s: s["properties"]["size"].update(type="number"), "integer to number"),
    ("alert", lambda s: s["properties"]["details"].pop("type"), "type restriction dropped"),
    ("alert", lambda s: s["properties"]["rule"].pop("enum"), "enum restriction dropped"),
    ("alert", lambda s: s.update(description="reworded"), "description edited"),
    ("enriched", lambda s: _add_optional(s["$defs"]["metric"]), "new optional field in a $def"),
    ("article", lambda s: s["oneOf"].append({"type": "object"}), "oneOf branch added"),
    ("quote", lambda s: s["else"]["properties"].update(venue={"type": "string"}), "tick field"),
]


@pytest.mark.parametrize(("name", "edit", "why"), COMPATIBLE, ids=[c[2] for c in COMPATIBLE])
def test_the_checker_accepts_compatible_changes(name: str, edit: Edit, why: str) -> None:
    assert edited(name, edit) == []
