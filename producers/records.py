"""What every parser shares: options, rejects, results, and the one event builder.

Parsers are pure: bytes in, :class:`ParseResult` out. Each record becomes either a
:class:`~feedback.schema.FeedbackEvent` (built by :func:`build_event`, which normalises,
truncates and pseudonymises) or a :class:`Reject` that keeps the original bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from feedback.errors import InvalidInput
from feedback.schema import DeadLetter, FeedbackEvent, make_event_id, utcnow
from feedback.settings import Settings
from feedback.text import normalise
from producers.dates import ImpossibleDate, check_date

__all__ = [
    "ParseOptions",
    "ParseResult",
    "RecordRejected",
    "Reject",
    "build_event",
    "content_id",
    "display",
    "pseudonymise",
    "read_record",
    "reject_from_validation",
]

log = logging.getLogger(__name__)

# Characters that render as nothing although Unicode calls them letters or symbols
# (Hangul fillers, the blank Braille pattern, the Mongolian vowel separator).
_BLANK_LIKE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Mn", "Me", "Zs", "Zl", "Zp"})


def display(text: str) -> str:
    """``text`` safe for JSON and logs: undecodable bytes kept by the OS (a file name that
    is not UTF-8) or a lone surrogate become ``\\x..`` / ``\\u....`` escapes.

    >>> display("caf\\udce9.eml")
    'caf\\\\xe9.eml'
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape" if _only_escapes(text) else "backslashreplace").decode(
            "utf-8", "backslashreplace")


def _only_escapes(text: str) -> bool:
    return all(not 0xD800 <= ord(ch) <= 0xDFFF or 0xDC80 <= ord(ch) <= 0xDCFF for ch in text)


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
    max_depth: int = 64
    max_field_chars: int = 500_000
    max_record_bytes: int = 1_000_000
    max_mail_bytes: int = 25_000_000
    max_message_bytes: int = 1_000_000
    max_records_per_file: int = 1_000_000
    future_tolerance_s: int = 86_400
    impossible_dates: Literal["clamp", "reject"] = "clamp"

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseOptions:
        ingest = settings.ingest
        return cls(
            author_secret=ingest.author_secret.get_secret_value().encode("utf-8"),
            max_text_chars=ingest.max_text_chars,
            max_depth=ingest.max_depth,
            max_field_chars=ingest.max_field_chars,
            max_record_bytes=ingest.max_record_bytes,
            max_mail_bytes=ingest.max_mail_bytes,
            max_message_bytes=ingest.max_message_bytes,
            max_records_per_file=ingest.max_records_per_file,
            future_tolerance_s=ingest.future_tolerance_s,
            impossible_dates=ingest.impossible_dates,
        )


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that did not become an event: where it was, why, and its original bytes."""

    location: str
    reason: str
    payload: bytes
    field: str | None = None

    def to_dead_letter(self, *, max_payload_bytes: int | None = None) -> DeadLetter:
        """The DLQ record (stage ``ingest``); the payload is base64 when it is not UTF-8.

        ``max_payload_bytes`` cuts the kept bytes (and says so in the reason), so that a
        record refused for its size still fits on the DLQ topic.

        >>> Reject(location="a.jsonl:3", reason="empty text", payload=b"\\xff").to_dead_letter().payload_encoding
        'base64'
        """
        reason = f"{self.reason} (field: {self.field})" if self.field else self.reason
        payload = self.payload
        if max_payload_bytes is not None and len(payload) > max_payload_bytes:
            reason += f" [payload cut to its first {max_payload_bytes} of {len(payload)} bytes]"
            payload = payload[:max_payload_bytes]
        reason, location = display(reason), display(self.location)
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return DeadLetter(
                stage="ingest",
                reason=reason,
                source=location,
                payload=base64.b64encode(payload).decode("ascii"),
                payload_encoding="base64",
            )
        return DeadLetter(stage="ingest", reason=reason, source=location, payload=text)


@dataclass(slots=True)
class ParseResult:
    """Events and rejects of one file or payload, in input order."""

    events: list[FeedbackEvent] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        self.events.extend(other.events)
        self.rejects.extend(other.rejects)
        self.warnings.extend(other.warnings)

    def reject(self, location: str, reason: str, payload: bytes, *, field: str | None = None) -> None:
        self.rejects.append(Reject(location=location, reason=reason, payload=payload, field=field))

    def reject_error(self, location: str, error: RecordRejected, payload: bytes) -> None:
        self.reject(location, error.message, payload, field=error.field)


def read_record(result: ParseResult, location: str, payload: bytes, make: Callable[[], FeedbackEvent]) -> None:
    """The per-record error boundary: ``make()``'s event, or a reject that says why.

    A :class:`RecordRejected` carries its own reason; anything else a parser raised on a
    record it did not foresee is kept as a reject too (and logged with its traceback),
    so that one record never takes the rest of its file down.
    """
    try:
        result.events.append(make())
    except RecordRejected as e:
        result.reject_error(location, e, payload)
    except Exception as e:  # noqa: BLE001 - the boundary: keep the record, report it, go on
        log.exception("parser failed on a record location=%s", display(location))
        result.reject(location, f"unreadable record: {type(e).__name__}: {display(str(e))[:200]}; the record does "
                      "not have the shape this format expects; check it against docs/ingest.md", payload)


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


def _visible(text: str) -> bool:
    return any(
        unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _BLANK_LIKE for ch in text
    )


def _received_at(
    channel: str, moment: datetime | ImpossibleDate, *, options: ParseOptions, metadata: dict[str, Any]
) -> datetime:
    now = utcnow()
    aware = moment if isinstance(moment, ImpossibleDate) else _aware(moment)
    problem = check_date(channel, aware, now=now, tolerance_s=options.future_tolerance_s)
    if problem is None:
        assert isinstance(aware, datetime)
        return aware
    if options.impossible_dates == "reject":
        raise RecordRejected(f"impossible date: {problem}; fix the date, or set FEEDBACK_INGEST_IMPOSSIBLE_DATES="
                             "clamp to keep the item at the time received", field="received_at")
    metadata["received_at_original"] = aware.raw if isinstance(aware, ImpossibleDate) else aware.isoformat()
    metadata["date_clamped"] = problem
    log.warning("impossible date clamped to the time received: %s", problem)
    return now


def build_event(
    channel: str,
    *,
    source: str,
    external_id: str,
    text: str,
    received_at: datetime | ImpossibleDate,
    options: ParseOptions,
    author: str | int | None = None,
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
    if not _visible(normalised):
        raise RecordRejected("empty text: only invisible characters (format controls, fillers, blank patterns); "
                             "send a text a reader can see", field="text")
    metadata = dict(metadata or {})
    moment = _received_at(channel, received_at, options=options, metadata=metadata)
    truncated = len(normalised) > options.max_text_chars
    original = text
    if truncated:
        normalised = normalised[: options.max_text_chars].rstrip()
        original = text[: options.max_text_chars]
    try:
        event = FeedbackEvent(
            id=make_event_id(channel, source, external_id),
            channel=channel,  # type: ignore[arg-type]
            source=source,
            external_id=external_id,
            received_at=moment,
            author=pseudonymise(str(author), secret=options.author_secret) if author not in (None, "") else None,
            subject=normalise(subject) or None if subject else None,
            text=normalised,
            original_text=original,
            truncated=truncated,
            rating=rating,
            thread_id=thread_id,
            metadata=metadata,
        )
    except ValidationError as e:
        raise reject_from_validation(e) from e
    try:
        size = len(event.model_dump_json().encode("utf-8"))
    except (PydanticSerializationError, UnicodeEncodeError) as e:
        raise RecordRejected(f"not valid Unicode: {display(str(e))[:160]}; a lone surrogate (such as an escaped "
                             "\\ud83d without its pair) cannot be stored; send whole characters") from e
    if size > options.max_message_bytes:
        raise RecordRejected(
            f"message too large: the event is {size} bytes as JSON, over the limit of {options.max_message_bytes} "
            "(FEEDBACK_INGEST_MAX_MESSAGE_BYTES, kept under the broker's max.message.bytes); shorten the text, "
            "its agent turns or its metadata, or split the item", field="event")
    return event
