"""Counting a batch's observations in one step gives the exposition of one ``observe`` call
per observation (the helpers reach into prometheus_client's histogram children: this test
fails if a new version of the library stores them differently)."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram

from streams import metrics

pytestmark = pytest.mark.unit

BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0)


def pair() -> tuple[CollectorRegistry, CollectorRegistry, Histogram, Histogram]:
    one, batched = CollectorRegistry(), CollectorRegistry()
    a = Histogram("h_seconds", "test", ["topic"], buckets=BUCKETS, registry=one)
    b = Histogram("h_seconds", "test", ["topic"], buckets=BUCKETS, registry=batched)
    return one, batched, a, b


def samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (s.name, s.labels.get("le", "")): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def same(a: dict[tuple[str, str], float], b: dict[tuple[str, str], float]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key[0].endswith("_sum"):
            assert b[key] == pytest.approx(a[key], rel=1e-12)
        else:
            assert b[key] == a[key], key


def test_observe_all_is_one_observe_per_value() -> None:
    rng = random.Random(3)
    values = [rng.choice([0.0, *BUCKETS]) for _ in range(200)]  # bucket edges included
    values += [rng.uniform(0, 2) for _ in range(500)] + [5.0, 0.0]
    one, batched, a, b = pair()
    for v in values:
        a.labels("t").observe(v)
    metrics.observe_all(b.labels("t"), values)
    same(samples(one), samples(batched))


@pytest.mark.parametrize("value", [0.0, 0.0001, 0.00011, 0.3, 1.0, 7.5])
def test_observe_many_is_count_observes_of_one_value(value: float) -> None:
    one, batched, a, b = pair()
    for _ in range(37):
        a.labels("t").observe(value)
    metrics.observe_many(b.labels("t"), value, 37)
    metrics.observe_many(b.labels("t"), value, 0)
    same(samples(one), samples(batched))
