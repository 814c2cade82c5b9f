"""The thin Kafka layer: send events and dead letters, and report what Kafka acknowledged.

kafka-python's producer with ``acks="all"``, idempotence, gzip compression and
batching (``linger_ms``); the key is the event id and the value the event's JSON. A
record counts as sent only when its future succeeded after :meth:`flush`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.producer.future import FutureRecordMetadata

from feedback.errors import ServiceError
from feedback.schema import DeadLetter, FeedbackEvent
from feedback.settings import Settings

__all__ = ["Delivery", "EventProducer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What Kafka said about one record: acknowledged (partition, offset) or an error."""

    key: str
    topic: str
    partition: int | None = None
    offset: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class EventProducer:
    """Produce :class:`FeedbackEvent` s to a raw topic and :class:`DeadLetter` s to the DLQ.

    >>> with EventProducer(get_settings()) as producer:  # doctest: +SKIP
    ...     deliveries = producer.send_events(events, topic="feedback.raw.email")
    ...     assert all(d.ok for d in deliveries)
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client_suffix: str = "ingest",
        delivery_timeout_ms: int = 30_000,
        max_block_ms: int = 15_000,
    ) -> None:
        self._settings = settings
        self._known_topics: set[str] = set()
        self._flush_timeout = (delivery_timeout_ms + 5_000) / 1000
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=settings.kafka_bootstrap,
                client_id=f"{settings.kafka.client_id}-{client_suffix}",
                acks="all",
                enable_idempotence=True,
                compression_type="gzip",
                linger_ms=20,
                batch_size=256 * 1024,
                max_in_flight_requests_per_connection=5,
                request_timeout_ms=min(delivery_timeout_ms - 1_000, 30_000),
                delivery_timeout_ms=delivery_timeout_ms,
                max_block_ms=max_block_ms,
                allow_auto_create_topics=False,
            )
        except KafkaError as e:
            raise ServiceError(
                f"cannot connect to Kafka at {settings.kafka_bootstrap}: {e}; start it with `feedback up` "
                "or set FEEDBACK_KAFKA_BOOTSTRAP"
            ) from e

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._producer.close(timeout=10)
        except KafkaError as e:  # every delivery was already reported by _send_all
            log.warning("closing the Kafka producer: %s", e)

    def _check_topic(self, topic: str) -> None:
        # kafka-python 3.0.12 does not pass allow_auto_create_topics on to its metadata
        # requests, so a producer would silently create a misspelt topic on a broker that
        # auto-creates; ask the admin API (which lists, never creates) first.
        if topic in self._known_topics:
            return
        try:
            admin = KafkaAdminClient(bootstrap_servers=self._settings.kafka_bootstrap,
                                     client_id=f"{self._settings.kafka.client_id}-topic-check")
            try:
                self._known_topics.update(admin.list_topics())
            finally:
                admin.close()
        except KafkaError as e:
            raise ServiceError(f"cannot list topics on Kafka at {self._settings.kafka_bootstrap}: {e}") from e
        if topic not in self._known_topics:
            raise ServiceError(
                f"topic {topic} does not exist on {self._settings.kafka_bootstrap}; create the topics with "
                "`feedback up`, or check FEEDBACK_KAFKA_TOPIC_PREFIX"
            )

    def _send_all(self, records: Sequence[tuple[str, bytes]], *, topic: str) -> list[Delivery]:
        self._check_topic(topic)
        futures: list[tuple[str, FutureRecordMetadata | None, str | None]] = []
        for key, value in records:
            try:
                futures.append((key, self._producer.send(topic, key=key.encode("utf-8"), value=value), None))
            except KafkaTimeoutError as e:
                raise ServiceError(
                    f"Kafka gave no metadata for topic {topic} within the time limit ({e}); the topic may not "
                    "exist: create it with `feedback up`, or check FEEDBACK_KAFKA_TOPIC_PREFIX"
                ) from e
            except KafkaError as e:
                futures.append((key, None, f"{type(e).__name__}: {e}"))
        self._flush(topic, len(records))
        deliveries: list[Delivery] = []
        for key, future, send_error in futures:
            if future is None:
                deliveries.append(Delivery(key=key, topic=topic, error=send_error))
            elif future.succeeded():
                meta = future.value
                deliveries.append(Delivery(key=key, topic=topic, partition=meta.partition, offset=meta.offset))
            else:
                error = future.exception if future.is_done else "no acknowledgement before the delivery timeout"
                deliveries.append(Delivery(key=key, topic=topic, error=f"{error}"))
        failed = sum(1 for d in deliveries if not d.ok)
        if failed:
            log.error("produce failed topic=%s failed=%d of=%d", topic, failed, len(deliveries))
        return deliveries

    def _flush(self, topic: str, count: int) -> None:
        """Wait until every record sent so far is acknowledged or failed (or the flush timeout).

        When the broker refuses a batch as too large, kafka-python splits it and queues the
        parts again, and its flush() then raises ``UnknownError('Future not done')`` for the
        batch it was waiting on; the records are still in flight, so flush again.
        """
        deadline = time.monotonic() + self._flush_timeout
        while True:
            try:
                self._producer.flush(timeout=max(0.1, deadline - time.monotonic()))
                return
            except KafkaTimeoutError as e:
                log.error("flush timed out topic=%s records=%d: %s", topic, count, e)
                return
            except KafkaError as e:
                if time.monotonic() >= deadline:
                    log.error("flush gave up topic=%s records=%d: %s", topic, count, e)
                    return
                log.info("flush again topic=%s (a refused batch was split and re-sent): %s", topic, e)

    def send_events(self, events: Sequence[FeedbackEvent], *, topic: str) -> list[Delivery]:
        """Send events (key = event id), wait for the acknowledgements, one Delivery each."""
        return self._send_all([(e.id, e.model_dump_json().encode("utf-8")) for e in events], topic=topic)

    def send_dead_letters(self, letters: Sequence[DeadLetter], *, topic: str | None = None) -> list[Delivery]:
        """Send dead letters to the DLQ (key = their source location) and wait for acks."""
        target = topic or self._settings.kafka.dlq_topic
        return self._send_all(
            [(d.event_id or d.source or "ingest", d.model_dump_json().encode("utf-8")) for d in letters], topic=target
        )
