"""The per-batch logic that the Faust worker and `feedback replay` share.

Pure functions (plus one call into the classifier): raw bytes → event or dead letter,
events → classified, routed, redacted records. The drivers add only I/O, batching and
commits.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from feedback.protocols import Classifier
from feedback.schema import ClassifiedFeedback, DeadLetter, FeedbackEvent, utcnow
from stream.redact import redact
from stream.routing import RoutingConfig, route

__all__ = ["Parsed", "classify_events", "dead_letter", "parse_classified", "parse_event"]

# A dead letter keeps at most this much of the original bytes (the DLQ topic has the
# broker's message size limit too); the reason says when the payload was cut.
_MAX_DLQ_PAYLOAD = 512 * 1024


@dataclass(frozen=True)
class Parsed:
    """Where a raw record came from, and what it became."""

    topic: str
    partition: int
    offset: int
    value: FeedbackEvent | ClassifiedFeedback | DeadLetter


def dead_letter(
    raw: bytes | None,
    *,
    stage: str,
    reason: str,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    event_id: str | None = None,
) -> DeadLetter:
    """A DLQ record that keeps the original bytes (UTF-8, or base64 when not text).

    >>> dead_letter(b"not json", stage="classify", reason="bad").payload
    'not json'
    """
    raw = raw or b""
    cut = len(raw) > _MAX_DLQ_PAYLOAD
    if cut:
        reason = f"{reason} (payload of {len(raw)} bytes cut to its first {_MAX_DLQ_PAYLOAD})"
        raw = raw[:_MAX_DLQ_PAYLOAD]
    try:
        payload, encoding = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    return DeadLetter(
        stage=stage,  # type: ignore[arg-type]
        reason=reason,
        topic=topic,
        partition=partition,
        offset=offset,
        event_id=event_id,
        payload=payload,
        payload_encoding=encoding,  # type: ignore[arg-type]
    )


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "value"
    return f"{where}: {err['msg']}"


def parse_event(raw: bytes | None, *, topic: str, partition: int, offset: int, max_chars: int) -> Parsed:
    """A raw-topic record → :class:`FeedbackEvent`, or a dead letter that says why not."""
    where = {"topic": topic, "partition": partition, "offset": offset}
    if raw is None:
        return Parsed(topic, partition, offset, dead_letter(raw, stage="classify", reason="empty record (no value)", **where))
    try:
        event = FeedbackEvent.model_validate_json(raw)
    except ValidationError as e:
        kind = "not JSON" if any(err["type"] == "json_invalid" for err in e.errors()) else "schema violation"
        return Parsed(topic, partition, offset, dead_letter(raw, stage="classify", reason=f"{kind}: {_first_error(e)}", **where))
    if len(event.text) > max_chars:
        return Parsed(
            topic, partition, offset,
            dead_letter(raw, stage="classify", event_id=event.id,
                        reason=f"text has {len(event.text)} characters, over the limit of {max_chars}", **where),
        )
    return Parsed(topic, partition, offset, event)


def parse_classified(raw: bytes | None, *, topic: str, partition: int, offset: int) -> Parsed:
    """A ``feedback.classified`` record → :class:`ClassifiedFeedback`, or a dead letter."""
    where = {"topic": topic, "partition": partition, "offset": offset}
    try:
        return Parsed(topic, partition, offset, ClassifiedFeedback.model_validate_json(raw or b""))
    except ValidationError as e:
        return Parsed(topic, partition, offset, dead_letter(raw, stage="index", reason=f"invalid classified record: {_first_error(e)}", **where))


def _redact_values(value: Any) -> Any:
    """Every free-text string inside the metadata redacted (a chat's agent turns repeat the
    customer's contacts); links stay as they are, their long ids are not phone numbers."""
    if isinstance(value, str):
        return value if value.startswith(("http://", "https://")) else redact(value).text
    if isinstance(value, dict):
        return {k: _redact_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_values(v) for v in value]
    return value


def classify_events(
    events: Sequence[FeedbackEvent],
    *,
    classifier: Classifier,
    routing: RoutingConfig,
    produced_at: Sequence[float | None] | None = None,
) -> list[ClassifiedFeedback]:
    """Classify, route and redact a batch; one result per event, in order.

    ``produced_at`` holds the Kafka timestamps (epoch seconds) of the raw records, for the
    produce→classified latency in ``timings_ms``.

    The result carries no raw text: the event's text, subject and metadata strings are
    replaced by their redacted forms and ``original_text`` is dropped (it stays in the raw
    topic).
    """
    if not events:
        return []
    t0 = time.perf_counter()
    results = classifier.classify_batch([e.text for e in events], ratings=[e.rating for e in events])
    classify_ms = (time.perf_counter() - t0) * 1000 / len(events)
    if len(results) != len(events):
        raise RuntimeError(f"classifier returned {len(results)} results for {len(events)} texts")
    now = utcnow()
    out: list[ClassifiedFeedback] = []
    stamps = list(produced_at) if produced_at is not None else [None] * len(events)
    for event, c, stamp in zip(events, results, stamps):
        decision = route(channel=event.channel.value, classification=c, rules=routing)
        text = redact(event.text).text
        subject = redact(event.subject).text if event.subject else None
        safe_event = event.model_copy(update={"text": text, "subject": subject, "original_text": None,
                                              "metadata": _redact_values(event.metadata)})
        out.append(
            ClassifiedFeedback(
                event=safe_event,
                language=c.language,
                sentiment=c.sentiment,
                topic=c.topic,
                topics=c.topics,
                urgency=c.urgency,
                urgency_reasons=c.urgency_reasons,
                department=decision.department,
                routing_rule=decision.rule,
                redacted_text=text,
                redacted_subject=subject,
                model_version=c.model_version,
                classified_at=now,
                timings_ms={"classify_per_item": round(classify_ms, 3)}
                | ({} if stamp is None else {"produced_to_classified": round((now.timestamp() - stamp) * 1000, 1)}),
            )
        )
    return out
