"""Fixtures of the sink tests: records to index, a real client, a random index prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from feedback.schema import ClassifiedFeedback, FeedbackEvent, Label, make_event_id
from feedback.settings import Settings
from sinks import make_client

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def make_record(n: int, *, department: str = "billing", channel: str = "email") -> ClassifiedFeedback:
    """One classified record with a deterministic id (so a rewrite targets the same document)."""
    event = FeedbackEvent(
        id=make_event_id(channel, "tests", f"item-{n}"),
        channel=channel,  # type: ignore[arg-type]
        source="tests",
        external_id=f"item-{n}",
        received_at=T0 + timedelta(minutes=n),
        author=f"author-{n % 7}",
        subject=f"Invoice {n}",
        text=f"I was charged twice for order {n}, my email is a{n}@example.com",
        original_text=f"I was charged twice for order {n}, my email is a{n}@example.com",
        rating=2,
        metadata={"thread": {"depth": n}},
    )
    return ClassifiedFeedback(
        event=event,
        language="en",
        sentiment=Label(label="negative", score=0.91),
        topic=Label(label="billing_payment", score=0.82),
        urgency="normal",
        department=department,
        routing_rule="topic:billing_payment",
        redacted_text=f"I was charged twice for order {n}, my email is [EMAIL]",
        redacted_subject=f"Invoice {n}",
        model_version="test-1",
        classified_at=T0 + timedelta(minutes=n, seconds=2),
    )


@pytest.fixture
def es(settings: Settings) -> Iterator[Elasticsearch]:
    client = make_client(settings.es_url, settings=settings.es, principal="ops")
    client.cluster.health(wait_for_status="yellow", timeout="30s")
    yield client
    client.close()


@pytest.fixture
def prefix(es: Elasticsearch) -> Iterator[str]:
    """A random index prefix; the indexes and the template made under it are deleted after."""
    p = f"t{uuid.uuid4().hex[:10]}"
    yield p
    # Resolve names first: a node may refuse wildcard deletes (destructive_requires_name).
    names = list(es.indices.get(index=f"{p}-*", expand_wildcards="all", ignore_unavailable=True))
    if names:
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=f"{p}-feedback")
