"""Entities: Hong Kong stock codes in their usual forms, other exchange tickers, and
instrument names through the registry's aliases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from streams.domain.articles.zh import normalize
from streams.domain.instruments import Registry

# "TENCENT (00700)", "(00700.HK)", "QYUNS-B(02509)", "0700.HK", "HK.00700", "腾讯控股(00700)"
_HK_CODE = re.compile(
    r"(?=[（(\dHS])"  # where a code form can start: skips other positions in one test (3x)
    r"(?:[（(]\s*(?P<code>\d{4,5})(?:\.HK)?\s*[)）]"
    # 騰訊(700), 中芯(981): Hong Kong papers drop the leading zeros; not 今(22)日, 本(7)月
    r"|(?<=[\u4e00-\u9fff])(?<![今本昨明前去上下同当當首次第])[（(](?P<code5>\d{3})[)）](?![日月年号號])"
    r"|(?<![\w.])(?P<code2>\d{4,5})[.-]HK\b"  # 0700.HK, 0700-HK
    r"|\bHK\.(?P<code3>\d{4,5})\b"
    r"|(?:HKEX|SEHK|HK)\s*:\s*(?P<code4>\d{1,5})\b)",
)
# The name written just before a bracketed code: "TENCENT (00700)", "腾讯控股(00700)",
# "阿里巴巴-SW(09988)"; searched only in the few characters before a code (a name group
# in front of the code pattern made the engine try it at every position of the text).
_NAME_BEFORE = re.compile(
    r"(?:[A-Z][A-Z0-9&.\-' ]{0,40}?|[\u4e00-\u9fff]{2,12}(?:-[A-Z]{1,3})?)\s*$"
)
_NAME_WINDOW = 48
_YEAR_IN_BRACKETS = re.compile(r"\s*(?:年|财年|財年|年度)")
_YEAR_IN_BRACKETS_BEFORE = re.compile(r"[今去明前后後本][（(]")
# Reuters-style instrument codes of other exchanges: (NVDA.O), (005930.KS), (600519.SS)
_RIC = re.compile(
    r"[（(](?P<ric>[A-Z0-9]{1,6}\.(?:O|N|OQ|K|KS|KQ|SS|SZ|T|L|PA|DE|AS|SW|TO|AX|SI|TW|BO|NS))[)）]"
)


# "Hang Seng" is the Hang Seng Index, but not in "Hang Seng Consumer Index"
_IN_LONGER_INDEX = re.compile(r"\s+(?:[A-Z][A-Za-z&-]*\s+){1,3}Index\b")


def hk_symbol(code: str) -> str:
    """Any HK code form as the registry's symbol: 00700, 700, 0700 -> 0700.HK."""
    return f"{int(code):04d}.HK"


@dataclass
class Entity:
    symbol: str
    kind: str  # stock | index | platform | ticker
    name: str | None = None
    code: str | None = None
    mentions: int = 0
    matched: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "kind": self.kind,
            "name": self.name,
            "code": self.code,
            "mentions": self.mentions,
            "matched": self.matched[:5],
        }


class EntityExtractor:
    """Codes by pattern (any language), names by the registry's aliases."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        # Aliases are matched on normalized text (Simplified script, ASCII digits: see zh.py),
        # so one Simplified or Traditional alias covers both scripts.
        aliases: dict[str, str] = {}
        for inst in registry.instruments.values():
            for alias in {inst.symbol, *(inst.aliases), *([inst.name] if inst.name else [])}:
                key = normalize(alias).casefold()
                short = len(alias) < (3 if alias.isascii() else 2)  # "HK"; 恒指 is a name
                if not short and not re.fullmatch(r"\d+(\.HK)?", alias):
                    aliases.setdefault(key, inst.symbol)
        ordered = sorted(aliases, key=len, reverse=True)  # longest name wins
        latin = [a for a in ordered if a.isascii()]
        han = [a for a in ordered if not a.isascii()]
        # Latin names: whole words, any case; a leading class of their first letters lets the
        # engine skip in one test the positions where no name starts (15x faster). Chinese
        # names: plain literals (no word boundaries in Chinese text).
        firsts = "".join(sorted({c for a in latin for c in (a[0].lower(), a[0].upper())}))
        self._latin_re = (
            re.compile(rf"\b(?=[{re.escape(firsts)}])(?:{'|'.join(map(re.escape, latin))})\b", re.I)
            if latin
            else None
        )
        self._han_re = re.compile("|".join(map(re.escape, han))) if han else None
        self._alias_map = aliases

    def extract(self, text: str) -> list[Entity]:
        found: dict[str, Entity] = {}

        def add(
            symbol: str, kind: str, matched: str, name: str | None = None, code: str | None = None
        ) -> None:
            ent = found.get(symbol)
            if ent is None:
                inst = self.registry.instruments.get(symbol)
                ent = Entity(symbol, kind, name or (inst.name if inst else None), code)
                found[symbol] = ent
            ent.mentions += 1
            if matched not in ent.matched:
                ent.matched.append(matched)
            if name and not ent.name:
                ent.name = name
            if code and not ent.code:
                ent.code = code

        previous_end = 0
        for m in _HK_CODE.finditer(text):
            if _YEAR_IN_BRACKETS.match(text, m.end()) or _YEAR_IN_BRACKETS_BEFORE.search(
                text, max(0, m.start() - 1), m.start() + 1
            ):
                continue  # 今(2025)年, 去(2024)年: Taiwanese press writes years like codes
            code = (
                m.group("code")
                or m.group("code2")
                or m.group("code3")
                or m.group("code4")
                or m.group("code5")
            )
            start, name = m.start(), None
            if m.group("code") or m.group("code5"):
                window_start = max(previous_end, start - _NAME_WINDOW)
                before = _NAME_BEFORE.search(text, window_start, start)
                if before is not None and before.end() == start:
                    start, name = before.start(), before.group(0).strip(" -") or None
            if name and name.isascii() and not re.search(r"[A-Z]{2}", name):
                name = None
            previous_end = m.end()
            add(hk_symbol(code), "stock", text[start : m.end()].strip(), name, code.zfill(5))
        for m in _RIC.finditer(text):
            add(m.group("ric"), "ticker", m.group(0))
        normalized = normalize(text)  # same length as ``text``
        hits: list[tuple[int, int]] = []
        if self._latin_re is not None:
            hits += [
                (m.start(), m.end())
                for m in self._latin_re.finditer(normalized)
                if not _IN_LONGER_INDEX.match(normalized, m.end())
            ]
        if self._han_re is not None:
            hits += [(m.start(), m.end()) for m in self._han_re.finditer(normalized)]
        for start, end in sorted(hits):
            symbol = self._alias_map[normalized[start:end].casefold()]
            inst = self.registry.instruments.get(symbol)
            add(symbol, inst.kind if inst else "stock", text[start:end])
        return sorted(found.values(), key=lambda e: (-e.mentions, e.symbol))

    def resolve(self, name: str) -> str | None:
        """The symbol a name stands for, if the registry knows it."""
        return self._alias_map.get(normalize(name.strip()).casefold())
