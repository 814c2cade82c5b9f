"""Chat: our own transcript format (JSON or JSONL) and Intercom conversation JSON.

One event per conversation: the customer's turns, in order, joined by blank lines; the
agent and bot turns go to ``metadata["agent_turns"]``.

Our transcript format (one object per JSONL line, or a JSON object or array)::

    {"conversation_id": "c-1042", "source": "web-widget", "customer_id": "u-77",
     "subject": "refund",
     "messages": [
       {"role": "customer", "text": "My refund never arrived", "timestamp": "2026-11-02T09:14:00Z"},
       {"role": "agent", "text": "Let me check", "timestamp": "2026-11-02T09:15:10Z"}]}

``role`` is ``customer``, ``agent`` or ``bot``. An Intercom conversation is recognised by
``"type": "conversation"`` or a ``conversation_parts`` key (a ``conversation.list`` is
read too); its HTML bodies become text and ``user``/``lead``/``contact`` authors are the
customer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feedback.schema import FeedbackEvent
from producers.htmltext import html_to_text
from producers.jsonfile import iter_json_records
from producers.dates import ImpossibleDate, from_unix
from producers.records import (
    ParseOptions,
    ParseResult,
    RecordRejected,
    build_event,
    read_record,
    reject_from_validation,
)

__all__ = ["ChatMessage", "ChatTranscript", "parse_chat_bytes", "parse_chat_record"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["customer", "agent", "bot"]
    text: str
    timestamp: datetime


class ChatTranscript(BaseModel):
    """One conversation in our own transcript format."""

    model_config = ConfigDict(extra="allow")

    conversation_id: str = Field(min_length=1)
    source: str = "chat"
    customer_id: str | None = None
    subject: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)


def _transcript_event(transcript: ChatTranscript, *, options: ParseOptions) -> FeedbackEvent:
    customer = [m for m in transcript.messages if m.role == "customer"]
    agents = [
        {"role": m.role, "text": m.text, "timestamp": m.timestamp.isoformat()}
        for m in transcript.messages
        if m.role != "customer"
    ]
    if not customer:
        raise RecordRejected("no customer turn in the conversation; expected at least one role=customer message",
                             field="messages")
    return build_event(
        "chat",
        source=transcript.source,
        external_id=transcript.conversation_id,
        text="\n\n".join(m.text for m in customer),
        received_at=customer[0].timestamp,
        options=options,
        author=transcript.customer_id,
        subject=transcript.subject,
        thread_id=transcript.conversation_id,
        metadata={"format": "transcript", "customer_turns": len(customer), "agent_turns": agents},
    )


def _unix(value: Any, field: str) -> datetime | ImpossibleDate:
    try:
        return from_unix(value, field=field)
    except ValueError as e:
        raise RecordRejected(str(e), field=field) from e


def _iso(moment: datetime | ImpossibleDate) -> str:
    return moment.raw if isinstance(moment, ImpossibleDate) else moment.isoformat()


def _object(value: Any, field: str) -> dict[str, Any]:
    """``value`` when it is a JSON object (None reads as empty); else a reject naming ``field``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordRejected(f"expected a JSON object at {field}, found {type(value).__name__} {value!r:.60}; "
                             "send the Intercom API's shape", field=field)
    return value


_CUSTOMER_TYPES = frozenset({"user", "lead", "contact"})


def _intercom_event(conv: dict[str, Any], *, options: ParseOptions) -> FeedbackEvent:
    if not isinstance(conv.get("id"), (str, int)) or isinstance(conv.get("id"), bool) or conv.get("id") == "":
        raise RecordRejected(f"missing or invalid conversation id (found {conv.get('id')!r:.40}); expected a string",
                             field="id")
    first = _object(conv.get("source"), "source")
    parts: list[tuple[dict[str, Any], str, Any]] = [
        (_object(first.get("author"), "source.author"), first.get("body") or "", conv.get("created_at"))]
    listing = _object(conv.get("conversation_parts"), "conversation_parts")
    items = listing.get("conversation_parts") or []
    if not isinstance(items, list):
        raise RecordRejected("expected conversation_parts.conversation_parts to be an array", field="conversation_parts")
    for index, part in enumerate(items):
        part = _object(part, f"conversation_parts[{index}]")
        if part.get("part_type") in ("comment", "open", "close", "assignment") and part.get("body"):
            parts.append((_object(part.get("author"), f"conversation_parts[{index}].author"), part["body"],
                          part.get("created_at")))
    customer_texts: list[str] = []
    customer_times: list[datetime | ImpossibleDate] = []
    customer_id: str | None = None
    agents: list[dict[str, Any]] = []
    for author, body, created in parts:
        text = html_to_text(str(body))
        if not text:
            continue
        kind = str(author.get("type", ""))
        if kind in _CUSTOMER_TYPES:
            customer_texts.append(text)
            customer_times.append(_unix(created, "created_at"))
            customer_id = customer_id or author.get("email") or author.get("id")
        else:
            role = "bot" if kind == "bot" else "agent"
            agents.append({"role": role, "text": text, "timestamp": _iso(_unix(created, "created_at"))})
    if not customer_texts:
        raise RecordRejected("no customer turn in the Intercom conversation", field="conversation_parts")
    return build_event(
        "chat",
        source="intercom",
        external_id=str(conv["id"]),
        text="\n\n".join(customer_texts),
        received_at=customer_times[0],
        options=options,
        author=customer_id,
        subject=html_to_text(str(first.get("subject") or "")) or None,
        thread_id=str(conv["id"]),
        metadata={"format": "intercom", "customer_turns": len(customer_texts), "agent_turns": agents},
    )


def parse_chat_record(record: Any, *, options: ParseOptions) -> FeedbackEvent:
    """One decoded JSON conversation (ours or Intercom's) to an event.

    >>> e = parse_chat_record({"conversation_id": "c1", "messages": [
    ...     {"role": "customer", "text": "Hi", "timestamp": "2026-11-02T09:14:00Z"},
    ...     {"role": "agent", "text": "Hello!", "timestamp": "2026-11-02T09:15:00Z"},
    ...     {"role": "customer", "text": "Refund please", "timestamp": "2026-11-02T09:16:00Z"}]},
    ...     options=ParseOptions(author_secret=b"k"))
    >>> (e.text, e.metadata["agent_turns"][0]["text"])
    ('Hi\\n\\nRefund please', 'Hello!')
    """
    if not isinstance(record, dict):
        raise RecordRejected(f"expected a JSON object per conversation, found {type(record).__name__}", field="$")
    if record.get("type") == "conversation" or "conversation_parts" in record:
        return _intercom_event(record, options=options)
    try:
        transcript = ChatTranscript.model_validate(record)
    except ValidationError as e:
        raise reject_from_validation(e) from e
    return _transcript_event(transcript, options=options)


def _records(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and document.get("type") == "conversation.list":
        conversations = document.get("conversations")
        if not isinstance(conversations, list):
            raise RecordRejected(f"a conversation.list needs 'conversations' as an array, found "
                                 f"{json_type(conversations)}; send the API response as it came", field="conversations")
        return conversations
    return [document]


def json_type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def parse_chat_bytes(data: bytes, *, options: ParseOptions, location: str) -> ParseResult:
    """A JSON or JSONL file of conversations to events and rejects (one per bad line)."""
    result = ParseResult()
    for where, payload, record in iter_json_records(data, location=location, unwrap=_records, result=result,
                                                    options=options):
        read_record(result, where, payload, lambda record=record: parse_chat_record(record, options=options))
    return result
