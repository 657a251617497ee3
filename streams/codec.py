"""The one place where JSON meets bytes: orjson with fixed options."""

from __future__ import annotations

from typing import Any

import orjson

_DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS


class DecodeError(ValueError):
    """Bytes that are not one UTF-8 JSON document."""


def dumps(value: Any) -> bytes:
    """UTF-8 JSON bytes. Non-finite floats become null (orjson's rule); non-string keys are
    written as strings. ``OPT_NON_STR_KEYS`` slows every call (2.5x on a signal), so it is
    used only for a value that needs it: the same bytes either way."""
    try:
        out = orjson.dumps(value)
    except orjson.JSONEncodeError:
        out = orjson.dumps(value, option=_DUMP_OPTIONS)
    # orjson's bytes keep its ~8 KiB working buffer as their allocation: 50,000 signals held
    # for a commit took ~400 MB of RSS (1.1 GB peak in the quote benchmark). A copy of exactly
    # the length frees the buffer at once, and costs less than it saves (the allocator reuses
    # the same buffer for the next call).
    return bytes(memoryview(out))


def raw(text: bytes) -> Any:
    """``text`` (valid JSON) to be written by :func:`dumps` as it is (orjson's Fragment)."""
    return orjson.Fragment(text)


def dumps_sorted(value: Any) -> bytes:
    """UTF-8 JSON bytes with the keys of every object sorted (for content hashes)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def loads(raw: bytes | bytearray | memoryview | str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(str(exc)) from exc


def dumps_line(value: Any) -> str:
    """One JSON line (text) for terminals and files."""
    return orjson.dumps(value, option=_DUMP_OPTIONS).decode()
