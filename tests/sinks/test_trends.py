"""Trends from Elasticsearch aggregations equal the counts computed directly from the
documents that were indexed (real node, real texts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from feedback.errors import InvalidInput
from feedback.schema import ClassifiedFeedback
from feedback.settings import Settings
from sinks.trends import TrendsRequest, build_trends_body, trends
from tests.sinks.search_corpus import indexed_corpus

Corpus = tuple[Settings, Elasticsearch, list[ClassifiedFeedback]]
# Not aligned to the interval on purpose: buckets must start at `since` exactly.
SINCE, UNTIL, STEP = datetime(2026, 3, 3, 5, tzinfo=UTC), datetime(2026, 3, 6, 5, tzinfo=UTC), timedelta(hours=6)


@pytest.fixture(scope="module")
def corpus(settings: Settings) -> Iterator[Corpus]:
    with indexed_corpus(settings) as c:
        yield c


def _in(d: ClassifiedFeedback, start: datetime, end: datetime) -> bool:
    return start <= d.event.received_at < end


def test_buckets_start_at_since_even_off_the_interval_grid() -> None:
    body = build_trends_body(TrendsRequest(since=SINCE, until=UNTIL, interval="6h"))
    hist = body["aggs"]["periods"]["aggs"]["topics"]["aggs"]["over_time"]["date_histogram"]
    assert hist["offset"] == "+18000s" and hist["fixed_interval"] == "21600s"


@pytest.mark.parametrize(("interval", "message"), [("90s", "whole minutes"), ("1m", "at most 500 buckets"),
                                                   ("often", "duration like")])
def test_bad_intervals_are_refused_with_a_reason(interval: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_trends_body(TrendsRequest(since=SINCE, until=UNTIL, interval=interval))


def test_empty_period_is_refused() -> None:
    with pytest.raises(InvalidInput, match="since before --until"):
        build_trends_body(TrendsRequest(since=UNTIL, until=SINCE))


@pytest.mark.integration
def test_trend_counts_equal_counts_of_the_indexed_documents(corpus: Corpus) -> None:
    s, es, docs = corpus
    result = trends(es, TrendsRequest(since=SINCE, until=UNTIL, interval="6h"), prefix=s.es.index_prefix)
    now = [d for d in docs if _in(d, SINCE, UNTIL)]
    before = [d for d in docs if _in(d, SINCE - (UNTIL - SINCE), SINCE)]
    assert result.total == len(now) > 0 and result.previous_total == len(before) > 0
    assert {t.topic: t.total for t in result.topics if t.total} == dict(Counter(d.topic.label for d in now))
    assert {t.topic: t.previous_total for t in result.topics if t.previous_total} == dict(
        Counter(d.topic.label for d in before))
    for t in result.topics:
        mine = [d for d in now if d.topic.label == t.topic]
        assert t.sentiment == dict(Counter(d.sentiment.label for d in mine))
        assert t.change == t.total - t.previous_total
        assert t.change_pct == (round(100 * t.change / t.previous_total, 1) if t.previous_total else None)
        if not t.total:
            continue
        assert [b.start for b in t.buckets] == [SINCE + i * STEP for i in range(12)]
        for b in t.buckets:
            in_bucket = [d for d in mine if _in(d, b.start, b.start + STEP)]
            assert b.total == len(in_bucket)
            assert b.sentiment == dict(Counter(d.sentiment.label for d in in_bucket))


@pytest.mark.integration
def test_department_and_topic_filters(corpus: Corpus) -> None:
    s, es, docs = corpus
    by_dept = trends(es, TrendsRequest(since=SINCE, until=UNTIL, interval="1d", department="logistics"),
                     prefix=s.es.index_prefix)
    expected = Counter(d.topic.label for d in docs if d.department == "logistics" and _in(d, SINCE, UNTIL))
    assert {t.topic: t.total for t in by_dept.topics if t.total} == dict(expected)
    by_topic = trends(es, TrendsRequest(since=SINCE, until=UNTIL, interval="1d", topic="praise"),
                      prefix=s.es.index_prefix)
    assert [t.topic for t in by_topic.topics] == ["praise"]
    assert by_topic.total == sum(1 for d in docs if d.topic.label == "praise" and _in(d, SINCE, UNTIL))


@pytest.mark.integration
def test_no_indexes_under_the_prefix_means_no_trends(corpus: Corpus, unique: str) -> None:
    _, es, _ = corpus
    result = trends(es, TrendsRequest(since=SINCE, until=UNTIL, interval="1d"), prefix=f"none{unique}")
    assert (result.total, result.topics) == (0, [])
