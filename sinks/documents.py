"""Classified records → Elasticsearch documents (pure)."""

from __future__ import annotations

from typing import Any

from feedback.schema import ClassifiedFeedback

__all__ = ["alias_name", "to_document", "version_index"]


def alias_name(prefix: str, department_index: str) -> str:
    """``feedback-billing``: what readers and the worker address."""
    return f"{prefix}-{department_index}"


def version_index(prefix: str, department_index: str, version: int) -> str:
    """``feedback-billing-v2``: the concrete index behind an alias."""
    return f"{alias_name(prefix, department_index)}-v{version}"


def to_document(classified: ClassifiedFeedback) -> tuple[str, dict[str, Any]]:
    """``(_id, body)`` for one record; ``_id`` is the event id, so rewrites never double.

    Only the redacted text and subject are indexed; raw text stays in the raw topics.
    """
    e = classified.event
    body: dict[str, Any] = {
        "id": e.id,
        "channel": e.channel.value,
        "source": e.source,
        "external_id": e.external_id,
        "author": e.author,
        "thread_id": e.thread_id,
        "received_at": e.received_at.isoformat(),
        "classified_at": classified.classified_at.isoformat(),
        "subject": classified.redacted_subject,
        "text": classified.redacted_text,
        "truncated": e.truncated,
        "rating": e.rating,
        "language": classified.language,
        "sentiment": classified.sentiment.model_dump(),
        "topic": classified.topic.model_dump(),
        "topics": [t.model_dump() for t in classified.topics],
        "urgency": classified.urgency,
        "urgency_reasons": classified.urgency_reasons,
        "department": classified.department,
        "routing_rule": classified.routing_rule,
        "model_version": classified.model_version,
        "metadata": e.metadata,
    }
    return e.id, body
