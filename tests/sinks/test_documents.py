"""Pure pieces of the sink: documents, the template, backoff and bulk result sorting."""

from __future__ import annotations

import pytest
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

from feedback.errors import SinkUnavailable
from sinks import (
    NO_ANALYZERS,
    PLUGIN,
    Backoff,
    bulk_actions,
    index_template,
    is_transient_error,
    sort_results,
    to_document,
)
from sinks.bulk import _Progress
from tests.sinks.conftest import make_record


def test_to_document_uses_the_event_id_and_only_the_redacted_text() -> None:
    record = make_record(3)
    _id, body = to_document(record)
    assert _id == record.event.id == body["id"]
    assert body["text"] == "I was charged twice for order 3, my email is [EMAIL]"
    assert "a3@example.com" not in repr(body)
    assert body["department"] == "billing"
    assert body["sentiment"] == {"label": "negative", "score": 0.91}
    assert body["topic"]["label"] == "billing_payment"
    assert body["received_at"] == "2026-03-01T09:33:00+00:00"


def test_every_document_field_is_mapped_by_the_strict_template() -> None:
    _id, body = to_document(make_record(1))
    mapping = index_template("feedback", analyzers=PLUGIN)["template"]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert set(body) <= set(mapping["properties"])


def test_template_types_filters_as_keywords_scores_as_floats_text_as_standard() -> None:
    tpl = index_template("acme", analyzers=NO_ANALYZERS)
    props = tpl["template"]["mappings"]["properties"]
    assert tpl["index_patterns"] == ["acme-*-v*"]
    assert tpl["template"]["settings"]["number_of_replicas"] == 0
    for field in ("id", "channel", "department", "language", "urgency", "author", "source", "routing_rule"):
        assert props[field]["type"] == "keyword", field
    for field in ("sentiment", "topic"):
        assert props[field]["properties"] == {"label": {"type": "keyword"}, "score": {"type": "float"}}
    assert props["received_at"]["type"] == props["classified_at"]["type"] == "date"
    assert props["text"] == {"type": "text", "analyzer": "standard"}
    assert props["subject"]["fields"]["raw"]["type"] == "keyword"
    assert props["metadata"] == {"type": "object", "enabled": False}


def test_bulk_actions_index_each_record_under_its_id_into_the_chosen_index() -> None:
    records = [make_record(1), make_record(2, department="logistics")]
    actions = bulk_actions(records, lambda r: f"feedback-{r.department}")
    assert [(a["_op_type"], a["_index"], a["_id"]) for a in actions] == [
        ("index", "feedback-billing", records[0].event.id),
        ("index", "feedback-logistics", records[1].event.id),
    ]


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [Backoff(initial=0.5, cap=3).delay(a) for a in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert Backoff(initial=1, cap=30).delay(10_000) == 30.0


def _item(_id: str, status: int, error: dict[str, str] | None = None) -> dict[str, dict[str, object]]:
    info: dict[str, object] = {"_id": _id, "status": status}
    if error is not None:
        info["error"] = error
    return {"index": info}


def test_sort_results_retries_429_and_5xx_and_reports_4xx_with_the_reason() -> None:
    accepted, retry, failed = sort_results([
        (True, _item("a", 201)),
        (True, _item("b", 200)),
        (False, _item("c", 429, {"type": "es_rejected_execution_exception", "reason": "queue full"})),
        (False, _item("d", 503, {"type": "unavailable_shards_exception", "reason": "primary not active"})),
        (False, _item("e", 400, {"type": "document_parsing_exception", "reason": "failed to parse field [rating]"})),
        (False, _item("f", 413, {"type": "too_large", "reason": "document too large"})),
    ])
    assert accepted == {"a", "b"}
    assert retry == {"c", "d"}
    assert [(f.event_id, f.status, f.reason) for f in failed] == [
        ("e", 400, "document_parsing_exception: failed to parse field [rating]"),
        ("f", 413, "too_large: document too large"),
    ]


class _Meta:
    def __init__(self, status: int) -> None:
        self.status = status


def test_request_errors_are_transient_only_for_outages_and_overload() -> None:
    assert is_transient_error(ConnectionError("connection refused"))
    assert is_transient_error(ConnectionTimeout("timed out"))
    assert is_transient_error(ApiError("overloaded", _Meta(429), {}))  # type: ignore[arg-type]
    assert is_transient_error(ApiError("unavailable", _Meta(503), {}))  # type: ignore[arg-type]
    assert not is_transient_error(ApiError("bad request", _Meta(400), {}))  # type: ignore[arg-type]
    assert not is_transient_error(TypeError("bug"))


def test_progress_keeps_retrying_documents_and_raises_a_non_transient_request_error() -> None:
    records = [make_record(1), make_record(2), make_record(3)]
    ids = [r.event.id for r in records]
    progress = _Progress(records, backoff=Backoff(initial=0.01, cap=0.01), deadline_s=None)
    progress.absorb([(True, _item(ids[0], 201)), (False, _item(ids[1], 503)),
                     (False, _item(ids[2], 400, {"type": "mapper_parsing_exception", "reason": "x"}))])
    assert list(progress.pending) == [ids[1]]
    assert [f.event_id for f in progress.failures] == [ids[2]]
    progress.request_failed(ConnectionError("refused"))  # logged, kept waiting
    with pytest.raises(TypeError):
        progress.request_failed(TypeError("a bug, not an outage"))


def test_progress_raises_sink_unavailable_past_its_deadline() -> None:
    progress = _Progress([make_record(1)], backoff=Backoff(initial=5, cap=5), deadline_s=1)
    with pytest.raises(SinkUnavailable, match="did not accept 1 document") as info:
        progress.next_delay()
    assert info.value.retry_after == 5
