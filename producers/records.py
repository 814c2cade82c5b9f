"""What every parser shares: options, rejects, results, and the one event builder.

Parsers are pure: bytes in, :class:`ParseResult` out. Each record becomes either a
:class:`~feedback.schema.FeedbackEvent` (built by :func:`build_event`, which normalises,
truncates and pseudonymises) or a :class:`Reject` that keeps the original bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from feedback.errors import InvalidInput
from feedback.schema import DeadLetter, FeedbackEvent, make_event_id
from feedback.settings import Settings
from feedback.text import normalise

__all__ = [
    "ParseOptions",
    "ParseResult",
    "RecordRejected",
    "Reject",
    "build_event",
    "content_id",
    "pseudonymise",
    "reject_from_validation",
]


class RecordRejected(InvalidInput):
    """One input record cannot become an event; ``field`` names the offending field."""

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None) -> None:
        super().__init__(message, stage="ingest", source=source)
        self.field = field


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """What a parser needs from the settings, and nothing else.

    >>> ParseOptions(author_secret=b"k", max_text_chars=10).max_text_chars
    10
    """

    author_secret: bytes
    max_text_chars: int = 20_000

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseOptions:
        return cls(
            author_secret=settings.ingest.author_secret.get_secret_value().encode("utf-8"),
            max_text_chars=settings.ingest.max_text_chars,
        )


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that did not become an event: where it was, why, and its original bytes."""

    location: str
    reason: str
    payload: bytes
    field: str | None = None

    def to_dead_letter(self) -> DeadLetter:
        """The DLQ record (stage ``ingest``); the payload is base64 when it is not UTF-8.

        >>> Reject(location="a.jsonl:3", reason="empty text", payload=b"\\xff").to_dead_letter().payload_encoding
        'base64'
        """
        reason = f"{self.reason} (field: {self.field})" if self.field else self.reason
        try:
            text = self.payload.decode("utf-8")
        except UnicodeDecodeError:
            return DeadLetter(
                stage="ingest",
                reason=reason,
                source=self.location,
                payload=base64.b64encode(self.payload).decode("ascii"),
                payload_encoding="base64",
            )
        return DeadLetter(stage="ingest", reason=reason, source=self.location, payload=text)


@dataclass(slots=True)
class ParseResult:
    """Events and rejects of one file or payload, in input order."""

    events: list[FeedbackEvent] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        self.events.extend(other.events)
        self.rejects.extend(other.rejects)

    def reject(self, location: str, reason: str, payload: bytes, *, field: str | None = None) -> None:
        self.rejects.append(Reject(location=location, reason=reason, payload=payload, field=field))

    def reject_error(self, location: str, error: RecordRejected, payload: bytes) -> None:
        self.reject(location, error.message, payload, field=error.field)


def pseudonymise(handle: str, *, secret: bytes) -> str:
    """A keyed hash of an address or handle: stable per secret, never the raw handle.

    >>> pseudonymise("Ana@Example.com ", secret=b"k") == pseudonymise("ana@example.com", secret=b"k")
    True
    """
    digest = hmac.new(secret, handle.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()
    return f"author:{digest[:32]}"


def content_id(payload: bytes) -> str:
    """An external id for items that carry none: a hash of their bytes (stable on re-ingest).

    >>> content_id(b"hello")
    'sha256:2cf24dba5fb0a30e26e83b2a'
    """
    return "sha256:" + hashlib.sha256(payload).hexdigest()[:24]


def reject_from_validation(error: ValidationError) -> RecordRejected:
    """Turn a pydantic error on an input shape into a rejection naming the first field."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or None
    if first["type"] == "missing":
        return RecordRejected(f"{first['msg']}: expected field {where!r}", field=where)
    return RecordRejected(f"{first['msg']} (got {str(first.get('input'))[:80]!r})", field=where)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def build_event(
    channel: str,
    *,
    source: str,
    external_id: str,
    text: str,
    received_at: datetime,
    options: ParseOptions,
    author: str | None = None,
    subject: str | None = None,
    rating: int | None = None,
    thread_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> FeedbackEvent:
    """The one way a parser makes an event; raises :class:`RecordRejected` when it cannot.

    The text is normalised (the original is kept), cut at ``options.max_text_chars`` and
    flagged; the author handle is replaced by its keyed hash.

    >>> e = build_event("social", source="x", external_id="1", text=" hi  there ",
    ...                 received_at=datetime(2026, 1, 1), options=ParseOptions(author_secret=b"k"))
    >>> (e.text, e.original_text, e.received_at.tzinfo is not None)
    ('hi there', ' hi  there ', True)
    """
    normalised = normalise(text)
    if not normalised:
        raise RecordRejected("empty text: nothing is left after normalisation; send a non-empty text", field="text")
    truncated = len(normalised) > options.max_text_chars
    original = text
    if truncated:
        normalised = normalised[: options.max_text_chars].rstrip()
        original = text[: options.max_text_chars]
    try:
        return FeedbackEvent(
            id=make_event_id(channel, source, external_id),
            channel=channel,  # type: ignore[arg-type]
            source=source,
            external_id=external_id,
            received_at=_aware(received_at),
            author=pseudonymise(author, secret=options.author_secret) if author else None,
            subject=normalise(subject) or None if subject else None,
            text=normalised,
            original_text=original,
            truncated=truncated,
            rating=rating,
            thread_id=thread_id,
            metadata=metadata or {},
        )
    except ValidationError as e:
        raise reject_from_validation(e) from e
