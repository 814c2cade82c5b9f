"""The sink against the real Elasticsearch node: indexes, aliases, bulk writes, outages."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, ConnectionError, Elasticsearch

from feedback.schema import ClassifiedFeedback
from feedback.settings import Settings
from sinks import (
    AsyncIndexWriter,
    Backoff,
    IndexWriter,
    alias_targets,
    create_next_versions,
    current_version,
    ensure_department_indexes,
    make_async_client,
    make_client,
    rollback,
    switch_aliases,
)
from tests.sinks.conftest import make_record

pytestmark = pytest.mark.integration

FAST = Backoff(initial=0.05, cap=0.2)


def _count(es: Elasticsearch, index: str) -> int:
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def test_template_indexes_and_aliases_are_created_once_even_when_called_twice(es: Elasticsearch, prefix: str) -> None:
    first = ensure_department_indexes(es, prefix=prefix, departments=["billing", "customer-success"])
    second = ensure_department_indexes(es, prefix=prefix, departments=["billing", "customer-success"])
    assert first == second == {"billing": f"{prefix}-billing-v1", "customer-success": f"{prefix}-customer-success-v1"}
    assert sorted(es.indices.get(index=f"{prefix}-*")) == [f"{prefix}-billing-v1", f"{prefix}-customer-success-v1"]
    mapping = es.indices.get_mapping(index=f"{prefix}-billing-v1")[f"{prefix}-billing-v1"]["mappings"]
    assert mapping["properties"]["topic"]["properties"]["label"]["type"] == "keyword"
    assert mapping["dynamic"] == "strict"


def _refresh_interval(es: Elasticsearch, index: str) -> str:
    return str(es.indices.get_settings(index=index)[index]["settings"]["index"]["refresh_interval"])


def test_refresh_interval_reaches_the_current_indexes_at_start_and_every_new_version(
    es: Elasticsearch, prefix: str, settings: Settings
) -> None:
    # The worker (its own least-privileged user) applies the setting: the latency mode's 200ms.
    worker = make_client(settings.es_url, settings=settings.es, principal="worker")
    try:
        ensure_department_indexes(worker, prefix=prefix, departments=["billing"])
        assert _refresh_interval(es, f"{prefix}-billing-v1") == "1s"
        ensure_department_indexes(worker, prefix=prefix, departments=["billing"], refresh_interval="200ms")
        assert _refresh_interval(es, f"{prefix}-billing-v1") == "200ms"
    finally:
        worker.close()
    new = create_next_versions(es, prefix=prefix, departments=["billing"], refresh_interval="200ms")
    assert _refresh_interval(es, new["billing"]) == "200ms"


def test_a_missing_alias_is_restored_on_the_existing_index(es: Elasticsearch, prefix: str) -> None:
    ensure_department_indexes(es, prefix=prefix, departments=["billing"])
    es.indices.delete_alias(index=f"{prefix}-billing-v1", name=f"{prefix}-billing")
    assert ensure_department_indexes(es, prefix=prefix, departments=["billing"]) == {"billing": f"{prefix}-billing-v1"}


def test_bulk_of_100_is_indexed_once_and_a_rewrite_keeps_100(es: Elasticsearch, prefix: str, settings: Settings) -> None:
    ensure_department_indexes(es, prefix=prefix, departments=["billing"])
    writer = IndexWriter(settings.es_url, settings=settings.es, client=es, backoff=FAST)
    records = [make_record(n) for n in range(100)]
    assert writer.write(records, index_for=lambda r: f"{prefix}-billing", refresh=True) == []
    assert _count(es, f"{prefix}-billing") == 100
    assert writer.write(records, index_for=lambda r: f"{prefix}-billing", refresh=True) == []
    assert _count(es, f"{prefix}-billing") == 100
    hit = es.get(index=f"{prefix}-billing", id=records[7].event.id)["_source"]
    assert hit["text"] == "I was charged twice for order 7, my email is [EMAIL]"


def _bad_rating(record: ClassifiedFeedback) -> ClassifiedFeedback:
    # A value the mapping refuses (byte field, 10_000) that the pydantic model cannot carry,
    # so it is planted the way a schema drift would plant it: in the event after validation.
    event = record.event.model_copy(update={"rating": 10_000})
    return record.model_copy(update={"event": event})


def test_a_document_refused_for_itself_comes_back_with_the_reason_and_the_others_are_indexed(
    es: Elasticsearch, prefix: str, settings: Settings
) -> None:
    ensure_department_indexes(es, prefix=prefix, departments=["billing"])
    writer = IndexWriter(settings.es_url, settings=settings.es, client=es, backoff=FAST)
    records = [make_record(n) for n in range(10)]
    records[4] = _bad_rating(records[4])
    failures = writer.write(records, index_for=lambda r: f"{prefix}-billing", refresh=True)
    assert [f.event_id for f in failures] == [records[4].event.id]
    assert failures[0].status == 400
    assert "rating" in failures[0].reason and "exception" in failures[0].reason
    assert _count(es, f"{prefix}-billing") == 9


class FailingBulkClient(Elasticsearch):
    """A real client whose first ``fail`` bulk requests fail as if the node were down."""

    def __init__(self, real: Elasticsearch, *, fail: int) -> None:
        self.__dict__.update(real.__dict__)
        self.remaining = fail
        self.bulk_calls = 0

    def options(self, **kwargs: Any) -> FailingBulkClient:
        return self  # the bulk helper calls options(); keep the fault in place

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        self.bulk_calls += 1
        if self.remaining > 0:
            self.remaining -= 1
            raise ConnectionError("Connection refused (injected outage)")
        return super().bulk(*args, **kwargs)


def test_sync_writer_waits_through_an_outage_and_indexes_every_document_once(
    es: Elasticsearch, prefix: str, settings: Settings
) -> None:
    ensure_department_indexes(es, prefix=prefix, departments=["billing"])
    flaky = FailingBulkClient(es, fail=4)
    writer = IndexWriter(settings.es_url, settings=settings.es, client=flaky, backoff=FAST)
    records = [make_record(n) for n in range(50)]
    assert writer.write(records, index_for=lambda r: f"{prefix}-billing", refresh=True) == []
    assert flaky.bulk_calls == 5
    ids = {h["_id"] for h in es.search(index=f"{prefix}-billing", size=100)["hits"]["hits"]}
    assert ids == {r.event.id for r in records}
    assert _count(es, f"{prefix}-billing") == 50


class FailingAsyncBulkClient(AsyncElasticsearch):
    """The async twin of :class:`FailingBulkClient`."""

    def __init__(self, real: AsyncElasticsearch, *, fail: int) -> None:
        self.__dict__.update(real.__dict__)
        self.remaining = fail
        self.bulk_calls = 0

    def options(self, **kwargs: Any) -> FailingAsyncBulkClient:
        return self

    async def bulk(self, *args: Any, **kwargs: Any) -> Any:
        self.bulk_calls += 1
        if self.remaining > 0:
            self.remaining -= 1
            raise ConnectionError("Connection refused (injected outage)")
        return await super().bulk(*args, **kwargs)


def test_async_writer_waits_through_an_outage_routes_to_aliases_and_reports_refusals(
    es: Elasticsearch, prefix: str, settings: Settings
) -> None:
    ensure_department_indexes(es, prefix=prefix, departments=["billing", "customer-success"])
    records = [make_record(n, department="billing" if n % 2 else "customer_success") for n in range(40)]
    records[5] = _bad_rating(records[5])

    async def run() -> tuple[list[Any], int]:
        flaky = FailingAsyncBulkClient(make_async_client(settings.es_url, settings=settings.es, principal="worker"), fail=3)
        sink = AsyncIndexWriter(settings.es_url, settings=settings.es, prefix=prefix, backoff=FAST, client=flaky,
                                index_of_department={"billing": "billing", "customer_success": "customer-success"})
        try:
            failures = await sink.write(records, refresh=True)
            failures += await sink.write(records[:10], refresh=True)  # at-least-once redelivery
            return failures, flaky.bulk_calls
        finally:
            await sink.close()

    failures, calls = asyncio.run(run())
    assert calls == 3 + 2
    assert [f.event_id for f in failures] == [records[5].event.id] * 2
    assert _count(es, f"{prefix}-billing") == 19
    assert _count(es, f"{prefix}-customer-success") == 20
    doc = es.get(index=f"{prefix}-customer-success", id=records[0].event.id)["_source"]
    assert doc["department"] == "customer_success"


def test_async_writer_refuses_a_department_without_an_alias_instead_of_auto_creating_an_index(
    es: Elasticsearch, prefix: str, settings: Settings
) -> None:
    async def run() -> list[Any]:
        sink = AsyncIndexWriter(settings.es_url, settings=settings.es, prefix=prefix, backoff=FAST,
                                index_of_department={"billing": "billing"})
        try:
            return await sink.write([make_record(1)])
        finally:
            await sink.close()

    failures = asyncio.run(run())
    assert len(failures) == 1 and failures[0].status == 404
    assert list(es.indices.get(index=f"{prefix}-*", ignore_unavailable=True)) == []


def test_switching_aliases_is_one_atomic_update_and_rollback_returns_to_the_old_version(
    es: Elasticsearch, prefix: str, settings: Settings
) -> None:
    depts = ["billing", "logistics"]
    ensure_department_indexes(es, prefix=prefix, departments=depts)
    writer = IndexWriter(settings.es_url, settings=settings.es, client=es, backoff=FAST)
    writer.write([make_record(n) for n in range(3)], index_for=lambda r: f"{prefix}-billing", refresh=True)

    new = create_next_versions(es, prefix=prefix, departments=depts)
    assert new == {"billing": f"{prefix}-billing-v2", "logistics": f"{prefix}-logistics-v2"}
    writer.write([make_record(n) for n in range(5)], index_for=lambda r: new["billing"], refresh=True)
    assert _count(es, f"{prefix}-billing") == 3  # readers still see v1

    calls: list[list[dict[str, Any]]] = []
    real_update = es.indices.update_aliases

    def spy(*, actions: list[dict[str, Any]], **kw: Any) -> Any:
        calls.append(actions)
        return real_update(actions=actions, **kw)

    es.indices.update_aliases = spy  # type: ignore[method-assign]
    try:
        switch_aliases(es, prefix=prefix, targets=new)
    finally:
        del es.indices.update_aliases
    assert len(calls) == 1 and len(calls[0]) == 4
    assert alias_targets(es, prefix=prefix, departments=depts) == new
    assert current_version(es, prefix=prefix, department="billing") == 2
    assert _count(es, f"{prefix}-billing") == 5
    assert es.indices.exists(index=f"{prefix}-billing-v1")

    assert rollback(es, prefix=prefix, departments=depts) == {
        "billing": f"{prefix}-billing-v1", "logistics": f"{prefix}-logistics-v1"}
    assert _count(es, f"{prefix}-billing") == 3
    assert ensure_department_indexes(es, prefix=prefix, departments=depts)["billing"] == f"{prefix}-billing-v1"


def test_versions_are_ordered_by_number_not_by_string(es: Elasticsearch, prefix: str) -> None:
    ensure_department_indexes(es, prefix=prefix, departments=["billing"])
    for _ in range(9):
        latest = create_next_versions(es, prefix=prefix, departments=["billing"])
    assert latest == {"billing": f"{prefix}-billing-v10"}
    switch_aliases(es, prefix=prefix, targets=latest)
    assert current_version(es, prefix=prefix, department="billing") == 10
    assert rollback(es, prefix=prefix, departments=["billing"]) == {"billing": f"{prefix}-billing-v9"}


def test_elasticsearch_down_while_events_flow_then_back_every_event_indexed_once(
    es: Elasticsearch, prefix: str, settings: Settings
) -> None:
    """A real outage at the socket level: the writer waits (backpressure), then finishes."""
    from urllib.parse import urlparse

    from tests.sinks.proxy import TcpProxy

    ensure_department_indexes(es, prefix=prefix, departments=["billing"])
    target = urlparse(settings.es_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 9200, scheme=target.scheme)
    proxy.start()
    batches = [[make_record(n) for n in range(b * 25, b * 25 + 25)] for b in range(4)]

    async def run() -> list[Any]:
        sink = AsyncIndexWriter(proxy.url, settings=settings.es, prefix=prefix, backoff=Backoff(initial=0.1, cap=0.5),
                                index_of_department={"billing": "billing"})
        try:
            failures = await sink.write(batches[0])
            proxy.stop()  # Elasticsearch "stops" between two batches
            pending = asyncio.ensure_future(sink.write(batches[1]))
            await asyncio.sleep(2.0)
            assert not pending.done(), "the writer returned while Elasticsearch was unreachable"
            proxy.start()  # ...and comes back
            failures += await asyncio.wait_for(pending, timeout=60)
            for batch in batches[2:]:
                failures += await sink.write(batch)
            failures += await sink.write(batches[1])  # redelivered after a crash: no double
            return failures
        finally:
            await sink.close()

    try:
        assert asyncio.run(run()) == []
    finally:
        proxy.stop()
    assert _count(es, f"{prefix}-billing") == 100
    ids = [h["_id"] for h in es.search(index=f"{prefix}-billing", size=200)["hits"]["hits"]]
    assert sorted(ids) == sorted(r.event.id for b in batches for r in b)


def test_a_concurrent_reader_sees_the_old_or_the_new_versions_never_a_mix(
    es: Elasticsearch, prefix: str, settings: Settings
) -> None:
    """The atomic switch observed by the real node's readers, not by counting client calls."""
    import threading

    depts = ["billing", "logistics"]
    ensure_department_indexes(es, prefix=prefix, departments=depts)
    writer = IndexWriter(settings.es_url, settings=settings.es, client=es, backoff=FAST)
    writer.write([make_record(n) for n in range(3)], index_for=lambda r: f"{prefix}-billing", refresh=True)
    writer.write([make_record(n) for n in range(3, 5)], index_for=lambda r: f"{prefix}-logistics", refresh=True)
    new = create_next_versions(es, prefix=prefix, departments=depts)
    writer.write([make_record(n) for n in range(10, 17)], index_for=lambda r: new["billing"], refresh=True)
    writer.write([make_record(n) for n in range(17, 28)], index_for=lambda r: new["logistics"], refresh=True)
    aliases = f"{prefix}-billing,{prefix}-logistics"
    # old: 3 + 2 = 5; new: 7 + 11 = 18; one alias moved without the other: 3 + 11 or 7 + 2;
    # an alias on both versions: more; an alias on none: fewer.
    seen: list[object] = []
    stop = threading.Event()

    def read() -> None:
        reader = make_client(settings.es_url, settings=settings.es, principal="api")
        try:
            while not stop.is_set():
                try:
                    seen.append(int(reader.count(index=aliases, ignore_unavailable=False)["count"]))
                except Exception as e:  # an alias that points nowhere for a moment is a failure too
                    seen.append(repr(e))
        finally:
            reader.close()

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        time.sleep(0.5)
        switch_aliases(es, prefix=prefix, targets=new)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in readers:
            t.join(10)
    # Both states were read (the readers ran across the switch), and nothing else ever was.
    assert set(seen) == {5, 18}, sorted({str(s) for s in seen})


@pytest.mark.restarts_services
def test_sync_writer_waits_while_the_node_is_stopped_and_indexes_everything_once_when_it_is_back(
    es: Elasticsearch, prefix: str, settings: Settings
) -> None:
    """A real outage: the local node is stopped (its process ends), then started again."""
    import threading

    from feedback.services.elasticsearch import LocalElasticsearch
    from feedback.services.process import stop_pid

    if not settings.manages_es:
        pytest.skip("Elasticsearch is external (FEEDBACK_ES_URL); the test only stops the local node")
    ensure_department_indexes(es, prefix=prefix, departments=["billing"])
    node = LocalElasticsearch(settings)
    records = [make_record(n) for n in range(50)]
    writer = IndexWriter(settings.es_url, settings=settings.es, backoff=Backoff(initial=0.2, cap=2.0))
    writer.write(records[:10], index_for=lambda r: f"{prefix}-billing", refresh=True)
    result: list[Any] = []
    try:
        assert stop_pid(node.pid_file, marker=str(settings.services.home), timeout=60, name="Elasticsearch")
        pending = threading.Thread(
            target=lambda: result.append(writer.write(records, index_for=lambda r: f"{prefix}-billing", refresh=True)))
        pending.start()
        time.sleep(8)
        assert pending.is_alive() and not result, f"the writer returned while the node was down: {result}"
    finally:
        if not node.ready():
            node.start()
    pending.join(180)
    assert result == [[]], result
    es.cluster.health(wait_for_status="yellow", timeout="60s")
    assert _count(es, f"{prefix}-billing") == 50
    ids = {h["_id"] for h in es.search(index=f"{prefix}-billing", size=100)["hits"]["hits"]}
    assert ids == {r.event.id for r in records}
