"""Article extraction benchmark: windvane's extractor against quantulum3 (a general
quantity extractor from PyPI), on the seed article and the 99 real news records.

Speed is reported as articles/s and as a ratio against quantulum3 measured in the same
run (best of --repeat rounds each, so background noise inflates neither side). Quality is
F1 over distinct (kind, value, unit) on the seed article's hand labels, with quantulum3's
units mapped to ours as generously as its output allows.

English and Chinese are reported separately (articles/s and KB/s of title + body), and the
whole 99-record file against a baseline: the same enricher of an earlier commit
(``--baseline REV``, checked out into a temporary git worktree), timed in this run, in
turns with the current tree, each in a fresh process.

    .venv/bin/python bench/articles.py [--repeat 5] [--baseline 334a57f] [--out bench/out/articles.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.domain.articles.article import Article, ArticleEnricher, article_from_dict
from streams.domain.instruments import Registry
from streams.tools.evaluation import Key, score_keys

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


# Times one tree's enricher on the 99 records, by language; run in a fresh process per tree.
_TIMER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import orjson
from streams.domain.articles.article import ArticleEnricher, article_from_dict
from streams.domain.instruments import Registry
records = [orjson.loads(x) for x in open(sys.argv[2], "rb").read().splitlines() if x.strip()]
articles = [article_from_dict(r) for r in records]
enricher = ArticleEnricher(Registry.load(None))
groups = {"all_99": articles, "en": [a for a in articles if a.lang == "en"],
          "zh": [a for a in articles if a.lang == "zh"]}
out = {}
for name, group in groups.items():
    size = sum(len(((a.title or "") + a.body).encode()) for a in group)
    best = float("inf")
    for _ in range(int(sys.argv[3])):
        start = time.perf_counter()
        for a in group:
            enricher.enrich(a)
        best = min(best, time.perf_counter() - start)
    out[name] = {"articles": len(group), "kb": size / 1024, "seconds": best,
                 "articles_per_s": len(group) / best, "kb_per_s": size / 1024 / best}
print(json.dumps(out))
"""


def time_tree(tree: Path, repeat: int) -> dict[str, dict[str, float]]:
    feed = SHARED / "news-hk-2025-07-24_08-23.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", _TIMER, str(tree), str(feed), str(repeat)],
        capture_output=True, text=True, check=True, cwd=tree,
    )  # fmt: skip
    result: dict[str, dict[str, float]] = json.loads(proc.stdout)
    return result


def against_baseline(rev: str, repeat: int, rounds: int = 3) -> dict[str, Any]:
    """The current tree and ``rev``, each timed ``rounds`` times in turns; best of each."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(base), rev],
                       check=True, capture_output=True)  # fmt: skip
        try:
            runs: dict[str, list[dict[str, dict[str, float]]]] = {"current": [], "baseline": []}
            for _ in range(rounds):
                runs["current"].append(time_tree(REPO, repeat))
                runs["baseline"].append(time_tree(base, repeat))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)],
                           check=False, capture_output=True)  # fmt: skip
    best = {
        side: {g: max(r[g]["kb_per_s"] for r in rs) for g in rs[0]} for side, rs in runs.items()
    }
    return {
        "baseline_rev": rev,
        "kb_per_s": best,
        "articles_per_s": {
            side: {g: max(r[g]["articles_per_s"] for r in rs) for g in rs[0]}
            for side, rs in runs.items()
        },
        "ratio_current_over_baseline_kb_per_s": {
            g: best["current"][g] / best["baseline"][g] for g in best["current"]
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "articles.json")
    ap.add_argument(
        "--baseline",
        default="334a57f",
        help="Commit whose enricher the whole file is compared with (default: main before "
        "Chinese extraction, when the file ran at 486 articles/s on the reference machine).",
    )
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
    languages = time_tree(REPO, args.repeat)
    baseline = against_baseline(args.baseline, args.repeat)
    result["by_language"] = languages
    result["baseline"] = baseline
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"articles/s (best of {args.repeat})      windvane   quantulum3   ratio")
    for corpus in ("seed", "jsonl_english_41"):
        w, q = rates["windvane"][corpus], rates["quantulum3"][corpus]
        print(f"  {corpus:<24} {w:>10.1f} {q:>12.1f} {w / q:>7.1f}x")
    print(f"  {'jsonl_all_99':<24} {rates['windvane']['jsonl_all_99']:>10.1f}")
    print("by language (windvane, this tree)   articles  articles/s      KB/s")
    for name, row in languages.items():
        print(
            f"  {name:<32} {row['articles']:>8} {row['articles_per_s']:>11.1f} {row['kb_per_s']:>9.1f}"
        )
    print(f"whole file vs {args.baseline} (best of 3 turns each, KB/s):")
    for group, ratio in baseline["ratio_current_over_baseline_kb_per_s"].items():
        cur, base = baseline["kb_per_s"]["current"][group], baseline["kb_per_s"]["baseline"][group]
        print(f"  {group:<8} current {cur:>8.1f}  baseline {base:>8.1f}  ratio {ratio:.2f}x")
    print("seed-article metric F1:")
    for name, s in quality.items():
        print(f"  {name:<30} P={s.precision:.3f} R={s.recall:.3f} F1={s.f1:.3f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
