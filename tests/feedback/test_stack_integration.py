"""The real local Kafka and Elasticsearch that `feedback up` runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest
from kafka import KafkaConsumer, TopicPartition

from feedback.settings import Settings
from sinks import make_client

pytestmark = pytest.mark.integration


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "feedback", *args], capture_output=True, text=True, timeout=300)


def test_events_sent_by_the_producer_come_back_whole_in_send_order_per_partition(isolated_settings: Settings) -> None:
    # Through the project's own EventProducer (acks=all, idempotent, gzip), not the bare client.
    from datetime import UTC, datetime, timedelta

    from feedback.schema import FeedbackEvent, make_event_id
    from producers.kafka_producer import EventProducer

    topic = isolated_settings.kafka.raw_topic("email")
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    events = [FeedbackEvent(id=make_event_id("email", "stack", f"m{i}"), channel="email", source="stack",  # type: ignore[arg-type]
                            external_id=f"m{i}", received_at=t0 + timedelta(seconds=i), text=f"parcel {i} arrived late")
              for i in range(100)]
    with EventProducer(isolated_settings) as producer:
        deliveries = producer.send_events(events, topic=topic)
    assert all(d.ok for d in deliveries) and [d.key for d in deliveries] == [e.id for e in events]
    assert {d.partition for d in deliveries} == set(range(isolated_settings.kafka.raw_partitions))

    consumer = KafkaConsumer(bootstrap_servers=isolated_settings.kafka_bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=10_000)
    consumer.assign([TopicPartition(topic, p) for p in range(isolated_settings.kafka.raw_partitions)])
    received: dict[int, list[str]] = defaultdict(list)
    for msg in consumer:
        event = FeedbackEvent.model_validate_json(msg.value)
        assert msg.key.decode() == event.id
        received[msg.partition].append(event.id)
        if sum(map(len, received.values())) == 100:
            break
    consumer.close()
    sent: dict[int, list[str]] = defaultdict(list)
    for d in deliveries:
        sent[d.partition].append(d.key)  # type: ignore[index]
    assert received == sent  # every event once, in the order sent, on the partition Kafka acknowledged


def test_status_json_says_up(settings: Settings) -> None:
    done = _cli("status", "--json")
    assert done.returncode == 0, done.stderr
    st = json.loads(done.stdout)
    assert st["kafka"]["state"] == "up"
    assert st["kafka"]["endpoint"] == settings.kafka_bootstrap
    assert st["elasticsearch"]["state"] == "up"
    assert st["elasticsearch"]["endpoint"] == settings.es_url
    assert st["elasticsearch"]["version"]
    assert st["classifier"]["runtime"] in {"bf16", "onnx-int8", "fp32"} and st["classifier"]["requested"] == "auto"


def test_architecture_topics_exist_with_partitions(settings: Settings) -> None:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        for t in settings.kafka.raw_topics:
            parts = consumer.partitions_for_topic(t)
            assert parts is not None and len(parts) == settings.kafka.raw_partitions, t
        for t in (settings.kafka.classified_topic, settings.kafka.alerts_topic, settings.kafka.dlq_topic):
            assert consumer.partitions_for_topic(t), t
    finally:
        consumer.close()


@pytest.mark.restarts_services
def test_down_then_up_twice(settings: Settings) -> None:
    if not (settings.manages_kafka and settings.manages_es):
        pytest.skip("services are external (FEEDBACK_KAFKA_BOOTSTRAP / FEEDBACK_ES_URL); nothing to stop")
    plugin_zip = settings.services.home / "analysis-plugin" / f"feedback-analysis-{settings.services.es_version}.zip"
    built = plugin_zip.stat().st_mtime_ns
    down = _cli("down")
    assert down.returncode == 0, down.stderr
    st = json.loads(_cli("status", "--json").stdout)
    assert st["kafka"]["state"] == "down" and st["elasticsearch"]["state"] == "down"

    first = _cli("up", "--json")
    assert first.returncode == 0, first.stderr
    assert sorted(json.loads(first.stdout)["started"]) == ["elasticsearch", "kafka"]
    # Elasticsearch started again with the analysis plugin, which was neither rebuilt nor reinstalled.
    assert plugin_zip.stat().st_mtime_ns == built
    with make_client(settings.es_url, settings=settings.es, principal="admin") as es:
        plugins = es.nodes.info(metric="plugins", filter_path="nodes.*.plugins.name").body
    assert [p["name"] for n in plugins["nodes"].values() for p in n["plugins"]] == ["feedback-analysis"]
    second = _cli("up", "--json")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["started"] == [] and sorted(report["already_running"]) == ["elasticsearch", "kafka"]
    st = json.loads(_cli("status", "--json").stdout)
    assert st["kafka"]["state"] == "up" and st["elasticsearch"]["state"] == "up"
