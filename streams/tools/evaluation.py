"""Scores the article extractor against hand labels: precision, recall and F1 over
distinct (kind, value, unit), per kind and overall; stock codes; claims.

:func:`evaluate_sets` scores every labelled real record (``samples/articles/labels/{en,zh}``)
and the seed article, English and Chinese separately. Records go through the worker's own
edge (bytes -> decode -> validate -> map -> enrich), and claims are checked against quote
state built from the real closes in ``../shared/data/quotes`` by the worker's own quote
pipeline: "checked" means the claim was extracted and got ``confirmed`` or ``contradicted``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams import codec
from streams.domain.articles.article import Article, ArticleEnricher
from streams.domain.instruments import Registry

LABEL_DIRS = ("en", "zh")
HELDOUT_DIR = "heldout"  # our own wraps, labelled blind (heldout/, heldout2/): heldout-en, ...


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


# -- many labelled records, per language ------------------------------------------------
@dataclass
class LabelledRecord:
    name: str
    lang: str
    raw: bytes  # the record as it arrives on articles.raw
    labels: dict[str, Any]


def load_labelled(labels_root: Path, shared_articles: Path) -> list[LabelledRecord]:
    """The labelled real records under ``labels_root/{en,zh}``, read from the shared feed
    files they name, plus the seed article when its labels are there."""
    feeds: dict[str, dict[str, bytes]] = {}
    out: list[LabelledRecord] = []
    seed_labels = shared_articles / "double11-hk.labels.json"
    if seed_labels.exists():
        labels = codec.loads(seed_labels.read_bytes())
        text = (shared_articles / labels["article"]).read_text(encoding="utf-8")
        record = {"id": "double11-hk", "source": "labels", "body": text,
                  "published_at": labels["published_at"], "lang": labels.get("lang", "en")}  # fmt: skip
        out.append(LabelledRecord("double11-hk", "en", codec.dumps(record), labels))
    heldouts = sorted(p for p in labels_root.parent.glob(f"{HELDOUT_DIR}*") if p.is_dir())
    sets = [(lang, labels_root / lang) for lang in LABEL_DIRS] + [(p.name, p) for p in heldouts]
    for group, folder in sets:
        for path in sorted(folder.glob("*.labels.json")):
            labels = codec.loads(path.read_bytes())
            source = path.parent / labels["file"]  # beside the labels, else a shared feed
            source = source if source.exists() else shared_articles / labels["file"]
            feed = feeds.get(str(source))
            if feed is None:
                feed = feeds[str(source)] = {}
                for line in source.read_bytes().splitlines():
                    if line.strip():
                        feed[str(codec.loads(line)["uri"])] = line
            lang = f"{group}-{labels['lang']}" if group.startswith(HELDOUT_DIR) else group
            out.append(LabelledRecord(str(labels["uri"]), lang, feed[str(labels["uri"])], labels))
    return out


def day_table(quotes_dir: Path, registry: Registry) -> tuple[dict[bytes, bytes], dict[str, str]]:
    """Final day records of every shared series (symbol = file stem), as the quote task keeps
    them, and each symbol's latest final day."""
    from streams.domain.quotes import QuoteEngine, SymbolState
    from streams.domain.rules import RuleBook
    from streams.pipeline import QuotePipeline, SourceRecord
    from streams.tools.sources import quote_records

    days: dict[bytes, bytes] = {}
    state: dict[bytes, SymbolState] = {}
    pipeline = QuotePipeline(QuoteEngine(RuleBook(()), registry), lambda: 0)
    for csv in sorted(quotes_dir.glob("*.csv")):
        for i, (key, value) in enumerate(quote_records(csv, csv.stem)):
            pipeline.process(key, value, SourceRecord("quotes.raw", 0, i), state, days)
    latest = {k.decode(): s.last_final_day for k, s in state.items() if s.last_final_day}
    return days, latest


_CLAIM_FIELDS = {
    "index_change_pct": ("value", "period", "field", "date"),
    "index_change_points": ("value", "period", "field", "date"),
    "index_level": ("value", "field", "date"),
    "streak": ("direction", "count", "unit"),
    "ma_cross": ("window", "direction", "date"),
    "drawdown": ("from_value", "to_value", "value_pct"),
}


def claim_match_key(claim: dict[str, Any]) -> tuple[Any, ...]:
    """What must agree for a predicted claim to be a labelled one (instrument by symbol)."""
    kind = claim["type"]
    values: list[Any] = [kind, claim.get("symbol")]
    for name in _CLAIM_FIELDS.get(kind, ()):
        v = claim.get(name)
        if name == "count" and v is None:
            v = claim.get("days")  # the seed's streaks count days
        if name == "unit" and v is None:
            v = "days"
        if name == "field" and kind.startswith("index_change") and v is None:
            v = "close"  # a change without a field is close to close
        if name == "field" and kind == "index_level" and v is None:
            v = "level"  # the seed's labels say "peak" or "low" in a note, not a field
        values.append(round(float(v), 4) if isinstance(v, int | float) and name != "count" else v)
    return tuple(values)


@dataclass
class ClaimTally:
    labelled: int = 0  # labelled claims about an instrument with data
    extracted: int = 0
    checked: int = 0  # extracted and given confirmed/contradicted
    predicted: int = 0  # predicted claims about an instrument with data
    matched_predicted: int = 0
    judged: int = 0  # checked claims whose label says whether they are true
    agreed: int = 0  # ... and whose verdict says the same (confirmed = true)

    def row(self, name: str) -> str:
        share = self.checked / self.labelled if self.labelled else 1.0
        precision = self.matched_predicted / self.predicted if self.predicted else 1.0
        return (
            f"{name:<14} labelled={self.labelled} extracted={self.extracted} "
            f"checked={self.checked} ({share:.0%})  precision={precision:.3f} "
            f"(of {self.predicted} predicted)"
            + (f"  verdict=label {self.agreed}/{self.judged}" if self.judged else "")
        )


def evaluate_sets(
    labels_root: Path, shared: Path, registry: Registry | None = None
) -> dict[str, dict[str, Any]]:
    """Per language: metric scores (overall and per kind, summed over records), stock codes,
    claims about instruments with data, and the misses and extras by record."""
    from streams.article_pipeline import ArticlePipeline
    from streams.domain.articles.claims import check_claim
    from streams.pipeline import SourceRecord

    registry = registry or Registry.load(None)
    pipeline = ArticlePipeline(ArticleEnricher(registry), lambda: 0)
    days, latest_days = day_table(shared / "quotes", registry)

    def lookup(symbol: str, day: str) -> dict[str, Any] | None:
        found = days.get(f"{symbol}|{day}".encode())
        return None if found is None else codec.loads(found)

    with_data = set(latest_days)
    resolve = pipeline.enricher.entities.resolve

    def label_symbol(claim: dict[str, Any]) -> dict[str, Any]:
        if "symbol" in claim:  # the seed's labels name the instrument only
            return claim
        return {**claim, "symbol": resolve(claim.get("instrument") or "")}

    results: dict[str, dict[str, Any]] = {}
    for rec in load_labelled(labels_root, shared / "articles"):
        res = results.setdefault(
            rec.lang,
            {"records": 0, "pred": [], "gold": [], "stock_pred": set(), "stock_gold": set(),
             "claims": ClaimTally(), "missed": [], "extra": [], "claim_misses": []},
        )  # fmt: skip
        res["records"] += 1
        routed = pipeline.route(None, rec.raw, SourceRecord("articles.raw", 0, 0))
        if routed.status != "ok":
            raise ValueError(f"{rec.name}: the edge rejected a labelled record: {routed.reason}")
        byhash = routed.records[0]
        out = pipeline.enrich(byhash.key, byhash.value, SourceRecord("articles.byhash", 0, 0), {})
        enriched = codec.loads(out.records[0].value)
        pred = list(
            dict.fromkeys((m["kind"], float(m["value"]), m["unit"]) for m in enriched["metrics"])
        )
        gold = list(dict.fromkeys((m["kind"], float(m["value"]), m["unit"]) for m in rec.labels["metrics"]))  # fmt: skip
        res["pred"].append(pred)
        res["gold"].append(gold)
        res["missed"] += [(rec.name, g) for g in gold if not any(_same(p, g, False) for p in pred)]
        res["extra"] += [(rec.name, p) for p in pred if not any(_same(p, g, False) for g in gold)]
        res["stock_pred"] |= {(rec.name, e["symbol"]) for e in enriched["entities"]
                              if e["kind"] == "stock" and e["code"]}  # fmt: skip
        res["stock_gold"] |= {(rec.name, e["ticker"]) for e in rec.labels.get("entities", [])}
        tally: ClaimTally = res["claims"]
        predicted = {
            claim_match_key(c): c for c in enriched["claims"] if c.get("symbol") in with_data
        }
        labelled = [label_symbol(c) for c in rec.labels.get("claims", [])]
        gold_claims = {claim_match_key(c) for c in labelled if c["symbol"] in with_data}
        truth = {claim_match_key(c): c["truth"] for c in labelled if "truth" in c}
        tally.predicted += len(predicted)
        tally.matched_predicted += len(set(predicted) & gold_claims)
        for key in gold_claims:
            tally.labelled += 1
            claim = predicted.get(key)
            if claim is None:
                res["claim_misses"].append((rec.name, key))
                continue
            tally.extracted += 1
            verdict = check_claim(claim, lookup, latest_days.get)
            if verdict["verdict"] in ("confirmed", "contradicted"):
                tally.checked += 1
                if key in truth:
                    tally.judged += 1
                    tally.agreed += (verdict["verdict"] == "confirmed") == truth[key]
                    if (verdict["verdict"] == "confirmed") != truth[key]:
                        res["claim_misses"].append((rec.name, ("wrong verdict", *key)))
    for res in results.values():
        pairs = list(zip(res.pop("pred"), res.pop("gold"), strict=True))
        kinds = sorted({k for p, g in pairs for k, _, _ in (*p, *g)})
        res["metrics"] = _sum_scores([score_keys(p, g) for p, g in pairs])
        res["metrics_money_price_family"] = _sum_scores([score_keys(p, g, True) for p, g in pairs])
        res["per_kind"] = {
            k: _sum_scores(
                [
                    score_keys([x for x in p if x[0] == k], [x for x in g if x[0] == k])
                    for p, g in pairs
                ]
            )
            for k in kinds
        }
        res["stock_codes"] = _set_score(res.pop("stock_pred"), res.pop("stock_gold"))
    return results


def _sum_scores(scores: list[Score]) -> Score:
    return Score(sum(s.tp for s in scores), sum(s.fp for s in scores), sum(s.fn for s in scores))


def report_sets(results: dict[str, dict[str, Any]], details: bool = False) -> str:
    lines: list[str] = []
    for lang in sorted(results):
        res = results[lang]
        lines.append(f"== {lang}: {res['records']} labelled records ==")
        lines.append(res["metrics"].row("metrics"))
        lines.append(res["metrics_money_price_family"].row("  money~price"))
        lines += [score.row(f"  {kind}") for kind, score in res["per_kind"].items()]
        lines.append(res["stock_codes"].row("stock codes"))
        lines.append(res["claims"].row("claims w/ data"))
        if details:
            lines += [f"missed: {name} {item}" for name, item in res["missed"]]
            lines += [f"extra: {name} {item}" for name, item in res["extra"]]
            lines += [f"claim missed: {name} {item}" for name, item in res["claim_misses"]]
    return "\n".join(lines)
