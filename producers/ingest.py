"""Ingest files into Kafka: parse, produce, keep every reject, and report the counts.

:func:`ingest_paths` is what ``feedback ingest`` and ``feedback demo`` call; the webhook
and IMAP use :func:`deliver`, the same produce-and-keep-rejects step.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from feedback.schema import DeadLetter, FeedbackEvent
from feedback.settings import Settings
from producers.formats import expand_paths, parse_path
from producers.kafka_producer import Delivery, EventProducer
from producers.records import ParseOptions, ParseResult, Reject

__all__ = ["IngestReport", "RejectsFile", "deliver", "ingest_paths"]

log = logging.getLogger(__name__)

# Events are produced in chunks so the progress bar moves on large files.
_CHUNK = 2_000


class IngestReport(BaseModel):
    """Counts of one ingest run; ``ok`` is false when Kafka did not acknowledge something."""

    model_config = ConfigDict(extra="forbid")

    channel: str
    topic: str
    files: int = 0
    read: int = Field(default=0, description="records read: produced + rejected + failed")
    produced: int = Field(default=0, description="events Kafka acknowledged")
    rejected: int = Field(default=0, description="records kept in the rejects file and feedback.dlq")
    failed: int = Field(default=0, description="events Kafka did not acknowledge after retries")
    dlq_failed: int = 0
    rejects_file: str | None = None
    event_ids: list[str] = Field(default_factory=list)
    elapsed_s: float = 0.0
    events_per_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.dlq_failed == 0


class RejectsFile:
    """A JSONL file of dead letters, created on the first reject (path in the report)."""

    def __init__(self, directory: Path, *, channel: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.path = directory / f"ingest-{channel}-{stamp}-{uuid.uuid4().hex[:6]}.jsonl"
        self.count = 0

    def write(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            for letter in letters:
                handle.write(letter.model_dump_json() + "\n")
        self.count += len(letters)


def _failed_letters(events: Sequence[FeedbackEvent], deliveries: Sequence[Delivery]) -> list[DeadLetter]:
    by_id = {e.id: e for e in events}
    return [
        DeadLetter(
            stage="ingest",
            reason=f"Kafka did not acknowledge the event: {d.error}",
            source=by_id[d.key].source,
            topic=d.topic,
            event_id=d.key,
            payload=by_id[d.key].model_dump_json(),
        )
        for d in deliveries
        if not d.ok
    ]


def _fit(reject: Reject, letter: DeadLetter, limit: int) -> DeadLetter:
    """The dead letter cut to fit on the DLQ (the rejects file keeps the whole payload)."""
    cap = limit // 2
    while len(letter.model_dump_json().encode("utf-8")) > limit - 1024 and cap > 64:
        letter = reject.to_dead_letter(max_payload_bytes=cap)
        cap //= 2
    return letter


def deliver(
    producer: EventProducer,
    result: ParseResult,
    *,
    settings: Settings,
    channel: str,
    report: IngestReport,
    rejects: RejectsFile,
    on_chunk: Callable[[], None] | None = None,
) -> list[Delivery]:
    """Produce a parse result's events, dead-letter its rejects, and add to the report.

    Every reject goes to the rejects file first (so it is kept even when Kafka is down)
    and then to the DLQ; every event Kafka did not acknowledge is kept the same way.
    """
    topic = settings.kafka.raw_topic(channel)
    deliveries: list[Delivery] = []
    for start in range(0, len(result.events), _CHUNK):
        chunk = result.events[start : start + _CHUNK]
        sent = producer.send_events(chunk, topic=topic)
        deliveries.extend(sent)
        report.produced += sum(1 for d in sent if d.ok)
        report.event_ids.extend(d.key for d in sent if d.ok)
        failed = _failed_letters(chunk, sent)
        report.failed += len(failed)
        rejects.write(failed)
        report.read = report.produced + report.rejected + report.failed
        if on_chunk is not None:
            on_chunk()
    letters = [reject.to_dead_letter() for reject in result.rejects]
    rejects.write(letters)
    report.rejected += len(letters)
    for warning in result.warnings:
        log.warning("decoded with a guess: %s", warning)
    for letter in letters:
        log.warning("rejected location=%s reason=%s", letter.source, letter.reason)
    if letters:
        limit = settings.ingest.max_message_bytes
        dlq = producer.send_dead_letters([_fit(reject, letter, limit) for reject, letter in zip(
            result.rejects, letters, strict=True)])
        report.dlq_failed += sum(1 for d in dlq if not d.ok)
    report.read = report.produced + report.rejected + report.failed
    report.rejects_file = str(rejects.path) if rejects.count else None
    return deliveries


def ingest_paths(
    channel: str,
    paths: Sequence[Path],
    settings: Settings,
    *,
    on_progress: Callable[[IngestReport, Path], None] | None = None,
    producer: EventProducer | None = None,
) -> IngestReport:
    """Ingest files into ``<prefix>.raw.<channel>``; returns counts, ids and the rejects file.

    ``paths`` are files or folders (folders are walked; a Maildir folder is one mailbox).
    Nothing is dropped: each record ends acknowledged by Kafka, or in the rejects file
    and the DLQ with its reason. Check ``report.ok``: false means Kafka failed to
    acknowledge some events (they are in the rejects file).

    >>> report = ingest_paths("social", [Path("samples/social")], get_settings())  # doctest: +SKIP
    >>> (report.produced, report.rejected, report.rejects_file)  # doctest: +SKIP
    (301, 2, 'rejects/ingest-social-20261124T170000Z-1a2b3c.jsonl')
    """
    files = list(expand_paths(channel, list(paths)))
    options = ParseOptions.from_settings(settings)
    report = IngestReport(channel=channel, topic=settings.kafka.raw_topic(channel))
    rejects = RejectsFile(settings.ingest.rejects_dir, channel=channel)
    started = time.perf_counter()
    own = producer is None
    active = producer or EventProducer(settings)
    try:
        for path in files:
            result = parse_path(channel, path, options=options)
            on_chunk = (lambda p=path: on_progress(report, p)) if on_progress is not None else None
            deliver(active, result, settings=settings, channel=channel, report=report, rejects=rejects,
                    on_chunk=on_chunk)
            report.files += 1
            log.info("ingested path=%s events=%d rejects=%d", path, len(result.events), len(result.rejects))
            if on_progress is not None:
                on_progress(report, path)
    finally:
        if own:
            active.close()
    report.elapsed_s = round(time.perf_counter() - started, 3)
    report.events_per_s = round(report.produced / report.elapsed_s, 1) if report.elapsed_s else 0.0
    return report
