"""The JSON Schemas of ``schemas/`` for tests: a ``jsonschema`` validator (independent of the
fastjsonschema the edge uses), and the backward-compatibility check of a schema against its
released version.

Compatible for a consumer means: a consumer written against the released schema still reads
every record valid under the current one. The check walks both documents together
(``properties``, ``required``, ``type``, ``enum``/``const``, ``items``,
``additionalProperties``, ``oneOf``/``anyOf`` branch by branch, ``if``/``then``/``else``, and
local ``$ref``s into ``$defs``) and reports each of these breaks:

* ``removed``: a field of the released schema is gone, or is no longer required (a consumer
  that read it may not find it);
* ``narrowed``: a value type the released schema allowed is no longer allowed (``integer``
  is covered by ``number``), or a constraint appeared where there was none (a new ``enum``,
  a new ``oneOf``);
* ``required``: a field is required that was not (records of the released version lack it);
* ``enum``: an enum value of the released schema is gone (enums may only grow).

String formats, patterns, lengths and bounds are not compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO = Path(__file__).resolve().parent.parent
ASYNCAPI = REPO / "asyncapi.yaml"


def load_asyncapi() -> dict[str, Any]:
    """The topic catalogue, parsed (YAML)."""
    loaded: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    return loaded


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` of the AsyncAPI document ``doc`` with a local ``$ref`` followed."""
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/"), ref
    target: Any = doc
    for part in ref[2:].split("/"):
        target = target[part]
    return resolve(doc, target)


SCHEMAS = REPO / "schemas"
RELEASED = SCHEMAS / "released"
ID_PREFIX = "https://windvane.dev/schemas/"


def load(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def validator(name: str) -> jsonschema.Draft202012Validator:
    """A draft 2020-12 validator of ``schemas/<name>.json``, formats checked."""
    schema = load(SCHEMAS / f"{name}.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@dataclass(frozen=True)
class Break:
    kind: str  # removed | narrowed | required | enum
    path: str  # where, as a JSON pointer into the released schema's instances
    detail: str


Schema = dict[str, Any] | bool
_ANY: dict[str, Any] = {}


def breaks(released: dict[str, Any], current: dict[str, Any]) -> list[Break]:
    """Every way ``current`` breaks a consumer of ``released`` (empty: compatible)."""
    return _Compare(released, current).walk(released, current, "")


def _types(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types the schema allows, or None when ``type`` does not restrict them."""
    kind = schema.get("type")
    if kind is None:
        return None
    return {kind} if isinstance(kind, str) else set(kind)


def _values(schema: dict[str, Any]) -> list[Any] | None:
    """The values ``enum``/``const`` allow, or None when neither restricts them."""
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return None if enum is None else list(enum)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    for kind, name in ((float, "number"), (str, "string"), (list, "array"), (dict, "object")):
        if isinstance(value, kind):
            return name
    raise ValueError(f"not a JSON value: {value!r}")


def _covered(kind: str, kinds: set[str]) -> bool:
    return kind in kinds or (kind == "integer" and "number" in kinds)


class _Compare:
    def __init__(self, released: dict[str, Any], current: dict[str, Any]) -> None:
        self.roots = (released, current)
        self.seen: set[tuple[int, int]] = set()
        self.kept: list[tuple[dict[str, Any], dict[str, Any]]] = []  # ids in seen stay unique

    @staticmethod
    def _resolve(schema: Schema, root: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with its local ``$ref`` followed (siblings of the ``$ref`` kept)."""
        if schema is True:
            return _ANY
        if schema is False:
            return {"not": {}}
        for _ in range(64):
            ref = schema.get("$ref")
            if ref is None:
                return schema
            if not ref.startswith("#"):
                raise ValueError(f"only local $refs are compared, not {ref!r}")
            target: Any = root
            for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings}
        raise ValueError(f"$ref loop at {ref!r}")

    def walk(self, old: Schema, new: Schema, path: str) -> list[Break]:
        if path.count("/") > 200:
            raise ValueError(f"schemas nested too deep (a recursive $ref?) at {path[:200]}")
        old = self._resolve(old, self.roots[0])
        new = self._resolve(new, self.roots[1])
        pair = (id(old), id(new))
        if pair in self.seen:
            return []
        self.seen.add(pair)
        self.kept.append((old, new))
        out: list[Break] = []
        if new.get("not") == {} and old.get("not") != {}:
            return [Break("narrowed", path, "allows nothing now")]

        old_types, new_types = _types(old), _types(new)
        if old_types is None and _values(old) is not None:  # an enum's values have types
            old_types = {_json_type(v) for v in _values(old) or []}
        if new_types is not None:
            if old_types is None:
                out.append(
                    Break("narrowed", path, f"any type before, now only {sorted(new_types)}")
                )
            else:
                lost = sorted(t for t in old_types if not _covered(t, new_types))
                if lost:
                    out.append(Break("narrowed", path, f"type {lost} no longer allowed"))

        old_values, new_values = _values(old), _values(new)
        if new_values is not None:
            if old_values is None:
                out.append(Break("narrowed", path, f"any value before, now only {new_values}"))
            else:
                lost_values = [v for v in old_values if v not in new_values]
                if lost_values:
                    out.append(Break("enum", path, f"enum values {lost_values} removed"))

        old_props = old.get("properties", {})
        new_props = new.get("properties", {})
        for name, sub in old_props.items():
            if name not in new_props:
                out.append(Break("removed", f"{path}/{name}", "field removed"))
            else:
                out += self.walk(sub, new_props[name], f"{path}/{name}")
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        for name in sorted(new_required - old_required):
            out.append(Break("required", f"{path}/{name}", "required now, not before"))
        for name in sorted(old_required - new_required):
            if name in new_props or name not in old_props:  # (a removed field: said above)
                out.append(Break("removed", f"{path}/{name}", "no longer required"))

        for keyword, where in (("items", "[]"), ("additionalProperties", "*")):
            if keyword in old or keyword in new:
                out += self.walk(old.get(keyword, True), new.get(keyword, True), f"{path}/{where}")

        for keyword in ("oneOf", "anyOf"):
            old_branches, new_branches = old.get(keyword), new.get(keyword)
            if new_branches is None:
                continue  # a constraint dropped: wider
            if old_branches is None:
                out.append(Break("narrowed", path, f"{keyword} added"))
                continue
            for i, branch in enumerate(old_branches):
                if i >= len(new_branches):
                    out.append(Break("removed", f"{path}/{keyword}[{i}]", "branch removed"))
                else:
                    out += self.walk(branch, new_branches[i], f"{path}/{keyword}[{i}]")

        if "if" in old or "if" in new:
            if old.get("if") != new.get("if"):
                out.append(Break("narrowed", path, "if condition changed"))
            for keyword in ("then", "else"):
                out += self.walk(
                    old.get(keyword, True), new.get(keyword, True), f"{path}/{keyword}"
                )
        return out
