"""Metrics from Chinese market-news text (Traditional or Simplified): the same kinds and
units as :mod:`streams.domain.articles.metrics` gives for English."""

from __future__ import annotations

from datetime import date

from streams.domain.articles.metrics import Metric
from streams.domain.articles.text import Sentence


class ZhMetricExtractor:
    """Extracts distinct metrics from the sentences of a Chinese article."""

    def extract(self, sents: list[Sentence], published: date | None) -> list[Metric]:
        return []


__all__ = ["ZhMetricExtractor"]
