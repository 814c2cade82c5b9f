"""``POST /ingest/{channel}``: the webhook, producing through the same code as the files.

The body is what ``feedback ingest`` reads from a file: one RFC 5322 message for email
(``message/rfc822``); JSON or JSONL for chat, social and App Store reviews; the Play
Console CSV for app_review. All records valid: 202 with the event ids, once Kafka
acknowledged them. Any record invalid: 400 naming each bad record and field, and nothing
is produced (the caller keeps the payload and can fix it). Over
``settings.api.max_body_bytes``: 413.

Every request must be signed (``feedback.signing``): unknown source, stale timestamp or bad
signature 401, a replayed signature 409, over the source's rate 429 with ``Retry-After``
(``feedback.api.webhook_guard``). Nothing reaches Kafka unless all checks pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from feedback.api.deps import SettingsDep
from feedback.api.webhook_guard import WebhookGuard, WebhookRefused
from feedback.errors import InvalidInput, ServiceError
from feedback.schema import CHANNELS
from feedback.settings import Settings
from feedback.signing import SIGNATURE_HEADER, SOURCE_HEADER, TIMESTAMP_HEADER
from producers import EventProducer, IngestReport, ParseOptions, RejectsFile, deliver, parse_bytes

__all__ = ["FieldError", "IngestAccepted", "IngestRejected", "router"]

log = logging.getLogger(__name__)
_lock = threading.Lock()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    producer: EventProducer | None = getattr(app.state, "ingest_producer", None)
    if producer is not None:
        producer.close()


router = APIRouter(tags=["ingest"], lifespan=_lifespan)


class IngestAccepted(BaseModel):
    channel: str
    topic: str
    count: int
    event_ids: list[str]


class FieldError(BaseModel):
    location: str
    field: str | None
    reason: str


class IngestRejected(BaseModel):
    detail: str
    errors: list[FieldError]


class _TooLarge(Exception):
    pass


def _producer(app: FastAPI, settings: Settings) -> EventProducer:
    with _lock:
        producer: EventProducer | None = getattr(app.state, "ingest_producer", None)
        if producer is None:
            producer = EventProducer(settings, client_suffix="webhook")
            app.state.ingest_producer = producer
        return producer


def _guard(app: FastAPI, settings: Settings) -> WebhookGuard:
    with _lock:
        guard: WebhookGuard | None = getattr(app.state, "webhook_guard", None)
        if guard is None:
            guard = WebhookGuard(settings.api)
            app.state.webhook_guard = guard
        return guard


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _produce(app: FastAPI, settings: Settings, channel: str, body: bytes) -> IngestAccepted | IngestRejected:
    result = parse_bytes(channel, body, options=ParseOptions.from_settings(settings), location="request")
    if result.rejects:
        errors = [FieldError(location=r.location, field=r.field, reason=r.reason) for r in result.rejects]
        return IngestRejected(detail=f"{len(errors)} record(s) invalid; nothing was ingested", errors=errors)
    if not result.events:
        return IngestRejected(
            detail="the payload holds no records",
            errors=[FieldError(location="request", field="$", reason="expected at least one record")],
        )
    report = IngestReport(channel=channel, topic=settings.kafka.raw_topic(channel))
    rejects = RejectsFile(settings.ingest.rejects_dir, channel=channel)
    deliver(_producer(app, settings), result, settings=settings, channel=channel, report=report, rejects=rejects)
    if not report.ok:
        raise ServiceError(
            f"Kafka did not acknowledge {report.failed} of {len(result.events)} event(s); they are kept in "
            f"{report.rejects_file}; retry the request"
        )
    return IngestAccepted(channel=channel, topic=report.topic, count=report.produced, event_ids=report.event_ids)


@router.post(
    "/ingest/{channel}",
    status_code=202,
    response_model=IngestAccepted,
    responses={400: {"model": IngestRejected}, 401: {"description": "unsigned, unknown source, bad signature "
                                                                     "or stale timestamp"},
               409: {"description": "replayed signature"}, 413: {"description": "body over settings.api.max_body_bytes"},
               429: {"description": "over the source's rate; see Retry-After"}},
)
async def ingest(channel: str, request: Request, settings: SettingsDep) -> IngestAccepted | JSONResponse:
    """Ingest one signed payload in a channel's formats; 202 with the event ids once Kafka acknowledged."""
    guard = _guard(request.app, settings)
    headers = request.headers
    limit = settings.api.max_body_bytes
    try:
        source, secret = guard.source_secret(headers.get(SOURCE_HEADER), headers.get(TIMESTAMP_HEADER))
        try:
            body = await _read_limited(request, limit)
        except _TooLarge:
            return JSONResponse(status_code=413, content={"detail": f"body over the limit of {limit} bytes; split "
                                                                    "it or raise FEEDBACK_API_MAX_BODY_BYTES"})
        seen = guard.admit(source=source, secret=secret, timestamp=headers[TIMESTAMP_HEADER],
                           sent=headers.get(SIGNATURE_HEADER), body=body)
    except WebhookRefused as refused:
        log.info("webhook refused status=%d channel=%s source=%r: %s", refused.status, channel,
                 headers.get(SOURCE_HEADER), refused.detail)
        return JSONResponse(status_code=refused.status, content={"detail": refused.detail}, headers=refused.headers)
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r} in the path: expected one of {', '.join(CHANNELS)}")
    try:
        outcome = await run_in_threadpool(_produce, request.app, settings, channel, body)
    except ServiceError:
        guard.forget(seen)  # nothing was delivered: the sender may retry the same signed request
        raise
    if isinstance(outcome, IngestRejected):
        log.info("webhook rejected channel=%s errors=%d", channel, len(outcome.errors))
        return JSONResponse(status_code=400, content=outcome.model_dump())
    log.info("webhook accepted channel=%s source=%s events=%d", channel, source, outcome.count)
    return outcome
