"""Read whole Kafka topics from the beginning (DLQ checks, alerts, tests), with kafka-python."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from feedback.errors import ServiceError
from feedback.schema import DeadLetter

__all__ = ["Record", "TopicTail", "read_dead_letters", "read_topic"]


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


def read_topic(bootstrap: str, topic: str, *, timeout: float = 10.0) -> Iterator[Record]:
    """Every record of ``topic`` up to its end as of now, partition by partition.

    Uses no consumer group (nothing is committed), so it never disturbs a worker.
    """
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                 consumer_timeout_ms=int(timeout * 1000))
    except KafkaError as e:
        raise ServiceError(f"cannot read {topic} from Kafka at {bootstrap}: {e}") from e
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise ServiceError(f"topic {topic} does not exist on {bootstrap}; run `feedback up` to create it")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            for tp, messages in consumer.poll(timeout_ms=500).items():
                for m in messages:
                    if m.offset < ends[tp]:
                        yield Record(m.topic, m.partition, m.offset, m.timestamp, m.key, m.value)
                    if m.offset >= ends[tp] - 1:
                        remaining.discard(tp)
        if remaining:
            raise ServiceError(f"reading {topic} timed out after {timeout:.0f}s with partitions left: "
                               f"{sorted(tp.partition for tp in remaining)}")
    finally:
        consumer.close()


def read_dead_letters(bootstrap: str, topic: str, *, timeout: float = 10.0) -> list[DeadLetter]:
    """All dead letters in the DLQ topic; a record that is not a DeadLetter raises (only our code writes there)."""
    letters = []
    for r in read_topic(bootstrap, topic, timeout=timeout):
        if r.value is not None:
            letters.append(DeadLetter.model_validate_json(r.value))
    return letters


class TopicTail:
    """Follows a topic from its end at creation: each :meth:`poll` returns only what is new.

    For pollers such as ``feedback demo`` that look at a topic every few seconds: each
    record is fetched once, instead of the whole topic on every look. No consumer group.

    >>> tail = TopicTail("127.0.0.1:9092", "feedback.dlq")  # doctest: +SKIP
    >>> tail.poll()  # doctest: +SKIP
    []
    """

    def __init__(self, bootstrap: str, topic: str, *, timeout: float = 10.0) -> None:
        self.topic, self.timeout = topic, timeout
        try:
            self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
        except KafkaError as e:
            raise ServiceError(f"cannot read {topic} from Kafka at {bootstrap}: {e}") from e
        partitions = self._consumer.partitions_for_topic(topic)
        if not partitions:
            self._consumer.close()
            raise ServiceError(f"topic {topic} does not exist on {bootstrap}; run `feedback up` to create it")
        self._tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(self._tps)
        self._consumer.seek_to_end(*self._tps)
        self._next = {tp: self._consumer.position(tp) for tp in self._tps}
        self.fetched = 0

    def poll(self) -> list[Record]:
        """The records written since the last call (up to the end offsets as of now)."""
        ends = self._consumer.end_offsets(self._tps)
        out: list[Record] = []
        deadline = time.monotonic() + self.timeout
        while any(self._next[tp] < ends[tp] for tp in self._tps) and time.monotonic() < deadline:
            for tp, messages in self._consumer.poll(timeout_ms=200).items():
                for m in messages:
                    self.fetched += 1
                    out.append(Record(m.topic, m.partition, m.offset, m.timestamp, m.key, m.value))
                    self._next[tp] = m.offset + 1
        return out

    def dead_letters(self) -> list[DeadLetter]:
        """:meth:`poll`, as dead letters (for the DLQ topic)."""
        return [DeadLetter.model_validate_json(r.value) for r in self.poll() if r.value is not None]

    def close(self) -> None:
        self._consumer.close()
