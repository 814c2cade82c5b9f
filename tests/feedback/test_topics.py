"""Reading topics: the DLQ tail that `feedback demo` polls reads each record once."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer

from feedback.schema import DeadLetter
from feedback.settings import Settings
from feedback.topics import TopicTail

pytestmark = pytest.mark.integration


def _letters(settings: Settings, ids: list[str]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        for i in ids:
            d = DeadLetter(stage="classify", reason="test", event_id=i, payload="x", payload_encoding="utf-8")
            producer.send(settings.kafka.dlq_topic, key=i.encode(), value=d.model_dump_json().encode())
        producer.flush()
    finally:
        producer.close()


def test_the_dlq_tail_reads_only_what_is_new_on_each_poll(isolated_settings: Settings) -> None:
    _letters(isolated_settings, [f"old-{i}" for i in range(50)])  # earlier runs: never read
    tail = TopicTail(isolated_settings.kafka_bootstrap, isolated_settings.kafka.dlq_topic)
    try:
        assert tail.dead_letters() == []
        _letters(isolated_settings, ["a", "b", "c"])
        assert sorted(d.event_id or "" for d in tail.dead_letters()) == ["a", "b", "c"]
        assert tail.dead_letters() == []
        _letters(isolated_settings, ["d"])
        assert [d.event_id for d in tail.dead_letters()] == ["d"]
        assert tail.fetched == 4, "a poll fetched records it had already returned"
    finally:
        tail.close()
