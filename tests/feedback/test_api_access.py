"""Department scope on every route, against the real Elasticsearch and the real alerts topic:
a billing key sees billing and nothing of orders (search, item by id, trends, alerts), a key of
two departments sees both, ops sees all, and a revoked key stops at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from kafka import KafkaProducer

from feedback.api import create_app
from feedback.keys import KeyStore
from feedback.schema import Alert, ClassifiedFeedback, Label
from feedback.settings import Settings
from sinks import IndexWriter, alias_name, ensure_department_indexes, make_client
from tests.conftest import isolated_stack
from tests.feedback.api_keys import bearer, issue_key, with_api
from tests.sinks.search_corpus import records

pytestmark = pytest.mark.integration

# Real texts from the search corpus, re-routed so that three departments hold some each.
REROUTE = {"customer_success": ("billing", "billing_payment"), "orders": ("orders", "orders_cancellation"),
           "logistics": ("logistics", "delivery_shipping")}
SINCE, UNTIL = "2026-02-28T00:00Z", "2026-03-20T00:00Z"

Stack = tuple[Settings, list[ClassifiedFeedback], list[Alert]]


def _docs() -> list[ClassifiedFeedback]:
    out = []
    for d in records():
        if d.department in REROUTE:
            dept, topic = REROUTE[d.department]
            out.append(d.model_copy(update={"department": dept, "topic": Label(label=topic, score=0.8),
                                            "routing_rule": f"topic:{topic}"}))
    return out


@pytest.fixture(scope="module")
def stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with isolated_stack(settings) as s:
        s = with_api(s, tmp_path_factory.mktemp("keys") / "keys.json")
        docs = _docs()
        es = make_client(s.es_url, settings=s.es, principal="ops")
        try:
            ensure_department_indexes(es, prefix=s.es.index_prefix, departments=sorted({d.department for d in docs}))
            writer = IndexWriter(s.es_url, settings=s.es, client=es)
            assert writer.write(docs, index_for=lambda d: alias_name(s.es.index_prefix, d.department), refresh=True) == []
        finally:
            es.close()
        now = datetime.now(UTC)
        alerts = [Alert(topic=topic, department=dept, window_start=now - timedelta(minutes=5), window_seconds=300,
                        count=30, baseline=2.0, p_value=1e-9) for dept, topic in REROUTE.values()]
        producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
        for alert in alerts:
            producer.send(s.kafka.alerts_topic, alert.model_dump_json().encode())
        producer.flush()
        producer.close()
        yield s, docs, alerts


@pytest.fixture(scope="module")
def app_client(stack: Stack) -> Iterator[TestClient]:
    with TestClient(create_app(stack[0])) as client:
        yield client


def _count(docs: list[ClassifiedFeedback], *departments: str) -> int:
    return sum(d.department in departments for d in docs)


def test_the_corpus_has_every_department(stack: Stack) -> None:
    counts = Counter(d.department for d in stack[1])
    assert set(counts) == {"billing", "orders", "logistics"} and min(counts.values()) > 3, counts


def test_billing_key_searches_billing_only(app_client: TestClient, stack: Stack) -> None:
    key = bearer(issue_key(stack[0], departments=["billing"]))
    body = app_client.get("/search", params={"size": 100}, headers=key).json()
    assert body["total"] == _count(stack[1], "billing")
    assert {h["department"] for h in body["hits"]} == {"billing"}
    assert set(body["facets"]["department"]) == {"billing"}
    refused = app_client.get("/search", params=[("department", "billing"), ("department", "orders")], headers=key)
    assert refused.status_code == 403 and "orders" in refused.json()["detail"]
    # A word that orders' texts hold finds nothing of orders.
    word = next(w for d in stack[1] if d.department == "orders" for w in d.redacted_text.split() if len(w) > 5)
    hits = app_client.get("/search", params={"q": word, "size": 100}, headers=key).json()["hits"]
    assert all(h["department"] == "billing" for h in hits)


def test_item_of_another_department_is_404_like_a_missing_one(app_client: TestClient, stack: Stack) -> None:
    key = bearer(issue_key(stack[0], departments=["billing"]))
    mine = next(d for d in stack[1] if d.department == "billing")
    theirs = next(d for d in stack[1] if d.department == "orders")
    assert app_client.get(f"/feedback/{mine.event.id}", headers=key).json()["department"] == "billing"
    hidden = app_client.get(f"/feedback/{theirs.event.id}", headers=key)
    missing = app_client.get("/feedback/no-such-id", headers=key)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(theirs.event.id, "ID") == missing.json()["detail"].replace("no-such-id", "ID")
    ops = bearer(issue_key(stack[0], roles=["ops"]))
    assert app_client.get(f"/feedback/{theirs.event.id}", headers=ops).status_code == 200


def test_trends_count_the_key_departments_only(app_client: TestClient, stack: Stack) -> None:
    key = bearer(issue_key(stack[0], departments=["billing"]))
    params = {"since": SINCE, "until": UNTIL, "interval": "1d"}
    body = app_client.get("/trends", params=params, headers=key).json()
    assert body["total"] == _count(stack[1], "billing")
    assert {t["topic"] for t in body["topics"]} == {"billing_payment"}
    assert app_client.get("/trends", params={**params, "department": "orders"}, headers=key).status_code == 403
    both = bearer(issue_key(stack[0], departments=["billing", "orders"]))
    assert app_client.get("/trends", params=params, headers=both).json()["total"] == _count(stack[1], "billing", "orders")


def test_alerts_of_the_key_departments_only(app_client: TestClient, stack: Stack) -> None:
    key = bearer(issue_key(stack[0], departments=["billing"]))
    alerts = app_client.get("/alerts", headers=key).json()["alerts"]
    assert [(a["department"], a["topic"]) for a in alerts] == [("billing", "billing_payment")]
    assert app_client.get("/alerts", params={"department": "orders"}, headers=key).status_code == 403
    ops = bearer(issue_key(stack[0], roles=["ops"]))
    assert {a["department"] for a in app_client.get("/alerts", headers=ops).json()["alerts"]} == {
        "billing", "orders", "logistics"}


def test_two_departments_and_ops(app_client: TestClient, stack: Stack) -> None:
    both = bearer(issue_key(stack[0], departments=["billing", "orders"]))
    body = app_client.get("/search", params={"size": 100}, headers=both).json()
    assert body["total"] == _count(stack[1], "billing", "orders")
    assert {h["department"] for h in body["hits"]} == {"billing", "orders"}
    only = app_client.get("/search", params={"department": "orders", "size": 100}, headers=both).json()
    assert only["total"] == _count(stack[1], "orders")
    ops = bearer(issue_key(stack[0], roles=["ops"]))
    assert app_client.get("/search", params={"size": 100}, headers=ops).json()["total"] == len(stack[1])


def test_a_revoked_key_is_refused_on_its_next_request(app_client: TestClient, stack: Stack) -> None:
    key = issue_key(stack[0], departments=["billing"])
    assert app_client.get("/search", headers={"X-API-Key": key}).status_code == 200
    KeyStore(stack[0].api_keys_file).revoke(key.split("_")[1])
    refused = app_client.get("/search", headers={"X-API-Key": key})
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_anonymous_and_wrong_keys_are_refused_on_the_real_stack(app_client: TestClient, tmp_path: Path) -> None:
    for headers in ({}, bearer("fbk_0123456789ab_" + "z" * 43), {"Authorization": "Basic dXNlcjpwdw=="}):
        for path in ("/search", "/trends", "/alerts", "/feedback/x", "/openapi.json"):
            assert app_client.get(path, headers=headers).status_code == 401, (path, headers)
