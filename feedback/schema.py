"""The event contracts: what travels on every Kafka topic, as pydantic v2 models.

Values go on the wire as UTF-8 JSON (``model_dump_json`` / ``model_validate_json``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "CHANNELS",
    "Alert",
    "Channel",
    "Classification",
    "ClassifiedFeedback",
    "DeadLetter",
    "FeedbackEvent",
    "Label",
    "Urgency",
    "make_event_id",
    "utcnow",
]

# A fixed namespace makes event ids stable across machines and releases.
_EVENT_NAMESPACE = uuid.UUID("6f1c1c7e-3b1e-4a59-9a53-0f1d2b7c9e10")


class Channel(str, Enum):
    """Where a feedback item came from."""

    email = "email"
    chat = "chat"
    app_review = "app_review"
    social = "social"


CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)

Urgency = Literal["low", "normal", "high"]


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(timezone.utc)


def make_event_id(channel: str, source: str, external_id: str) -> str:
    """A deterministic event id: the same item ingested twice keeps its id.

    >>> make_event_id("email", "support@acme", "<abc@mail>") == make_event_id("email", "support@acme", "<abc@mail>")
    True
    """
    return str(uuid.uuid5(_EVENT_NAMESPACE, "\x1f".join((channel, source, external_id))))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedbackEvent(_Model):
    """One customer message as it enters Kafka (``feedback.raw.<channel>``)."""

    id: str = Field(min_length=1, description="deterministic: make_event_id(channel, source, external_id)")
    channel: Channel
    source: str = Field(min_length=1, description="the mailbox, app, account or file it came from")
    external_id: str = Field(min_length=1, description="the item's own id in its source")
    received_at: AwareDatetime
    author: str | None = Field(default=None, description="keyed hash of the address or handle")
    subject: str | None = None
    text: str = Field(min_length=1, description="normalised text")
    original_text: str | None = Field(default=None, description="text as received, for display")
    truncated: bool = False
    rating: int | None = Field(default=None, ge=1, le=5)
    thread_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty after normalisation")
        return value


class Label(_Model):
    """A predicted label and the model's confidence in it (0..1)."""

    label: str
    score: float = Field(ge=0.0, le=1.0)


class Classification(_Model):
    """What the classifiers say about one text."""

    language: str = Field(description="ISO 639-1 code, or 'und' when undetermined")
    sentiment: Label
    topic: Label
    topics: list[Label] = Field(
        default_factory=list,
        description="the model's top topics above the secondary threshold, best first (the primary's model label first)",
    )
    urgency: Urgency
    urgency_reasons: list[str] = Field(default_factory=list)
    model_version: str


class ClassifiedFeedback(_Model):
    """A classified, routed, redacted event (``feedback.classified``)."""

    event: FeedbackEvent
    language: str
    sentiment: Label
    topic: Label
    topics: list[Label] = Field(default_factory=list, description="top topics with scores; routing uses `topic`")
    urgency: Urgency
    urgency_reasons: list[str] = Field(default_factory=list)
    department: str
    routing_rule: str = Field(description="the rule that chose the department")
    redacted_text: str
    redacted_subject: str | None = None
    model_version: str
    classified_at: AwareDatetime
    timings_ms: dict[str, float] = Field(default_factory=dict)


class DeadLetter(_Model):
    """Anything that could not be processed, with the reason (``feedback.dlq``)."""

    stage: Literal["ingest", "classify", "index", "replay"]
    reason: str
    source: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    event_id: str | None = None
    payload: str = Field(description="the original bytes: UTF-8 text, or base64 when payload_encoding says so")
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    failed_at: AwareDatetime = Field(default_factory=utcnow)


class Alert(_Model):
    """A topic whose share of its department's volume rose far above its baseline share.

    ``baseline`` is the count the baseline share predicts for this window's ``total``.
    """

    topic: str
    department: str | None = None
    window_start: AwareDatetime
    window_seconds: int
    count: int
    baseline: float
    p_value: float
    total: int | None = Field(default=None, description="events of the department in the window")
    share: float | None = None
    baseline_share: float | None = None
    raised_at: AwareDatetime = Field(default_factory=utcnow)
