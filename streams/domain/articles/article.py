"""Articles in, enriched records out: the typed input, language, content hash, and the
enrichment that ties metrics, entities and claims together."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from streams.domain.articles.claims import ClaimExtractor
from streams.domain.articles.entities import EntityExtractor
from streams.domain.articles.metrics import MetricExtractor
from streams.domain.articles.metrics_zh import ZhMetricExtractor
from streams.domain.articles.text import paragraphs, sentences
from streams.domain.instruments import Registry

EXTRACTOR_VERSION = "2"
METRIC_LANGUAGES = ("en", "zh")  # languages that get metric and claim extraction

_ISO3 = {"eng": "en", "zho": "zh", "jpn": "ja", "kor": "ko", "fra": "fr", "deu": "de",
         "spa": "es", "ron": "ro", "hrv": "hr", "ell": "el", "rus": "ru", "ita": "it",
         "por": "pt", "nld": "nl", "ara": "ar", "vie": "vi", "tha": "th", "ind": "id"}  # fmt: skip


class ArticleError(ValueError):
    """An article value that cannot be enriched (the dead-letter reason is ``schema``)."""


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    source: str
    body: str
    published_at: str  # ISO-8601 date or date-time
    title: str | None = None
    url: str | None = None
    lang: str | None = None

    @property
    def published_date(self) -> date | None:
        try:
            return datetime.fromisoformat(self.published_at.replace("Z", "+00:00")).date()
        except ValueError:
            try:
                return date.fromisoformat(self.published_at[:10])
            except ValueError:
                return None

    @property
    def content_hash(self) -> str:
        """Same title and body (up to whitespace and case) -> same hash: a republication."""
        norm = " ".join(f"{self.title or ''}\n{self.body}".split()).casefold()
        return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def article_from_dict(data: dict[str, Any]) -> Article:
    """Our schema (id, source, body, published_at, ...) or an EventRegistry record."""
    if "uri" in data and "id" not in data:  # EventRegistry
        source = data.get("source")
        data = {
            "id": str(data["uri"]),
            "source": (source.get("uri") or source.get("title"))
            if isinstance(source, dict)
            else str(source or "unknown"),
            "url": data.get("url"),
            "title": data.get("title"),
            "body": data.get("body"),
            # the source's own publication time when given (the article-date rule of claims
            # reads it), else when EventRegistry found it
            "published_at": data.get("dateTimePub") or data.get("dateTime") or data.get("date"),
            "lang": data.get("lang"),
        }
    for name in ("id", "body", "published_at"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise ArticleError(f"{name} must be a non-empty string")
    for name in ("title", "url", "lang", "source"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise ArticleError(f"{name} must be a string")
    return Article(
        id=data["id"],
        source=data.get("source") or "unknown",
        body=data["body"],
        published_at=data["published_at"],
        title=data.get("title"),
        url=data.get("url"),
        lang=normalize_lang(data.get("lang"), f"{data.get('title') or ''} {data['body']}"),
    )


def normalize_lang(given: str | None, text: str) -> str:
    """ISO 639-1 from what the record says (``eng`` -> ``en``), else guessed from script."""
    if given:
        low = given.strip().lower()
        return _ISO3.get(low, low[:2] if len(low) >= 2 else low)
    sample = text[:2000]
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return "und"
    counts: dict[str, int] = {}
    for c in letters:
        name = unicodedata.name(c, "")
        script = (
            "han"
            if "CJK" in name
            else "kana"
            if ("HIRAGANA" in name or "KATAKANA" in name)
            else "hangul"
            if "HANGUL" in name
            else "latin"
            if "LATIN" in name
            else "other"
        )
        counts[script] = counts.get(script, 0) + 1
    if counts.get("kana", 0) > len(letters) * 0.05:
        return "ja"
    if counts.get("hangul", 0) > len(letters) * 0.2:
        return "ko"
    if counts.get("han", 0) > len(letters) * 0.2:
        return "zh"
    if counts.get("latin", 0) > len(letters) * 0.8:
        words = re.findall(r"[a-zà-ÿ]+", sample.lower())
        english = sum(w in _EN_WORDS for w in words)
        other = sum(w in _OTHER_LATIN_WORDS for w in words)
        return "en" if english >= other else "und"
    return "und"


_EN_WORDS = {
    "the",
    "and",
    "of",
    "to",
    "in",
    "is",
    "was",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "its",
}
_OTHER_LATIN_WORDS = {"der", "die", "und", "das", "le", "la", "les", "et", "des", "el", "los", "y",
                      "que", "il", "di", "che", "een", "het", "și", "în", "je", "da", "se"}  # fmt: skip


class ArticleEnricher:
    """Metrics, entities and claims for one article; claims resolved to symbols."""

    def __init__(self, registry: Registry) -> None:
        self.entities = EntityExtractor(registry)
        self.metrics = MetricExtractor()
        self.metrics_zh = ZhMetricExtractor()
        self.claims = ClaimExtractor(registry, self.entities.resolve)

    def enrich(self, article: Article) -> dict[str, Any]:
        text = f"{article.title}\n{article.body}" if article.title else article.body
        lang = article.lang or normalize_lang(None, text)
        paras = paragraphs(text)
        entities = self.entities.extract("\n".join(paras))
        metrics: list[dict[str, Any]] = []
        claims: list[dict[str, Any]] = []
        if lang in METRIC_LANGUAGES:
            sents = sentences(paras)
            published = article.published_date
            extractor = self.metrics_zh if lang == "zh" else self.metrics
            metrics = [m.to_dict() for m in extractor.extract(sents, published)]
            for claim in self.claims.extract(sents, article.published_at, lang):
                claims.append(claim.to_dict(article.id))  # symbol resolved by the extractor
        return {
            "id": article.id,
            "source": article.source,
            "url": article.url,
            "title": article.title,
            "published_at": article.published_at,
            "lang": lang,
            "content_hash": article.content_hash,
            "duplicate_of": None,
            "metrics": metrics,
            "entities": [e.to_dict() for e in entities],
            "claims": claims,
            "extraction": {
                "version": EXTRACTOR_VERSION,
                "metric_languages": list(METRIC_LANGUAGES),
            },
        }
