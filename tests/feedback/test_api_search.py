"""``GET /search``, ``/feedback/{id}``, ``/trends``, ``/alerts`` and the OpenAPI schema,
against the real Elasticsearch (real texts) and the real Kafka alerts topic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from kafka import KafkaProducer

from feedback.api.app import create_app
from feedback.schema import Alert, ClassifiedFeedback
from feedback.settings import Settings
from tests.feedback.api_keys import bearer, issue_key, with_api
from tests.sinks.search_corpus import indexed_corpus

pytestmark = pytest.mark.integration

Corpus = tuple[Settings, Elasticsearch, list[ClassifiedFeedback]]


@pytest.fixture(scope="module")
def corpus(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    with indexed_corpus(settings) as (s, es, docs):
        yield with_api(s, tmp_path_factory.mktemp("keys") / "keys.json"), es, docs


@pytest.fixture(scope="module")
def client(corpus: Corpus) -> Iterator[TestClient]:
    """An ops key: these tests are about search itself (department scope: test_api_access.py)."""
    with TestClient(create_app(corpus[0]), headers=bearer(issue_key(corpus[0], roles=["ops"]))) as c:
        yield c


def test_search_with_filters_and_highlights(client: TestClient, corpus: Corpus) -> None:
    res = client.get("/search", params={"q": "سرد", "language": "fa", "sentiment": "negative", "size": 50})
    assert res.status_code == 200, res.text
    body = res.json()
    expected = {d.event.id for d in corpus[2] if "سرد" in d.redacted_text.split() and d.sentiment.label == "negative"}
    assert expected, "the corpus has no negative Persian text with the word; the test would prove nothing"
    assert {h["id"] for h in body["hits"]} == expected and body["total"] == len(expected)
    assert all("<mark>سرد</mark>" in " ".join(h["highlights"]) for h in body["hits"])


def test_repeated_filter_values_mean_any_of_them(client: TestClient, corpus: Corpus) -> None:
    res = client.get("/search", params=[("department", "orders"), ("department", "product"), ("size", "100")])
    assert res.json()["total"] == sum(d.department in ("orders", "product") for d in corpus[2])
    only_orders = client.get("/search", params={"department": "orders", "size": "100"}).json()["total"]
    assert 0 < only_orders < res.json()["total"]


def test_arabic_variant_query_matches_like_persian(client: TestClient) -> None:
    a = client.get("/search", params={"q": "كيفيت"}).json()
    p = client.get("/search", params={"q": "کیفیت"}).json()
    assert a["query"] == "کیفیت" and a["total"] == p["total"] > 0


def test_time_sort_and_since_until(client: TestClient, corpus: Corpus) -> None:
    res = client.get("/search", params={"sort": "time", "since": "2026-03-02T00:00:00Z", "until": "2026-03-02T12:00Z",
                                        "size": 100}).json()
    lo, hi = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert res["total"] == sum(lo <= d.event.received_at < hi for d in corpus[2]) > 0
    times = [h["received_at"] for h in res["hits"]]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"size": "101"}, 400, "at most 100"),
        ({"since": "yesterday-ish"}, 400, "ISO 8601"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, 400, "since before"),
        ({"page": "0"}, 422, "greater than or equal to 1"),
        ({"sort": "random"}, 422, "relevance"),
    ],
)
def test_bad_parameters_get_clear_errors(client: TestClient, params: dict[str, str], status: int, fragment: str) -> None:
    res = client.get("/search", params=params)
    assert res.status_code == status
    assert fragment in str(res.json()["detail"])


def test_feedback_item_with_routing_explanation(client: TestClient, corpus: Corpus) -> None:
    doc = next(d for d in corpus[2] if d.department == "customer_success")
    body = client.get(f"/feedback/{doc.event.id}").json()
    assert body["id"] == doc.event.id and body["routing_rule"] == doc.routing_rule
    assert body["topic"]["label"] == doc.topic.label and "customer_success" in body["routing_explanation"]
    missing = client.get("/feedback/nope")
    assert missing.status_code == 404 and "GET /search" in missing.json()["detail"]


def test_trends_equal_counts_of_the_documents(client: TestClient, corpus: Corpus) -> None:
    body = client.get("/trends", params={"since": "2026-03-02T00:00Z", "until": "2026-03-04T00:00Z",
                                         "interval": "12h", "department": "triage"}).json()
    lo, hi = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
    mine = [d for d in corpus[2] if d.department == "triage" and lo <= d.event.received_at < hi]
    assert body["total"] == len(mine) > 0
    [other] = [t for t in body["topics"] if t["topic"] == "other"]
    assert other["sentiment"] == dict(Counter(d.sentiment.label for d in mine))
    assert len(other["buckets"]) == 4 and sum(b["total"] for b in other["buckets"]) == len(mine)
    assert client.get("/trends", params={"interval": "1s"}).status_code == 400


def test_openapi_lists_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/feedback/{feedback_id}", "/trends", "/alerts"} <= set(paths)
    names = {p["name"] for p in paths["/search"]["get"]["parameters"]}
    assert {"q", "department", "channel", "sentiment", "topic", "language", "urgency", "since", "until", "sort",
            "page", "size"} <= names


def test_the_page_is_served_whole_with_its_script_inlined(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'dir="auto"' in page.text and "function runSearch" in page.text
    assert "cdn" not in page.text.lower() and "/static/" not in page.text
    assert client.get("/static/app.js").status_code == 404  # nothing else serves files
    assert client.get("/static/..%2Fapp.py").status_code == 404


def test_alerts_are_read_from_the_alerts_topic(isolated_settings: Settings, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    spike = Alert(topic="app_bug", department="engineering", window_start=now - timedelta(minutes=5),
                  window_seconds=300, count=25, baseline=1.2, p_value=1e-8)
    stale = spike.model_copy(update={"topic": "account", "raised_at": now - timedelta(days=3)})
    producer = KafkaProducer(bootstrap_servers=isolated_settings.kafka_bootstrap)
    for alert in (stale, spike):
        producer.send(isolated_settings.kafka.alerts_topic, alert.model_dump_json().encode(), key=alert.topic.encode())
    producer.flush()
    producer.close()
    s = with_api(isolated_settings, tmp_path / "keys.json")
    with TestClient(create_app(s), headers=bearer(issue_key(s, roles=["ops"]))) as c:
        body = c.get("/alerts", params={"within": "24h"}).json()
        assert [Alert.model_validate(a) for a in body["alerts"]] == [spike]
        assert c.get("/alerts", params={"department": "billing"}).json()["alerts"] == []
        assert len(c.get("/alerts", params={"within": "7d"}).json()["alerts"]) == 2


def test_elasticsearch_down_is_503_with_one_line(settings: Settings, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = settings.model_copy(update={"es": settings.es.model_copy(update={"url": f"http://127.0.0.1:{port}",
                                                                           "request_timeout": 2.0})})
    down = with_api(down, tmp_path / "keys.json")
    with TestClient(create_app(down), headers=bearer(issue_key(down, roles=["ops"]))) as c:
        res = c.get("/search", params={"q": "x"})
        assert res.status_code == 503 and "FEEDBACK_ES_URL" in res.json()["detail"]
        assert c.get("/trends").status_code == 503
