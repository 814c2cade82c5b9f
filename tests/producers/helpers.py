"""Helpers for the producer tests: read back a topic from the real broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from feedback.services import create_topics
from feedback.settings import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def with_rejects_dir(settings: Settings, path: Path) -> Settings:
    """The same settings, writing rejects files under ``path``."""
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"rejects_dir": path})})


def read_topic(settings: Settings, topic: str, *, timeout: float = 20.0) -> list[ConsumerRecord]:
    """Every record on ``topic`` from the beginning up to its current end offsets."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=1000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        assert partitions, f"topic {topic} has no partitions"
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"timed out reading {topic}"
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


@contextmanager
def kafka_topics(settings: Settings, *, rejects_dir: Path) -> Iterator[Settings]:
    """Settings with a random topic prefix whose topics exist for the block, then are deleted."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    isolated = settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"topic_prefix": prefix}),
            "ingest": settings.ingest.model_copy(update={"rejects_dir": rejects_dir}),
        }
    )
    created = create_topics(isolated)
    try:
        yield isolated
    finally:
        admin = KafkaAdminClient(bootstrap_servers=isolated.kafka_bootstrap)
        try:
            admin.delete_topics(created)
        finally:
            admin.close()
