"""Topic × sentiment counts over time from Elasticsearch aggregations, and the change
against the previous period of the same length.

One request: a ``filters`` aggregation splits the documents into the current period
``[since, until)`` and the previous one ``[since - (until - since), since)``; the current
period is bucketed by ``date_histogram`` (buckets start exactly at ``since``), each bucket
split by ``topic.label`` and ``sentiment.label``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from feedback.errors import InvalidInput, ServiceError
from feedback.times import parse_duration
from sinks.search import search_targets

__all__ = ["TopicTrend", "TrendBucket", "Trends", "TrendsRequest", "build_trends_body", "trends"]

log = logging.getLogger(__name__)

MAX_BUCKETS = 500
_MAX_TOPICS = 100


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrendsRequest(_Shape):
    """The period ``[since, until)``, the bucket width and optional filters."""

    since: AwareDatetime
    until: AwareDatetime
    interval: str = Field(default="1h", description="bucket width: 15m, 1h, 1d, ...")
    department: str | None = None
    topic: str | None = None
    scope: list[str] = Field(
        default_factory=list, description="only documents of these departments (the caller's); empty means all"
    )


class TrendBucket(_Shape):
    start: datetime
    total: int
    sentiment: dict[str, int]


class TopicTrend(_Shape):
    topic: str
    total: int
    previous_total: int
    change: int
    change_pct: float | None = Field(description="None when the previous period had none")
    sentiment: dict[str, int]
    previous_sentiment: dict[str, int]
    buckets: list[TrendBucket]


class Trends(_Shape):
    since: datetime
    until: datetime
    previous_since: datetime
    interval: str
    department: str | None
    topic: str | None
    total: int
    previous_total: int
    topics: list[TopicTrend]


def _interval_seconds(interval: str) -> int:
    seconds = int(parse_duration(interval).total_seconds())
    if seconds < 60 or seconds % 60:
        raise InvalidInput(f"expected an interval of whole minutes (15m, 1h, 1d), got {interval!r}")
    return seconds


def _terms(field: str, sub: dict[str, Any] | None = None, *, size: int = _MAX_TOPICS) -> dict[str, Any]:
    agg: dict[str, Any] = {"terms": {"field": field, "size": size}}
    if sub:
        agg["aggs"] = sub
    return agg


def build_trends_body(request: TrendsRequest) -> dict[str, Any]:
    """The aggregation request (pure).

    >>> from datetime import datetime, timezone
    >>> r = TrendsRequest(since=datetime(2026, 3, 1, tzinfo=timezone.utc), until=datetime(2026, 3, 2, tzinfo=timezone.utc), interval="6h")
    >>> b = build_trends_body(r)
    >>> b["aggs"]["periods"]["aggs"]["topics"]["aggs"]["over_time"]["date_histogram"]["fixed_interval"]
    '21600s'
    """
    if request.since >= request.until:
        raise InvalidInput(
            f"expected --since before --until, found since={request.since.isoformat()} "
            f"until={request.until.isoformat()}"
        )
    step = _interval_seconds(request.interval)
    span = request.until - request.since
    if span.total_seconds() / step > MAX_BUCKETS:
        raise InvalidInput(
            f"expected at most {MAX_BUCKETS} buckets, got {int(span.total_seconds() // step)} of {request.interval} "
            f"over {span}; choose a wider --interval or a shorter period"
        )
    previous = request.since - span
    filters: list[dict[str, Any]] = [
        {"range": {"received_at": {"gte": previous.isoformat(), "lt": request.until.isoformat()}}}
    ]
    if request.department:
        filters.append({"term": {"department": request.department}})
    if request.scope:
        filters.append({"terms": {"department": sorted(request.scope)}})
    if request.topic:
        filters.append({"term": {"topic.label": request.topic}})
    offset = int(request.since.timestamp()) % step
    histogram: dict[str, Any] = {
        "field": "received_at",
        "fixed_interval": f"{step}s",
        "min_doc_count": 0,
        "extended_bounds": {"min": request.since.isoformat(), "max": (request.until - timedelta(seconds=1)).isoformat()},
    }
    if offset:
        histogram["offset"] = f"+{offset}s"
    sentiment = {"sentiment": _terms("sentiment.label", size=10)}
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": filters}},
        "aggs": {
            "periods": {
                "filters": {
                    "filters": {
                        "current": {"range": {"received_at": {"gte": request.since.isoformat(),
                                                              "lt": request.until.isoformat()}}},
                    }
                },
                "aggs": {"topics": _terms("topic.label", {**sentiment, "over_time": {"date_histogram": histogram,
                                                                                        "aggs": sentiment}})},
            },
            "previous": {
                "filter": {"range": {"received_at": {"gte": previous.isoformat(), "lt": request.since.isoformat()}}},
                "aggs": {"topics": _terms("topic.label", sentiment)},
            },
        },
    }


def _counts(agg: dict[str, Any]) -> dict[str, int]:
    return {b["key"]: b["doc_count"] for b in agg["buckets"]}


def trends(es: Elasticsearch, request: TrendsRequest, *, prefix: str) -> Trends:
    """Topic × sentiment counts per interval, with totals and change vs the previous period.

    >>> t = trends(es, TrendsRequest(since=..., until=..., interval="1d"), prefix="feedback")  # doctest: +SKIP
    >>> t.topics[0].topic, t.topics[0].total, t.topics[0].change_pct  # doctest: +SKIP
    ('billing_payment', 42, 35.5)
    """
    body = build_trends_body(request)
    result = Trends(since=request.since, until=request.until, previous_since=request.since - (request.until - request.since),
                    interval=request.interval, department=request.department, topic=request.topic,
                    total=0, previous_total=0, topics=[])
    targets = search_targets(es, prefix=prefix)
    if not targets:
        log.warning("no department aliases under prefix=%s; no trends yet", prefix)
        return result
    try:
        res = es.search(index=",".join(targets), ignore_unavailable=True, **body)
    except (ApiError, TransportError) as e:
        raise ServiceError(
            f"Elasticsearch did not answer the trends aggregation ({type(e).__name__}: {e}); check that it runs "
            "(feedback status) and that FEEDBACK_ES_URL points at it"
        ) from e
    current = res["aggregations"]["periods"]["buckets"]["current"]
    previous = res["aggregations"]["previous"]
    prev_topics = {b["key"]: b for b in previous["topics"]["buckets"]}
    topics: list[TopicTrend] = []
    seen: set[str] = set()
    for b in current["topics"]["buckets"]:
        prev = prev_topics.get(b["key"])
        topics.append(_topic(b["key"], b, prev, request=request))
        seen.add(b["key"])
    for key, prev in prev_topics.items():
        if key not in seen:  # a topic that vanished is a change too
            topics.append(_topic(key, None, prev, request=request))
    topics.sort(key=lambda t: (-t.total, -t.previous_total, t.topic))
    return result.model_copy(update={"total": current["doc_count"], "previous_total": previous["doc_count"],
                                     "topics": topics})


def _topic(key: str, now: dict[str, Any] | None, prev: dict[str, Any] | None, *, request: TrendsRequest) -> TopicTrend:
    total = now["doc_count"] if now else 0
    previous_total = prev["doc_count"] if prev else 0
    buckets = [
        TrendBucket(start=start, total=b["doc_count"], sentiment=_counts(b["sentiment"]))
        for b in (now["over_time"]["buckets"] if now else [])
        # extended_bounds is rounded without the offset and may add an empty bucket at `until`.
        if request.since <= (start := datetime.fromtimestamp(b["key"] / 1000, tz=UTC)) < request.until
    ]
    return TopicTrend(
        topic=key,
        total=total,
        previous_total=previous_total,
        change=total - previous_total,
        change_pct=round(100.0 * (total - previous_total) / previous_total, 1) if previous_total else None,
        sentiment=_counts(now["sentiment"]) if now else {},
        previous_sentiment=_counts(prev["sentiment"]) if prev else {},
        buckets=buckets,
    )
