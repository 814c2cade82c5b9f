"""The Faust application: classify and index agents, a spike check, a liveness watchdog.

The app has no tables. Faust 0.15's table recovery resumes the input partitions while
the fetcher is live and then clears the agents' in-memory queues
(``flow_control.resume()``), so records delivered in that window were dropped although
their read offset had advanced, and the committed offset could never pass the gap: the
silent stall of issue #12. Without tables there is no recovery, so there is no such
window. Spikes are computed from Elasticsearch aggregations instead (``stream/spikes.py``).

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
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import faust

from feedback.protocols import AsyncIndexSink, Classifier, TopicVolumes
from feedback.schema import Alert, ClassifiedFeedback, DeadLetter, FeedbackEvent
from feedback.settings import Settings
from stream.metrics import WorkerMetrics
from stream.pipeline import Parsed, classify_events, dead_letter, parse_classified, parse_event
from stream.routing import RoutingConfig
from stream.spikes import install_spike_check
from stream.watchdog import install_watchdog

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
    stage: dict[str, str] = field(default_factory=dict)
    metrics: WorkerMetrics | None = None

    def add(self, agent: str, *, classified: int = 0, indexed: int = 0, dead_lettered: int = 0) -> None:
        """Count what one batch of ``agent`` did, here and in the Prometheus counters."""
        self.classified += classified
        self.indexed += indexed
        self.dead_lettered += dead_lettered
        if self.metrics is not None:
            self.metrics.count(agent, classified=classified, indexed=indexed, dead_lettered=dead_lettered)

    @property
    def finished(self) -> int:
        """Events whose journey ended here: indexed, or dead-lettered at any stage."""
        return self.indexed + self.dead_lettered


def build_app(
    settings: Settings,
    *,
    classifier: Classifier,
    sink: AsyncIndexSink,
    routing: RoutingConfig,
    volumes: TopicVolumes | None = None,
    counters: PipelineCounters | None = None,
    on_alert: Callable[[Alert], Awaitable[None]] | None = None,
) -> tuple[faust.App, PipelineCounters]:
    """A Faust app wired to the given classifier, sink and routing (nothing global)."""
    k, st = settings.kafka, settings.stream
    counters = counters or PipelineCounters(metrics=WorkerMetrics())
    datadir = st.data_dir or settings.services.home / "faust"
    datadir.parent.mkdir(parents=True, exist_ok=True)
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
        broker_session_timeout=st.session_timeout,
        producer_max_request_size=8 * 1024 * 1024,
        stream_wait_empty=True,
        # One poll used to hand over everything fetched (thousands of raw records after an
        # outage); delivering them into a full classify buffer blocked the consumer's one
        # delivery loop at classification speed, so `classified` records waited and the index
        # agent starved (docs/liveness.md). A bounded poll returns to the loop quickly, and
        # Faust's flow control then skips the raw partitions while their buffer is full.
        broker_max_poll_records=st.max_poll_records or st.batch_size,
        stream_buffer_maxsize=max(st.buffer_size, st.batch_size),
    )
    raw_topic = app.topic(*k.raw_topics, key_type=bytes, value_type=bytes)
    classified_topic = app.topic(k.classified_topic, key_type=bytes, value_type=bytes)
    dlq_topic = app.topic(k.dlq_topic, key_type=bytes, value_type=bytes)
    alerts_topic = app.topic(k.alerts_topic, key_type=bytes, value_type=bytes)
    progress_topic = app.topic(k.progress_topic, key_type=bytes, value_type=bytes)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")

    async def send_all(sends: Sequence[tuple[faust.TopicT, bytes, bytes]]) -> None:
        """Send and wait until Kafka acknowledged every record."""
        futures = [await topic.send(key=key, value=value, force=True) for topic, key, value in sends]
        await asyncio.gather(*futures)

    def letter(d: DeadLetter) -> tuple[faust.TopicT, bytes, bytes]:
        return (dlq_topic, (d.event_id or f"{d.topic}:{d.partition}:{d.offset}").encode(), d.model_dump_json().encode())

    async def finish(stream: faust.StreamT, events: Sequence[faust.EventT], work: Awaitable[None], *,
                     agent: str) -> None:
        """Run the batch's work to its end even if the agent is being stopped, then ack."""
        loop = asyncio.get_running_loop()
        started = loop.time()
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
        counters.last_activity = loop.time()
        counters.stage[agent] = f"waiting for records (last batch of {len(events)} acked)"
        if counters.metrics is not None:
            counters.metrics.batch_done(agent, seconds=loop.time() - started)

    def parse_raw_batch(events: Sequence[faust.EventT]) -> list[Parsed]:
        return [
            parse_event(ev.value, topic=ev.message.topic, partition=ev.message.partition,
                        offset=ev.message.offset, max_chars=settings.ingest.max_text_chars)
            for ev in events
        ]

    @contextmanager
    def step(name: str) -> Iterator[None]:
        """Add the wall time of the block to ``feedback_step_seconds{step=name}``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            if counters.metrics is not None:
                counters.metrics.step_done(name, seconds=time.perf_counter() - started)

    async def classify_batch(events: Sequence[faust.EventT]) -> None:
        counters.stage["classify"] = f"classifying {len(events)} records"
        with step("classify.parse"):
            parsed = parse_raw_batch(events)
        good = [(p, ev) for p, ev in zip(parsed, events) if isinstance(p.value, FeedbackEvent)]
        letters = [p.value for p in parsed if isinstance(p.value, DeadLetter)]
        results: list[ClassifiedFeedback] = []
        if good:
            loop = asyncio.get_running_loop()
            batch = [p.value for p, _ in good]
            stamps = [ev.message.timestamp for _, ev in good]
            try:
                with step("classify.model"):
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
        counters.stage["classify"] = f"waiting for Kafka to acknowledge {len(sends)} classified/dead-letter records"
        with step("classify.send"):
            await send_all(sends)
        counters.add("classify", classified=len(results), dead_lettered=len(letters))
        if letters:
            log.warning("dead-lettered %d raw records stage=classify", len(letters))

    async def index_batch(events: Sequence[faust.EventT]) -> None:
        with step("index.parse"):
            parsed = [parse_classified(ev.value, topic=ev.message.topic, partition=ev.message.partition,
                                       offset=ev.message.offset) for ev in events]
        docs = [p.value for p in parsed if isinstance(p.value, ClassifiedFeedback)]
        letters = [p.value for p in parsed if isinstance(p.value, DeadLetter)]
        counters.stage["index"] = f"waiting for Elasticsearch to accept {len(docs)} documents"
        with step("index.write"):
            failures = await sink.write(docs) if docs else []
        failed_ids = {f.event_id for f in failures}
        by_id = {p.value.event.id: (p, ev) for p, ev in zip(parsed, events) if isinstance(p.value, ClassifiedFeedback)}
        for f in failures:
            p, ev = by_id[f.event_id]
            letters.append(dead_letter(ev.value, stage="index", reason=f"Elasticsearch rejected the document: {f.reason}",
                                       topic=p.topic, partition=p.partition, offset=p.offset, event_id=f.event_id))
        sends = [letter(d) for d in letters]
        counters.stage["index"] = f"waiting for Kafka to acknowledge {len(sends)} dead letters"
        with step("index.send"):
            await send_all(sends)
        counters.add("index", indexed=len(docs) - len(failed_ids), dead_lettered=len(letters))

    classify_batches = 0

    def maybe_inject_pause() -> None:
        # Testing only (stream.fault_pause_after): stop fetching the raw topics, so that
        # records wait behind a committed offset that never moves — a forced stall.
        nonlocal classify_batches
        classify_batches += 1
        if st.fault_pause_after is not None and classify_batches == st.fault_pause_after:
            tps = [tp for tp in app.consumer.assignment() if tp.topic in k.raw_topics]
            log.warning("fault injection: pausing %d raw partitions after %d batches", len(tps), classify_batches)
            app.consumer.pause_partitions(tps)

    @app.agent(raw_topic, concurrency=1, name="classify")
    async def classify_agent(stream: faust.StreamT) -> None:
        counters.stage["classify"] = "waiting for records"
        async for events in stream.noack_take(st.batch_size, within=st.batch_within):
            await finish(stream, events, classify_batch(events), agent="classify")
            maybe_inject_pause()

    @app.agent(classified_topic, concurrency=1, name="index")
    async def index_agent(stream: faust.StreamT) -> None:
        counters.stage["index"] = "waiting for records"
        async for events in stream.noack_take(st.batch_size, within=st.batch_within):
            await finish(stream, events, index_batch(events), agent="index")

    install_spike_check(app, settings, volumes=volumes, alerts_topic=alerts_topic, send_all=send_all,
                        counters=counters, on_alert=on_alert)
    install_watchdog(app, settings, counters=counters, progress_topic=progress_topic)

    @app.on_before_shutdown.connect
    async def _close_sink(app: faust.App, **kwargs: object) -> None:
        await sink.close()
        if volumes is not None:
            await volumes.close()
        executor.shutdown(wait=True)

    return app, counters
