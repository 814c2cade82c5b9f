"""Read whole Kafka topics from the beginning (DLQ checks, alerts, tests), with kafka-python."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from feedback.errors import ServiceError
from feedback.schema import DeadLetter

__all__ = ["Record", "read_dead_letters", "read_topic"]


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
