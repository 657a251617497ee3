"""Article extraction benchmark: windvane's extractor against quantulum3 (a general
quantity extractor from PyPI), on the seed article and the 99 real news records.

Speed is reported as articles/s and as a ratio against quantulum3 measured in the same
run (best of --repeat rounds each, so background noise inflates neither side). Quality is
F1 over distinct (kind, value, unit) on the seed article's hand labels, with quantulum3's
units mapped to ours as generously as its output allows.

    .venv/bin/python bench/articles.py [--repeat 5] [--out bench/out/articles.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.domain.articles.article import Article, ArticleEnricher, article_from_dict
from streams.domain.instruments import Registry
from streams.evaluation import Key, score_keys

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "articles"

CURRENCY_CODES = {
    "chinese yuan": "CNY",
    "renminbi": "CNY",
    "hong kong dollar": "HKD",
    "united states dollar": "USD",
    "dollar": "USD",
    "euro": "EUR",
}


def quantulum_keys(text: str) -> list[Key]:
    """quantulum3's quantities as (kind, value, unit), mapped to windvane's kinds."""
    from quantulum3 import parser

    keys: list[Key] = []
    for q in parser.parse(text):
        name, entity, surface = q.unit.name, q.unit.entity.name, q.surface.lower()
        if name == "percentage":
            kind = (
                "percentile"
                if "percentile" in text[q.span[1] : q.span[1] + 40].lower()
                else "percent"
            )
            keys.append((kind, float(q.value), "pct"))
        elif entity == "currency":
            code = CURRENCY_CODES.get(name, name.upper())
            keys.append(("money" if abs(q.value) >= 1e5 else "price", float(q.value), code))
        elif "times" in surface and q.value < 1000:
            keys.append(("multiple", float(q.value), "x"))
        elif "point" in surface or name == "point":
            keys.append(("index_points", float(q.value), "points"))
        elif name == "count" or (entity == "dimensionless" and q.value >= 1000):
            keys.append(("count", float(q.value), "count"))
    return keys


def best_rate(fn: Callable[[], None], items: int, repeat: int) -> float:
    """Items per second of the fastest of ``repeat`` rounds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return items / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "articles.json")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", module="quantulum3")

    seed_text = (SHARED / "double11-hk.txt").read_text(encoding="utf-8")
    labels = json.loads((SHARED / "double11-hk.labels.json").read_text())
    records = [
        orjson.loads(line)
        for line in (SHARED / "news-hk-2025-07-24_08-23.jsonl").read_bytes().splitlines()
    ]
    articles = [article_from_dict(r) for r in records]
    english = [a for a in articles if a.lang == "en"]
    enricher = ArticleEnricher(Registry.load(None))
    seed = Article("seed", "bench", seed_text, labels["published_at"], lang="en")

    quantulum_keys("warm up 1 billion yuan")  # loads its unit tables once, outside the timing
    rates: dict[str, dict[str, float]] = {"windvane": {}, "quantulum3": {}}
    rates["windvane"]["seed"] = best_rate(lambda: enricher.enrich(seed), 1, args.repeat)
    rates["quantulum3"]["seed"] = best_rate(lambda: quantulum_keys(seed_text), 1, args.repeat)
    rates["windvane"]["jsonl_all_99"] = best_rate(
        lambda: [enricher.enrich(a) for a in articles], len(articles), args.repeat
    )
    rates["windvane"]["jsonl_english_41"] = best_rate(
        lambda: [enricher.enrich(a) for a in english], len(english), args.repeat
    )
    rates["quantulum3"]["jsonl_english_41"] = best_rate(
        lambda: [quantulum_keys(a.body) for a in english], len(english), max(1, args.repeat // 2)
    )

    gold = [(m["kind"], float(m["value"]), m["unit"]) for m in labels["metrics"]]
    ours = [(m["kind"], float(m["value"]), m["unit"]) for m in enricher.enrich(seed)["metrics"]]
    theirs = quantulum_keys(seed_text)
    quality = {
        "windvane": score_keys(ours, gold),
        "quantulum3": score_keys(theirs, gold),
        "quantulum3_money_price_family": score_keys(theirs, gold, family=True),
    }
    result: dict[str, Any] = {
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
        },
        "command": "make bench-articles",
        "articles_per_second": rates,
        "speed_ratio_windvane_over_quantulum3": {
            k: rates["windvane"][k] / rates["quantulum3"][k] for k in ("seed", "jsonl_english_41")
        },
        "seed_f1": {
            k: {"precision": s.precision, "recall": s.recall, "f1": s.f1}
            for k, s in quality.items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"articles/s (best of {args.repeat})      windvane   quantulum3   ratio")
    for corpus in ("seed", "jsonl_english_41"):
        w, q = rates["windvane"][corpus], rates["quantulum3"][corpus]
        print(f"  {corpus:<24} {w:>10.1f} {q:>12.1f} {w / q:>7.1f}x")
    print(f"  {'jsonl_all_99':<24} {rates['windvane']['jsonl_all_99']:>10.1f}")
    print("seed-article metric F1:")
    for name, s in quality.items():
        print(f"  {name:<30} P={s.precision:.3f} R={s.recall:.3f} F1={s.f1:.3f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
