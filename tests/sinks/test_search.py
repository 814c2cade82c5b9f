"""Search against a real Elasticsearch node holding real feedback texts (English tweets,
Persian reviews) indexed through the sink's template, aliases and ``to_document``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from feedback.errors import InvalidInput
from feedback.schema import ClassifiedFeedback
from feedback.settings import Settings
from feedback.text import normalise
from sinks import PLUGIN, create_next_versions, index_template
from sinks.search import (
    SearchFilters,
    SearchRequest,
    build_filters,
    build_search_body,
    get_feedback,
    search,
    search_targets,
)
from tests.sinks.search_corpus import indexed_corpus

Corpus = tuple[Settings, Elasticsearch, list[ClassifiedFeedback]]


@pytest.fixture(scope="module")
def corpus(settings: Settings) -> Iterator[Corpus]:
    with indexed_corpus(settings) as c:
        yield c


def _tokens(text: str) -> list[str]:
    # Like the standard tokenizer: a ZWNJ joins a Persian word (بی‌کیفیت is one token).
    return re.findall(r"[\w\u200c]+", normalise(text).lower())


def _words(text: str) -> set[str]:
    # The tokens and, like the Persian analyzer, the parts a ZWNJ joins (بی‌کیفیت holds کیفیت).
    tokens = _tokens(text)
    return {*tokens, *(part for t in tokens for part in t.split("\u200c"))}


def _with_all(docs: list[ClassifiedFeedback], query: str) -> set[str]:
    words = set(_tokens(query))
    return {d.event.id for d in docs if words <= _words(d.redacted_text)}


def _with_phrase(docs: list[ClassifiedFeedback], query: str) -> set[str]:
    phrase = " ".join(_tokens(query))
    return {d.event.id for d in docs if f" {phrase} " in f" {' '.join(_tokens(d.redacted_text))} "}


def _run(c: Corpus, request: SearchRequest):  # type: ignore[no-untyped-def]
    s, es, _ = c
    return search(es, request, prefix=s.es.index_prefix, max_page_size=s.api.max_page_size)


# --- pure parts ---------------------------------------------------------------------


def test_query_text_is_normalised_like_indexed_text() -> None:
    body = build_search_body(SearchRequest(query="  كيفيت  ۱۸ "))
    assert body["query"]["bool"]["must"][0]["multi_match"]["query"] == "کیفیت 18"


def test_filters_become_term_and_range_clauses() -> None:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    clauses = build_filters(SearchFilters(topic=["a", "b"], urgency=["high"], since=since))
    topic = next(c for c in clauses if "bool" in c)["bool"]["should"]
    assert {"terms": {"topic.label": ["a", "b"]}} in topic and {"terms": {"topics.label": ["a", "b"]}} in topic
    assert {"term": {"urgency": "high"}} in clauses
    assert {"range": {"received_at": {"gte": since.isoformat()}}} in clauses


def test_page_size_over_the_limit_is_refused_with_the_limit() -> None:
    with pytest.raises(InvalidInput, match="at most 50"):
        build_search_body(SearchRequest(size=51), max_page_size=50)


def test_paging_past_the_result_window_is_refused() -> None:
    with pytest.raises(InvalidInput, match="narrow the search"):
        build_search_body(SearchRequest(page=200, size=100))


def test_since_after_until_is_refused() -> None:
    late, early = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="since before --until"):
        build_filters(SearchFilters(since=late, until=early))


def test_filter_fields_exist_in_the_sink_template() -> None:
    props = index_template("x", analyzers=PLUGIN)["template"]["mappings"]["properties"]
    clauses = build_filters(SearchFilters(department=["d"], channel=["c"], sentiment=["s"], topic=["t"],
                                          language=["l"], urgency=["u"]))
    flat = [c for c in clauses if "bool" not in c] + [s for c in clauses if "bool" in c for s in c["bool"]["should"]]
    assert len(flat) == 7
    for clause in flat:
        field = next(iter(next(iter(clause.values()))))
        top, _, sub = field.partition(".")
        mapping = props[top]["properties"][sub] if sub else props[top]
        assert mapping["type"] == "keyword", field


# --- ranking on real texts ----------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("query", ["late flight", "lost luggage", "customer service"])
def test_english_items_with_every_word_rank_first(corpus: Corpus, query: str) -> None:
    expected = _with_all(corpus[2], query)
    assert expected, f"the corpus must hold an answer for {query!r}"
    page = _run(corpus, SearchRequest(query=query, size=len(expected)))
    assert {h.id for h in page.hits} == expected


@pytest.mark.integration
def test_persian_phrase_ranks_above_items_with_the_words_apart(corpus: Corpus) -> None:
    query = "سرد بود"  # "it was cold"
    phrase, both = _with_phrase(corpus[2], query), _with_all(corpus[2], query)
    assert 0 < len(phrase) < len(both)
    page = _run(corpus, SearchRequest(query=query, size=len(both)))
    ids = [h.id for h in page.hits]
    assert set(ids[: len(phrase)]) == phrase
    assert set(ids) == both


@pytest.mark.integration
def test_arabic_letter_variants_find_the_persian_texts(corpus: Corpus) -> None:
    persian = _run(corpus, SearchRequest(query="کیفیت", size=50))
    arabic = _run(corpus, SearchRequest(query="كيفيت", size=50))  # Arabic kaf and yeh
    assert persian.total == len(_with_all(corpus[2], "کیفیت")) > 0
    assert [h.id for h in arabic.hits] == [h.id for h in persian.hits]
    assert all("<mark>کیفیت</mark>" in " ".join(h.highlights) for h in arabic.hits)


@pytest.mark.integration
def test_highlights_are_html_escaped_with_marks(corpus: Corpus) -> None:
    page = _run(corpus, SearchRequest(query="luggage", size=20))
    assert page.hits
    for hit in page.hits:
        joined = " ".join(hit.highlights)
        assert re.search(r"<mark>luggage</mark>", joined, re.IGNORECASE)
        assert "<" not in re.sub(r"</?mark>", "", joined)


# --- filters, sorting, paging -------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        (SearchFilters(language=["fa"]), lambda d: d.language == "fa"),
        (SearchFilters(department=["logistics"], sentiment=["negative"]),
         lambda d: d.department == "logistics" and d.sentiment.label == "negative"),
        (SearchFilters(channel=["social"], topic=["praise", "customer_service"]),
         lambda d: d.event.channel.value == "social" and d.topic.label in ("praise", "customer_service")),
        (SearchFilters(urgency=["high"]), lambda d: d.urgency == "high"),
        (SearchFilters(since=datetime(2026, 3, 3, tzinfo=UTC), until=datetime(2026, 3, 4, 12, tzinfo=UTC)),
         lambda d: datetime(2026, 3, 3, tzinfo=UTC) <= d.event.received_at < datetime(2026, 3, 4, 12, tzinfo=UTC)),
    ],
)
def test_filters_return_exactly_the_matching_items(corpus: Corpus, filters: SearchFilters, keep) -> None:  # type: ignore[no-untyped-def]
    expected = {d.event.id for d in corpus[2] if keep(d)}
    first = _run(corpus, SearchRequest(filters=filters, size=100, sort="time"))
    second = _run(corpus, SearchRequest(filters=filters, page=2, size=100, sort="time"))
    assert first.total == len(expected) > 0
    assert {h.id for h in first.hits + second.hits} == expected
    assert sum(first.facets["language"].values()) == len(expected)


@pytest.mark.integration
def test_filters_and_query_combine(corpus: Corpus) -> None:
    expected = {d.event.id for d in corpus[2] if "سرد" in _tokens(d.redacted_text) and d.sentiment.label == "negative"}
    page = _run(corpus, SearchRequest(query="سرد", filters=SearchFilters(sentiment=["negative"]), size=100))
    assert {h.id for h in page.hits} == expected and expected


@pytest.mark.integration
def test_time_sort_and_pages_walk_every_item_once(corpus: Corpus) -> None:
    seen: list[datetime] = []
    ids: list[str] = []
    for page_no in range(1, 5):
        page = _run(corpus, SearchRequest(sort="time", page=page_no, size=100))
        seen += [h.received_at for h in page.hits]
        ids += [h.id for h in page.hits]
    assert len(ids) == len(set(ids)) == len(corpus[2]) == 300
    assert seen == sorted(seen, reverse=True)


# --- one item, aliases --------------------------------------------------------------


@pytest.mark.integration
def test_get_feedback_explains_the_routing(corpus: Corpus) -> None:
    s, es, docs = corpus
    doc = next(d for d in docs if d.department == "logistics")
    item = get_feedback(es, doc.event.id, prefix=s.es.index_prefix)
    assert item is not None
    assert (item.department, item.routing_rule, item.text) == ("logistics", doc.routing_rule, doc.redacted_text)
    assert "delivery_shipping" in item.routing_explanation and "logistics" in item.routing_explanation
    assert get_feedback(es, "no-such-id", prefix=s.es.index_prefix) is None


@pytest.mark.integration
def test_only_aliases_are_searched_so_a_new_version_never_doubles(corpus: Corpus) -> None:
    s, es, docs = corpus
    prefix = s.es.index_prefix
    before = _run(corpus, SearchRequest(size=1)).total
    new = create_next_versions(es, prefix=prefix, departments=["triage"])
    doc = next(d for d in docs if d.department == "triage")
    es.index(index=new["triage"], id=doc.event.id, document={"id": doc.event.id}, refresh=True)
    assert all(not t.endswith("-v2") for t in search_targets(es, prefix=prefix))
    assert _run(corpus, SearchRequest(size=1)).total == before == len(docs)


def test_an_unreachable_node_is_a_service_error_naming_the_setting() -> None:
    import socket

    from feedback.errors import ServiceError

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    es = Elasticsearch(f"http://127.0.0.1:{port}", request_timeout=2, max_retries=0)
    try:
        with pytest.raises(ServiceError, match="FEEDBACK_ES_URL"):
            search(es, SearchRequest(query="x"), prefix="feedback")
    finally:
        es.close()
