"""The one place where JSON meets bytes: orjson with fixed options."""

from __future__ import annotations

from typing import Any

import orjson

_DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS


class DecodeError(ValueError):
    """Bytes that are not one UTF-8 JSON document."""


def dumps(value: Any) -> bytes:
    """UTF-8 JSON bytes. Non-finite floats become null (orjson's rule)."""
    return orjson.dumps(value, option=_DUMP_OPTIONS)


def loads(raw: bytes | bytearray | memoryview | str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(str(exc)) from exc


def dumps_line(value: Any) -> str:
    """One JSON line (text) for terminals and files."""
    return orjson.dumps(value, option=_DUMP_OPTIONS).decode()
