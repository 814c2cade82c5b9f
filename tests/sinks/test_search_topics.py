"""``--topic`` matches a message's primary topic or any secondary topic it was indexed with
(real Elasticsearch node, the sink's own template and writer)."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from feedback.schema import Label
from feedback.settings import Settings
from sinks import IndexWriter, alias_name, ensure_department_indexes
from sinks.search import SearchFilters, SearchRequest, build_filters, search
from tests.sinks.conftest import make_record


def test_topic_filter_matches_primary_or_secondary_topics() -> None:
    [clause] = build_filters(SearchFilters(topic=["product_quality"]))
    should = clause["bool"]["should"]
    assert {"term": {"topic.label": "product_quality"}} in should
    assert {"term": {"topics.label": "product_quality"}} in should
    assert clause["bool"]["minimum_should_match"] == 1


@pytest.mark.integration
def test_search_by_topic_finds_items_whose_secondary_topic_it_is(
    settings: Settings, es: Elasticsearch, prefix: str
) -> None:
    # «غذا خیلی دیر رسید و کاملا سرد بود»: delivery first, the food's quality second.
    late_and_cold = make_record(1, department="logistics").model_copy(update={
        "topic": Label(label="delivery_shipping", score=0.71),
        "topics": [Label(label="delivery_shipping", score=0.71), Label(label="product_quality", score=0.24)],
    })
    only_quality = make_record(2, department="product").model_copy(update={
        "topic": Label(label="product_quality", score=0.93), "topics": [Label(label="product_quality", score=0.93)],
    })
    only_late = make_record(3, department="logistics").model_copy(update={
        "topic": Label(label="delivery_shipping", score=0.95), "topics": [Label(label="delivery_shipping", score=0.95)],
    })
    ensure_department_indexes(es, prefix=prefix, departments=["logistics", "product"])
    writer = IndexWriter(settings.es_url, settings=settings.es, client=es)
    docs = [late_and_cold, only_quality, only_late]
    assert writer.write(docs, index_for=lambda d: alias_name(prefix, d.department), refresh=True) == []

    def ids(topic: str) -> set[str]:
        page = search(es, SearchRequest(filters=SearchFilters(topic=[topic]), size=10), prefix=prefix, max_page_size=50)
        return {h.id for h in page.hits}

    assert ids("product_quality") == {late_and_cold.event.id, only_quality.event.id}
    assert ids("delivery_shipping") == {late_and_cold.event.id, only_late.event.id}
    assert ids("billing_payment") == set()
    page = search(es, SearchRequest(filters=SearchFilters(topic=["product_quality"]), size=10), prefix=prefix,
                  max_page_size=50)
    hit = next(h for h in page.hits if h.id == late_and_cold.event.id)
    assert (hit.topic, hit.topics) == ("delivery_shipping", ["delivery_shipping", "product_quality"])
    stored = es.get(index=alias_name(prefix, "logistics"), id=late_and_cold.event.id)["_source"]
    assert [t["label"] for t in stored["topics"]] == ["delivery_shipping", "product_quality"]
