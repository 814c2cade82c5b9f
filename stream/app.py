"""The Faust application: classify, index and trends agents.

Offsets move only after the work downstream was acknowledged: a raw event is acked when
its classified record (or its dead letter) was acknowledged by Kafka; a classified record
when Elasticsearch accepted the document (or its dead letter was acknowledged). Each agent
takes its input with ``noack_take`` and acks by hand, so an agent that is cancelled or
crashes mid-batch leaves the batch uncommitted and it is processed again — harmless,
because every document's ``_id`` is its event id. Agent concurrency stays 1
(faust-streaming #606); scale out with more worker processes and partitions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

import faust

from feedback.protocols import AsyncIndexSink, Classifier
from feedback.schema import Alert, ClassifiedFeedback, DeadLetter, FeedbackEvent
from feedback.settings import Settings
from stream.pipeline import Parsed, classify_events, dead_letter, parse_classified, parse_event
from stream.routing import RoutingConfig
from stream.trends import SpikeTest, window_start

__all__ = ["PipelineCounters", "build_app"]

log = logging.getLogger(__name__)


@dataclass
class PipelineCounters:
    """What this worker process has done; the stop conditions read it."""

    classified: int = 0
    indexed: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    batches: int = 0
    last_activity: float = 0.0

    @property
    def finished(self) -> int:
        """Events whose journey ended here: indexed, or dead-lettered at any stage."""
        return self.indexed + self.dead_lettered


def _utc(ts: float | None) -> datetime:
    return datetime.fromtimestamp(ts or 0.0, tz=timezone.utc)


def build_app(
    settings: Settings,
    *,
    classifier: Classifier,
    sink: AsyncIndexSink,
    routing: RoutingConfig,
    counters: PipelineCounters | None = None,
    on_alert: Callable[[Alert], Awaitable[None]] | None = None,
) -> tuple[faust.App, PipelineCounters]:
    """A Faust app wired to the given classifier, sink and routing (nothing global)."""
    k, st = settings.kafka, settings.stream
    counters = counters or PipelineCounters()
    datadir = st.data_dir or settings.services.home / "faust"
    app = faust.App(
        st.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        datadir=str(datadir),
        key_serializer="raw",
        value_serializer="raw",
        topic_replication_factor=1,
        topic_partitions=k.partitions,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_interval=0.5,
        producer_max_request_size=8 * 1024 * 1024,
        stream_wait_empty=True,
    )
    raw_topic = app.topic(*k.raw_topics, key_type=bytes, value_type=bytes)
    classified_topic = app.topic(k.classified_topic, key_type=bytes, value_type=bytes)
    dlq_topic = app.topic(k.dlq_topic, key_type=bytes, value_type=bytes)
    alerts_topic = app.topic(k.alerts_topic, key_type=bytes, value_type=bytes)
    by_topic = app.topic(f"{st.app_id}-trends-by-topic", key_type=bytes, value_type=bytes, partitions=k.partitions,
                         internal=True)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")

    async def send_all(sends: Sequence[tuple[faust.TopicT, bytes, bytes]]) -> None:
        """Send and wait until Kafka acknowledged every record."""
        futures = [await topic.send(key=key, value=value, force=True) for topic, key, value in sends]
        await asyncio.gather(*futures)

    def letter(d: DeadLetter) -> tuple[faust.TopicT, bytes, bytes]:
        return (dlq_topic, (d.event_id or f"{d.topic}:{d.partition}:{d.offset}").encode(), d.model_dump_json().encode())

    async def finish(stream: faust.StreamT, events: Sequence[faust.EventT], work: Awaitable[None]) -> None:
        """Run the batch's work to its end even if the agent is being stopped, then ack."""
        task = asyncio.ensure_future(work)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            log.info("stopping: finishing the batch in hand (%d events) before acking", len(events))
            await task
            for ev in events:
                await stream.ack(ev)
            raise
        for ev in events:
            await stream.ack(ev)
        counters.batches += 1
        counters.last_activity = asyncio.get_running_loop().time()

    def parse_raw_batch(events: Sequence[faust.EventT]) -> list[Parsed]:
        return [
            parse_event(ev.value, topic=ev.message.topic, partition=ev.message.partition,
                        offset=ev.message.offset, max_chars=settings.ingest.max_text_chars)
            for ev in events
        ]

    async def classify_batch(events: Sequence[faust.EventT]) -> None:
        parsed = parse_raw_batch(events)
        good = [(p, ev) for p, ev in zip(parsed, events) if isinstance(p.value, FeedbackEvent)]
        letters = [p.value for p in parsed if isinstance(p.value, DeadLetter)]
        results: list[ClassifiedFeedback] = []
        if good:
            loop = asyncio.get_running_loop()
            batch = [p.value for p, _ in good]
            stamps = [ev.message.timestamp for _, ev in good]
            try:
                results = await loop.run_in_executor(
                    executor, lambda: classify_events(batch, classifier=classifier, routing=routing, produced_at=stamps)  # type: ignore[arg-type]
                )
            except Exception as e:  # a model failure must not stop the stream: keep the events
                log.exception("classification failed for a batch of %d", len(batch))
                letters += [
                    dead_letter(ev.value, stage="classify", reason=f"classifier error: {e}",
                                topic=p.topic, partition=p.partition, offset=p.offset, event_id=p.value.id)  # type: ignore[union-attr]
                    for p, ev in good
                ]
        sends = [(classified_topic, r.event.id.encode(), r.model_dump_json().encode()) for r in results]
        sends += [letter(d) for d in letters]
        await send_all(sends)
        counters.classified += len(results)
        counters.dead_lettered += len(letters)
        if letters:
            log.warning("dead-lettered %d raw records stage=classify", len(letters))

    async def index_batch(events: Sequence[faust.EventT]) -> None:
        parsed = [parse_classified(ev.value, topic=ev.message.topic, partition=ev.message.partition,
                                   offset=ev.message.offset) for ev in events]
        docs = [p.value for p in parsed if isinstance(p.value, ClassifiedFeedback)]
        letters = [p.value for p in parsed if isinstance(p.value, DeadLetter)]
        failures = await sink.write(docs) if docs else []
        failed_ids = {f.event_id for f in failures}
        by_id = {p.value.event.id: (p, ev) for p, ev in zip(parsed, events) if isinstance(p.value, ClassifiedFeedback)}
        for f in failures:
            p, ev = by_id[f.event_id]
            letters.append(dead_letter(ev.value, stage="index", reason=f"Elasticsearch rejected the document: {f.reason}",
                                       topic=p.topic, partition=p.partition, offset=p.offset, event_id=f.event_id))
        sends = [letter(d) for d in letters]
        # Trend counting is keyed by topic so that one partition owns each topic's counts.
        sends += [(by_topic, d.topic.label.encode(), d.model_dump_json().encode()) for d in docs if d.event.id not in failed_ids]
        await send_all(sends)
        counters.indexed += len(docs) - len(failed_ids)
        counters.dead_lettered += len(letters)

    @app.agent(raw_topic, concurrency=1, name="classify")
    async def classify_agent(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(st.batch_size, within=st.batch_within):
            await finish(stream, events, classify_batch(events))

    @app.agent(classified_topic, concurrency=1, name="index")
    async def index_agent(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(st.batch_size, within=st.batch_within):
            await finish(stream, events, index_batch(events))

    test = SpikeTest(min_count=st.alert_min_count, p_value=st.alert_p_value, min_baseline=st.alert_min_baseline)
    tables = {
        size: app.Table(f"trends-{size}s", default=int, partitions=k.partitions)
        .tumbling(size, expires=size * (st.alert_history + 2))
        .relative_to_stream()
        for size in st.trend_windows
    }
    raised = app.Table("alerts-raised", default=float, partitions=k.partitions)

    @app.agent(by_topic, concurrency=1, name="trends")
    async def trends_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            try:
                doc = ClassifiedFeedback.model_validate_json(event.value)
            except ValueError as e:
                await send_all([letter(dead_letter(event.value, stage="index", reason=f"trend record invalid: {e}",
                                                   topic=event.message.topic, partition=event.message.partition,
                                                   offset=event.message.offset))])
                continue
            topic = doc.topic.label
            cell = f"{doc.department}|{topic}|{doc.sentiment.label}"
            for size, table in tables.items():
                table[cell] += 1
                table[topic] += 1
                count = table[topic].current()
                history = [table[topic].delta(size * i) for i in range(1, st.alert_history + 1)]
                verdict = test.check(count, history)
                start = window_start(event.message.timestamp, size)
                key = f"{topic}|{size}"
                if verdict.spike and raised[key] < start + 1:
                    raised[key] = start + 1
                    alert = Alert(topic=topic, department=doc.department, window_start=_utc(start),
                                  window_seconds=size, count=count, baseline=verdict.baseline, p_value=verdict.p_value)
                    await send_all([(alerts_topic, f"{key}|{start:.0f}".encode(), alert.model_dump_json().encode())])
                    counters.alerts += 1
                    log.warning("spike topic=%s window=%ss count=%d baseline=%.2f p=%.2e",
                                topic, size, count, verdict.baseline, verdict.p_value)
                    if on_alert is not None:
                        await on_alert(alert)

    @app.on_before_shutdown.connect
    async def _close_sink(app: faust.App, **kwargs: object) -> None:
        await sink.close()
        executor.shutdown(wait=True)

    return app, counters
