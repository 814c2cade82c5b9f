"""Session fixtures: the real local Kafka and Elasticsearch, started once by `feedback up`.

Unit tests need none of this. Integration tests (``@pytest.mark.integration``) take
``settings`` (the session's settings, services up) or ``isolated_settings`` (a random topic
and index prefix per test, topics created and deleted around it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from feedback.services import create_topics, up
from feedback.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[1]

# Tests put their indexes under random prefixes t<hex>: the service roles that `feedback up`
# creates on the secured node cover them too (also when a test runs `feedback up` itself), so
# every integration test runs as the real least-privileged users.
TEST_INDEX_PREFIXES = '["t*"]'
os.environ.setdefault("FEEDBACK_ES_ACCESS_PREFIXES", TEST_INDEX_PREFIXES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that stop and restart the shared services run last, so that no other test
    # holds a client across the restart.
    items.sort(key=lambda item: item.get_closest_marker("restarts_services") is not None)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings for the real stack; starts it (idempotent) the first time it is asked for."""
    from feedback.cli.wiring import load_routing_config

    s = get_settings()
    up(s, departments=[d.index for d in load_routing_config(s).departments])
    return s


def _with_prefixes(settings: Settings, prefix: str) -> Settings:
    return settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"topic_prefix": prefix}),
            "es": settings.es.model_copy(update={"index_prefix": prefix}),
        }
    )


@contextmanager
def isolated_stack(settings: Settings) -> Iterator[Settings]:
    """The real stack under a random topic/index prefix; deletes what it created (any scope)."""
    from kafka import KafkaAdminClient

    from sinks import make_client

    prefix = f"t{uuid.uuid4().hex[:10]}"
    s = _with_prefixes(settings, prefix)
    created = create_topics(s)
    yield s
    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    try:
        admin.delete_topics(created)
    finally:
        admin.close()
    es = make_client(s.es_url, settings=s.es, principal="ops")
    try:
        # Resolve names first: a node may refuse wildcard deletes (destructive_requires_name).
        indexes = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all", ignore_unavailable=True))
        if indexes:
            es.indices.delete(index=",".join(indexes))
        templates = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}*")
        for t in templates.get("index_templates", []) if templates.meta.status == 200 else []:
            es.indices.delete_index_template(name=t["name"])
    finally:
        es.close()


@pytest.fixture
def isolated_settings(settings: Settings) -> Iterator[Settings]:
    """The real stack under a random topic/index prefix; deletes what it created."""
    with isolated_stack(settings) as s:
        yield s


@pytest.fixture
def unique() -> str:
    """A short random suffix for names a test creates."""
    return uuid.uuid4().hex[:10]
