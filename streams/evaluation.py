"""Scores the article extractor against hand labels: precision, recall and F1 over
distinct (kind, value, unit), per kind and overall; stock codes; claims."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams import codec
from streams.domain.articles.article import Article, ArticleEnricher
from streams.domain.instruments import Registry


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def row(self, name: str) -> str:
        return f"{name:<14} P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f}  (tp={self.tp} fp={self.fp} fn={self.fn})"


Key = tuple[str, float, str]


def _same(a: Key, b: Key, family: bool) -> bool:
    kind_a, kind_b = a[0], b[0]
    if family:
        kind_a = "money" if kind_a == "price" else kind_a
        kind_b = "money" if kind_b == "price" else kind_b
    return (
        kind_a == kind_b and a[2] == b[2] and math.isclose(a[1], b[1], rel_tol=1e-9, abs_tol=1e-12)
    )


def score_keys(predicted: Iterable[Key], labelled: Iterable[Key], family: bool = False) -> Score:
    pred, gold = list(dict.fromkeys(predicted)), list(dict.fromkeys(labelled))
    matched_gold: set[int] = set()
    tp = 0
    for p in pred:
        for i, g in enumerate(gold):
            if i not in matched_gold and _same(p, g, family):
                matched_gold.add(i)
                tp += 1
                break
    return Score(tp, len(pred) - tp, len(gold) - tp)


def _claim_key(c: dict[str, Any]) -> tuple[Any, ...]:
    kind = c["type"]
    if kind == "ma_cross":
        return (kind, c.get("window"), c.get("direction"), c.get("date"))
    if kind == "index_level":
        return (kind, round(float(c["value"]), 4), c.get("date"))
    if kind == "drawdown":
        return (
            kind,
            round(float(c["from_value"]), 4),
            round(float(c["to_value"]), 4),
            round(float(c["value_pct"]), 4),
        )
    if kind == "streak":
        return (kind, c.get("direction"), c.get("days"))
    return (kind,)


def _set_score(pred: set[Any], gold: set[Any]) -> Score:
    return Score(len(pred & gold), len(pred - gold), len(gold - pred))


def evaluate(
    article_path: Path, labels_path: Path, registry: Registry | None = None
) -> dict[str, Any]:
    labels = codec.loads(labels_path.read_bytes())
    article = Article(
        id=article_path.stem,
        source="labels",
        body=article_path.read_text(encoding="utf-8"),
        published_at=labels["published_at"],
        lang=labels.get("lang", "en"),
    )
    enriched = ArticleEnricher(registry or Registry.load(None)).enrich(article)
    pred = [(m["kind"], float(m["value"]), m["unit"]) for m in enriched["metrics"]]
    gold = [(m["kind"], float(m["value"]), m["unit"]) for m in labels["metrics"]]
    kinds = sorted({k for k, _, _ in gold} | {k for k, _, _ in pred})
    per_kind = {
        k: score_keys([p for p in pred if p[0] == k], [g for g in gold if g[0] == k]) for k in kinds
    }
    stock_pred = {e["symbol"] for e in enriched["entities"] if e["kind"] == "stock" and e["code"]}
    stock_gold = {e["ticker"] for e in labels["entities"]}
    claims_pred = {_claim_key(c) for c in enriched["claims"]}
    claims_gold = {_claim_key(c) for c in labels["claims"]}
    return {
        "metrics": score_keys(pred, gold),
        "metrics_money_price_family": score_keys(pred, gold, family=True),
        "per_kind": per_kind,
        "stock_codes": _set_score(stock_pred, stock_gold),
        "claims": _set_score(claims_pred, claims_gold),
        "missed": [g for g in dict.fromkeys(gold) if not any(_same(p, g, False) for p in pred)],
        "extra": [p for p in dict.fromkeys(pred) if not any(_same(p, g, False) for g in gold)],
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        result["metrics"].row("metrics"),
        result["metrics_money_price_family"].row("  money~price"),
    ]
    lines += [score.row(f"  {kind}") for kind, score in result["per_kind"].items()]
    lines += [result["stock_codes"].row("stock codes"), result["claims"].row("claims")]
    for name in ("missed", "extra"):
        for item in result[name]:
            lines.append(f"{name}: {item}")
    return "\n".join(lines)
