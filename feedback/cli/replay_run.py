"""The replay driver: raw topics over a time range → the worker's classify/route/redact → indexes.

One implementation of the logic (``stream.pipeline.classify_events``), two drivers: the
Faust worker and this synchronous loop. Progress is checkpointed after every batch to a
state file, so a killed replay resumes where it stopped and, because document ids are
event ids, re-processing a batch never doubles anything.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import BaseModel, Field

from feedback.errors import FeedbackError
from feedback.files import replace_file
from feedback.protocols import IndexFailure
from feedback.schema import ClassifiedFeedback, DeadLetter, FeedbackEvent, utcnow
from feedback.settings import Settings

__all__ = ["PartitionRange", "ReplayReport", "ReplayState", "plan_ranges", "state_path"]

log = logging.getLogger(__name__)

Mode = Literal["version", "live", "dry-run"]


class PartitionRange(BaseModel):
    topic: str
    partition: int
    start: int
    end: int  # exclusive
    next: int

    @property
    def done(self) -> bool:
        return self.next >= self.end

    @property
    def total(self) -> int:
        return max(0, self.end - self.start)


class ReplayReport(BaseModel):
    read: int = 0
    indexed: dict[str, int] = Field(default_factory=dict, description="documents written per department")
    dead_lettered: int = 0
    changed_department: int = 0
    changed_sentiment: int = 0
    changed_topic: int = 0
    new_items: int = Field(default=0, description="replayed events that had no previous document")
    copied_unchanged: int = Field(default=0, description="documents outside the range carried into the new version")


class ReplayState(BaseModel):
    """Everything a resumed replay needs; saved after every batch."""

    run_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    mode: Mode
    started_at: datetime = Field(default_factory=utcnow)
    from_ts: datetime
    to_ts: datetime
    channels: list[str]
    ranges: list[PartitionRange]
    # department -> index the replay writes to (new versions, or the live ones)
    targets: dict[str, str] = Field(default_factory=dict)
    # department -> index the aliases pointed at when the replay started
    previous: dict[str, str] = Field(default_factory=dict)
    report: ReplayReport = Field(default_factory=ReplayReport)
    copied: bool = False
    switched: bool = False
    finished: bool = False

    @property
    def total(self) -> int:
        return sum(r.total for r in self.ranges)

    @property
    def done_count(self) -> int:
        return sum(min(r.next, r.end) - r.start for r in self.ranges)


def state_path(settings: Settings) -> Path:
    """Where the current replay keeps its checkpoint (one replay at a time per prefix)."""
    return settings.services.home / "replay" / f"{settings.es.index_prefix}-state.json"


def save_state(state: ReplayState, path: Path) -> None:
    """Write atomically: a replay killed mid-write still finds the previous checkpoint."""
    replace_file(path, state.model_dump_json(indent=1), mode=0o600)


def load_state(path: Path) -> ReplayState | None:
    if not path.is_file():
        return None
    return ReplayState.model_validate_json(path.read_text(encoding="utf-8"))


def plan_ranges(settings: Settings, *, channels: list[str], from_ts: datetime, to_ts: datetime) -> list[PartitionRange]:
    """Offsets of every raw partition whose records have timestamps in [from_ts, to_ts)."""
    if to_ts <= from_ts:
        raise FeedbackError(f"--to ({to_ts.isoformat()}) must be after --from ({from_ts.isoformat()})")
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = []
        for channel in channels:
            topic = settings.kafka.raw_topic(channel)
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                raise FeedbackError(f"raw topic {topic} does not exist; run `feedback up` first")
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        ends = consumer.end_offsets(tps)
        starts = consumer.offsets_for_times({tp: int(from_ts.timestamp() * 1000) for tp in tps})
        stops = consumer.offsets_for_times({tp: int(to_ts.timestamp() * 1000) for tp in tps})
    finally:
        consumer.close()
    ranges = []
    for tp in tps:
        start = starts[tp].offset if starts[tp] is not None else ends[tp]
        end = stops[tp].offset if stops[tp] is not None else ends[tp]
        ranges.append(PartitionRange(topic=tp.topic, partition=tp.partition, start=start, end=end, next=start))
    return ranges


# One replay batch: (range, its messages in offset order, the offset the range may advance to
# once the batch is written) for each partition range the batch draws from.
Segment = tuple[PartitionRange, list[Any], int]


def read_batches(settings: Settings, state: ReplayState, *, batch_size: int):  # type: ignore[no-untyped-def]
    """Yield batches of up to ``batch_size`` raw messages as segments, filled across the ranges.

    Ranges are read one after the other in offset order; a batch that reaches the end of one
    partition's range is topped up from the next range, so the classifier gets full batches
    (a raw topic per channel, three partitions each: per-partition batches were a third
    partial). Each segment says how far its range may advance once the batch is written.
    """
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False,
                             max_poll_records=batch_size, fetch_max_bytes=16 * 1024 * 1024)
    pending: list[Segment] = []
    count = 0
    try:
        for r in state.ranges:
            if r.done:
                continue
            tp = TopicPartition(r.topic, r.partition)
            consumer.assign([tp])
            consumer.seek(tp, r.next)
            position = r.next
            while position < r.end:
                polled = consumer.poll(timeout_ms=2000, max_records=batch_size - count).get(tp, [])
                if not polled:
                    continue
                batch = [m for m in polled if position <= m.offset < r.end]
                # Offsets can skip (compaction, transactions): move past what was polled.
                position = max(position, min(polled[-1].offset + 1, r.end))
                pending.append((r, batch, position))
                count += len(batch)
                if count >= batch_size:
                    yield pending
                    pending, count = [], 0
        if pending:
            yield pending
    finally:
        consumer.close()


def _advance(segments: list[Segment]) -> None:
    """Move each range of a written (or empty) batch past what the batch read."""
    for rng, _, position in segments:
        rng.next = max(rng.next, position)


def compare(previous: dict[str, dict[str, str]], docs: list[ClassifiedFeedback], report: ReplayReport) -> None:
    """Count how many documents changed department or label against the previous version."""
    for d in docs:
        old = previous.get(d.event.id)
        if old is None:
            report.new_items += 1
            continue
        report.changed_department += old.get("department") != d.department
        report.changed_sentiment += old.get("sentiment") != d.sentiment.label
        report.changed_topic += old.get("topic") != d.topic.label


def count_by_department(docs: list[ClassifiedFeedback]) -> Counter[str]:
    return Counter(d.department for d in docs)


def send_dead_letters(producer: KafkaProducer, topic: str, letters: list[DeadLetter]) -> None:
    """Send and wait for Kafka's acknowledgement of every dead letter."""
    futures = [producer.send(topic, key=(d.event_id or f"{d.topic}:{d.partition}:{d.offset}").encode(),
                             value=d.model_dump_json().encode()) for d in letters]
    for f in futures:
        f.get(timeout=60)


ProgressFn = Callable[[int, int], None]


class IndexSide(Protocol):
    """The Elasticsearch side of a replay (implemented over ``sinks`` by the wiring)."""

    def aliases(self) -> dict[str, str]:
        """department -> the index its alias points at now."""

    def create_versions(self) -> dict[str, str]:
        """department -> a new, empty ``-v<N+1>`` index from the template."""

    def previous_labels(self, ids: list[str]) -> dict[str, dict[str, str]]:
        """id -> {department, sentiment, topic} of the documents the aliases serve now."""

    def write(self, docs: list[ClassifiedFeedback], targets: dict[str, str]) -> list[IndexFailure]:
        """Index into ``targets[department]``; transient errors retried, refusals returned."""

    def copy_missing(self, previous: dict[str, str], targets: dict[str, str]) -> int:
        """Carry every document of the previous indexes whose id is in no target into its department's target."""

    def count(self, indexes: list[str]) -> int:
        """Documents in these indexes (after a refresh)."""

    def switch(self, targets: dict[str, str]) -> None:
        """Point every department alias at its target, in one atomic update."""


def run_replay(
    settings: Settings,
    state: ReplayState,
    *,
    path: Path,
    classifier: object,
    routing: object,
    index: IndexSide,
    save: bool = True,
    on_progress: ProgressFn | None = None,
) -> ReplayState:
    """Process every unfinished range, checkpointing after each batch; then finish the version."""
    from stream.pipeline import classify_events, dead_letter, parse_event

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", retries=5)
    try:
        for segments in read_batches(settings, state, batch_size=settings.stream.batch_size):
            messages = [m for _, batch, _ in segments for m in batch]
            if not messages:
                _advance(segments)
                continue
            parsed = [parse_event(m.value, topic=m.topic, partition=m.partition, offset=m.offset,
                                  max_chars=settings.ingest.max_text_chars) for m in messages]
            events = [p.value for p in parsed if isinstance(p.value, FeedbackEvent)]
            letters = [p.value.model_copy(update={"stage": "replay"}) for p in parsed if isinstance(p.value, DeadLetter)]
            docs = classify_events(events, classifier=classifier, routing=routing,  # type: ignore[arg-type]
                                   produced_at=[m.timestamp / 1000 for m, p in zip(messages, parsed)
                                                if isinstance(p.value, FeedbackEvent)])
            compare(index.previous_labels([d.event.id for d in docs]), docs, state.report)
            if state.mode != "dry-run":
                by_position = {(m.topic, m.partition, m.offset): m for m in messages}
                failures = index.write(docs, state.targets)
                failed = {f.event_id for f in failures}
                for f in failures:
                    p = next(p for p in parsed if isinstance(p.value, FeedbackEvent) and p.value.id == f.event_id)
                    raw = by_position[(p.topic, p.partition, p.offset)].value
                    letters.append(dead_letter(raw, stage="replay", reason=f"Elasticsearch rejected the document: {f.reason}",
                                               topic=p.topic, partition=p.partition, offset=p.offset, event_id=f.event_id))
                send_dead_letters(producer, settings.kafka.dlq_topic, letters)
                for dept, n in count_by_department([d for d in docs if d.event.id not in failed]).items():
                    state.report.indexed[dept] = state.report.indexed.get(dept, 0) + n
            else:
                for dept, n in count_by_department(docs).items():
                    state.report.indexed[dept] = state.report.indexed.get(dept, 0) + n
            state.report.read += len(messages)
            state.report.dead_lettered += len(letters)
            _advance(segments)
            if save:
                save_state(state, path)
            if on_progress is not None:
                on_progress(state.done_count, state.total)
    finally:
        producer.close()
    return state
