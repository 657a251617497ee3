"""Chinese text as the extractors read it: one script and ASCII digits, same length.

Hong Kong and Taiwan news is written in Traditional characters, mainland news in Simplified;
digits, ``％`` and separators come full-width as often as not. Every Chinese rule (aliases,
units, claims) is written once in Simplified over ASCII digits, and runs on the text this
module returns. The result has exactly the length of the input, character for character, so
an offset found in it is an offset in the original (spans and quoted text stay the reader's).
"""

from __future__ import annotations

from functools import cache

import opencc

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # ！..～ -> !..~
_FULLWIDTH[0x3000] = 0x20  # ideographic space


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified (OpenCC), character for character."""
    if text.isascii():
        return text
    converted: str = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    # a phrase rule changed the length: convert one character at a time instead
    return "".join(c if c.isascii() else (_t2s().convert(c) or c)[:1] for c in text)


def to_halfwidth(text: str) -> str:
    """Full-width ASCII forms (``１２３``, ``％``, ``，``) as ASCII, same length."""
    return text.translate(_FULLWIDTH)


def normalize(text: str) -> str:
    """What every Chinese rule reads: Simplified script, ASCII digits and signs."""
    return to_halfwidth(to_simplified(text))


def has_han(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


__all__ = ["has_han", "normalize", "to_halfwidth", "to_simplified"]
