"""Chinese text as the extractors read it: one script and ASCII digits, same length.

Hong Kong and Taiwan news is written in Traditional characters, mainland news in Simplified;
digits, ``％`` and separators come full-width as often as not. Every Chinese rule (aliases,
units, claims) is written once in Simplified over ASCII digits, and runs on the text this
module returns. The result has exactly the length of the input, character for character, so
an offset found in it is an offset in the original (spans and quoted text stay the reader's).
"""

from __future__ import annotations

import re
from functools import cache

import opencc

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # ！..～ -> !..~
_FULLWIDTH[0x3000] = 0x20  # ideographic space
_FULLWIDTH_RUN = re.compile("[\uff01-\uff5e\u3000]+")
_HAS_HAN = re.compile("[\u3400-\u9fff\uf900-\ufaff]")


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified (OpenCC), character for character."""
    if text.isascii() or not _HAS_HAN.search(text):
        return text
    converted: str = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    # a phrase rule changed the length: convert one character at a time instead
    return "".join(c if c.isascii() else (_t2s().convert(c) or c)[:1] for c in text)


def to_halfwidth(text: str) -> str:
    """Full-width ASCII forms (``１２３``, ``％``, ``，``) as ASCII, same length."""
    # only the runs that need it: str.translate walks every character through a dict
    return _FULLWIDTH_RUN.sub(_halfwidth_run, text)


def _halfwidth_run(m: re.Match[str]) -> str:
    return m.group().translate(_FULLWIDTH)


def normalize(text: str) -> str:
    """What every Chinese rule reads: Simplified script, ASCII digits and signs."""
    return to_halfwidth(to_simplified(text))


__all__ = ["normalize", "to_halfwidth", "to_simplified"]
