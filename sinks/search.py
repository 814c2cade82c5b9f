"""Full-text search over the department aliases: query building, execution, result shaping.

The query text is folded with :func:`feedback.text.normalise` (the same folding the
indexed text got) and matched against ``subject`` and ``text`` three ways at once: the
``standard`` field (exact word forms), the ``.fa`` subfield (Persian analyzer: ZWNJ
splits, stopwords, suffix stemming) and the ``.en`` subfield (English analyzer: stopwords,
Porter stemming). Every query searches all of them, whatever the document's or the
query's language: a query has no reliable language, messages mix scripts, and each
analyzer leaves the other script alone, so a field of the "wrong" language only repeats
the standard match. ``best_fields`` scores a document by its best field (plus a small tie
breaker), so an exact form, which matches in the standard field and a stemmed one, tends
to rank above a form matched only through its stem. An index created before
the subfields existed simply has none; the query still runs there. Results are filtered
on keyword fields and highlighted with ``<mark>`` tags around HTML-escaped fragments (safe
to put into a page as HTML), stemmed matches included.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from typing import Any, Literal

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from feedback.errors import InvalidInput, ServiceError
from feedback.text import normalise

__all__ = [
    "FeedbackItem",
    "SearchFilters",
    "SearchHit",
    "SearchPage",
    "SearchRequest",
    "build_filters",
    "build_search_body",
    "get_feedback",
    "search",
    "search_targets",
]

log = logging.getLogger(__name__)

# Elasticsearch refuses from + size beyond index.max_result_window (10 000 by default).
MAX_WINDOW = 10_000
_FACETS = {"department": "department", "channel": "channel", "sentiment": "sentiment.label",
           "topic": "topic.label", "language": "language", "urgency": "urgency"}
_VERSIONED = re.compile(r"-v\d+$")
# Subject words weigh double; the language subfields are absent on old indexes (ignored there).
TEXT_FIELDS = ["subject^2", "subject.fa^2", "subject.en^2", "text", "text.fa", "text.en"]
_TIE_BREAKER = 0.3
_SOURCE = [
    "id", "channel", "source", "received_at", "subject", "text", "language", "sentiment", "topic", "topics",
    "urgency", "department", "routing_rule", "rating",
]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchFilters(_Shape):
    """Keyword filters; several values of one filter mean "any of them"."""

    department: list[str] = Field(default_factory=list)
    channel: list[str] = Field(default_factory=list)
    sentiment: list[str] = Field(default_factory=list)
    topic: list[str] = Field(default_factory=list)
    language: list[str] = Field(default_factory=list)
    urgency: list[str] = Field(default_factory=list)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class SearchRequest(_Shape):
    """What a person asks: words, filters, an order and a page."""

    query: str = ""
    filters: SearchFilters = Field(default_factory=SearchFilters)
    sort: Literal["relevance", "time"] = "relevance"
    page: int = Field(default=1, ge=1)
    size: int = Field(default=20, ge=1)


class SearchHit(_Shape):
    """One result: the stored fields a support person reads, and the highlighted fragments."""

    id: str
    score: float | None
    received_at: datetime
    channel: str
    department: str
    language: str
    sentiment: str
    topic: str
    topics: list[str] = Field(default_factory=list, description="every topic kept on the document, primary first")
    urgency: str
    subject: str | None
    text: str
    highlights: list[str] = Field(description="HTML-escaped fragments with <mark> around matches")


class SearchPage(_Shape):
    """One page of results."""

    query: str = Field(description="the query as searched, after normalisation")
    total: int
    page: int
    size: int
    sort: str
    took_ms: float
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="field -> value -> count of the matching items (all pages)"
    )


class FeedbackItem(_Shape):
    """One indexed item with its classification and the routing decision that placed it."""

    id: str
    index: str
    channel: str
    source: str
    received_at: datetime
    subject: str | None
    text: str
    rating: int | None
    language: str
    sentiment: dict[str, Any]
    topic: dict[str, Any]
    urgency: str
    urgency_reasons: list[str]
    department: str
    routing_rule: str
    routing_explanation: str
    model_version: str
    classified_at: datetime


def _terms(field: str, values: list[str]) -> dict[str, Any]:
    return {"term": {field: values[0]}} if len(values) == 1 else {"terms": {field: values}}


def build_filters(filters: SearchFilters) -> list[dict[str, Any]]:
    """The ``bool.filter`` clauses of the filters (pure).

    >>> build_filters(SearchFilters(department=["billing"], sentiment=["negative", "neutral"]))
    [{'term': {'department': 'billing'}}, {'terms': {'sentiment.label': ['negative', 'neutral']}}]
    """
    fields = [
        ("department", filters.department), ("channel", filters.channel), ("sentiment.label", filters.sentiment),
        ("language", filters.language), ("urgency", filters.urgency),
    ]
    clauses = [_terms(field, values) for field, values in fields if values]
    if filters.topic:
        # The primary topic, or any secondary topic the model scored above the threshold.
        clauses.append({"bool": {"should": [_terms("topic.label", filters.topic), _terms("topics.label", filters.topic)],
                                 "minimum_should_match": 1}})
    if filters.since or filters.until:
        if filters.since and filters.until and filters.since >= filters.until:
            raise InvalidInput(
                f"expected --since before --until, found since={filters.since.isoformat()} "
                f"until={filters.until.isoformat()}; swap them"
            )
        bounds: dict[str, str] = {}
        if filters.since:
            bounds["gte"] = filters.since.isoformat()
        if filters.until:
            bounds["lt"] = filters.until.isoformat()
        clauses.append({"range": {"received_at": bounds}})
    return clauses


def build_search_body(request: SearchRequest, *, max_page_size: int = 100) -> dict[str, Any]:
    """The search request body (pure): normalised query, filters, sort, page, highlight.

    >>> body = build_search_body(SearchRequest(query="كتاب", size=5))
    >>> body["query"]["bool"]["must"][0]["multi_match"]["query"], body["size"]
    ('کتاب', 5)
    """
    if request.size > max_page_size:
        raise InvalidInput(f"expected a page size of at most {max_page_size}, got {request.size}; ask for more pages")
    start = (request.page - 1) * request.size
    if start + request.size > MAX_WINDOW:
        raise InvalidInput(
            f"expected page * size <= {MAX_WINDOW}, got page {request.page} of size {request.size}; narrow the "
            "search with filters (--since/--until) instead of paging that deep"
        )
    text = normalise(request.query)
    must: list[dict[str, Any]] = []
    should: list[dict[str, Any]] = []
    if text:
        must.append({"multi_match": {"query": text, "fields": TEXT_FIELDS, "type": "best_fields",
                                     "tie_breaker": _TIE_BREAKER}})
        # Items holding every word, or the exact phrase, rank above those holding only some.
        should.append({"multi_match": {"query": text, "fields": TEXT_FIELDS, "operator": "and",
                                       "tie_breaker": _TIE_BREAKER}})
        should.append({"multi_match": {"query": text, "fields": TEXT_FIELDS, "type": "phrase", "boost": 2}})
    query: dict[str, Any] = {"bool": {"must": must or [{"match_all": {}}], "filter": build_filters(request.filters)}}
    if should:
        query["bool"]["should"] = should
    by_time = [{"received_at": {"order": "desc"}}, {"id": {"order": "asc"}}]
    sort = [{"_score": {"order": "desc"}}, *by_time] if request.sort == "relevance" and text else by_time
    return {
        "query": query,
        "sort": sort,
        "from": start,
        "size": request.size,
        "track_total_hits": True,
        "track_scores": True,
        "aggs": {name: {"terms": {"field": field, "size": 50}} for name, field in _FACETS.items()},
        "_source": _SOURCE,
        "highlight": {
            "encoder": "html",
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            # matched_fields: a word found only through a stem (کتاب in کتاب‌ها) is marked too.
            "fields": {
                "subject": {"number_of_fragments": 0, "matched_fields": ["subject", "subject.fa", "subject.en"]},
                "text": {"fragment_size": 160, "number_of_fragments": 3, "matched_fields": ["text", "text.fa", "text.en"]},
            },
        },
    }


def search_targets(es: Elasticsearch, *, prefix: str) -> list[str]:
    """Every department alias under ``prefix`` (never the versioned indexes, so nothing doubles).

    >>> search_targets(es, prefix="feedback")  # doctest: +SKIP
    ['feedback-billing', 'feedback-support']
    """
    try:
        found = es.indices.get_alias(name=f"{prefix}-*")
    except NotFoundError:
        return []
    except (ApiError, TransportError) as e:
        raise _unavailable(e) from e
    aliases = {name for info in found.values() for name in info.get("aliases", {})}
    return sorted(a for a in aliases if a.startswith(f"{prefix}-") and not _VERSIONED.search(a))


def _unavailable(error: Exception) -> ServiceError:
    return ServiceError(
        f"Elasticsearch did not answer the search ({type(error).__name__}: {error}); check that it runs "
        "(feedback status) and that FEEDBACK_ES_URL points at it"
    )


def _hit(raw: dict[str, Any]) -> SearchHit:
    src = raw["_source"]
    hl = raw.get("highlight", {})
    fragments = [*hl.get("subject", []), *hl.get("text", [])]
    return SearchHit(
        id=raw["_id"],
        score=raw.get("_score"),
        received_at=src["received_at"],
        channel=src["channel"],
        department=src["department"],
        language=src["language"],
        sentiment=src["sentiment"]["label"],
        topic=src["topic"]["label"],
        topics=[t["label"] for t in src.get("topics") or []],
        urgency=src["urgency"],
        subject=src.get("subject"),
        text=src["text"],
        highlights=fragments,
    )


def search(es: Elasticsearch, request: SearchRequest, *, prefix: str, max_page_size: int = 100) -> SearchPage:
    """Run one search over every department alias under ``prefix``.

    >>> page = search(es, SearchRequest(query="refund", filters=SearchFilters(language=["en"])), prefix="feedback")  # doctest: +SKIP
    >>> page.total, page.hits[0].highlights[0]  # doctest: +SKIP
    (3, 'I still have no <mark>refund</mark> after two weeks')
    """
    body = build_search_body(request, max_page_size=max_page_size)
    empty = SearchPage(query=normalise(request.query), total=0, page=request.page, size=request.size,
                       sort=request.sort, took_ms=0.0, hits=[])
    targets = search_targets(es, prefix=prefix)
    if not targets:
        log.warning("no department aliases under prefix=%s; nothing is indexed yet", prefix)
        return empty
    started = time.perf_counter()
    try:
        res = es.search(index=",".join(targets), ignore_unavailable=True, **body)
    except ApiError as e:
        if e.meta.status == 400:
            raise InvalidInput(f"Elasticsearch refused the search: {e}; simplify the query text") from e
        raise _unavailable(e) from e
    except TransportError as e:
        raise _unavailable(e) from e
    took = (time.perf_counter() - started) * 1000
    hits = res["hits"]
    log.info("search query=%r total=%d took_ms=%.1f", empty.query, hits["total"]["value"], took)
    return empty.model_copy(update={"total": hits["total"]["value"], "took_ms": round(took, 1),
                                    "hits": [_hit(h) for h in hits["hits"]],
                                    "facets": {name: {b["key"]: b["doc_count"] for b in agg["buckets"]}
                                               for name, agg in res.get("aggregations", {}).items()}})


def _explain(src: dict[str, Any]) -> str:
    rule: str = src["routing_rule"]
    dept = src["department"]
    topic = src["topic"]
    if rule.startswith("topic:"):
        return (f"topic {topic['label']!r} (score {topic['score']:.2f}) maps to department {dept!r} in the "
                "routing file's topics table")
    if rule.startswith("rule:"):
        return f"override rule {rule[5:]!r} matched first and sends it to department {dept!r}"
    if rule == "default":
        return f"no topic mapping or rule matched, so it went to the default department {dept!r}"
    return f"routing rule {rule!r} chose department {dept!r}"


def get_feedback(es: Elasticsearch, feedback_id: str, *, prefix: str) -> FeedbackItem | None:
    """One item by event id, with its routing explanation; None when no alias holds it.

    >>> get_feedback(es, "6c1f...", prefix="feedback").routing_explanation  # doctest: +SKIP
    "topic 'billing_payment' (score 0.82) maps to department 'billing' in the routing file's topics table"
    """
    targets = search_targets(es, prefix=prefix)
    if not targets:
        return None
    try:
        res = es.search(index=",".join(targets), query={"ids": {"values": [feedback_id]}}, size=1,
                        ignore_unavailable=True)
    except (ApiError, TransportError) as e:
        raise _unavailable(e) from e
    found = res["hits"]["hits"]
    if not found:
        return None
    src = found[0]["_source"]
    return FeedbackItem(
        id=found[0]["_id"], index=found[0]["_index"], channel=src["channel"], source=src["source"],
        received_at=src["received_at"], subject=src.get("subject"), text=src["text"], rating=src.get("rating"),
        language=src["language"], sentiment=src["sentiment"], topic=src["topic"], urgency=src["urgency"],
        urgency_reasons=src.get("urgency_reasons") or [], department=src["department"],
        routing_rule=src["routing_rule"], routing_explanation=_explain(src), model_version=src["model_version"],
        classified_at=src["classified_at"],
    )
