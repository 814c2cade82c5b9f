"""The real local Kafka and Elasticsearch that `feedback up` runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest
from elasticsearch import Elasticsearch, helpers
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from feedback.settings import Settings

pytestmark = pytest.mark.integration


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "feedback", *args], capture_output=True, text=True, timeout=300)


def test_hundred_keyed_messages_come_back_in_order_per_key(isolated_settings: Settings) -> None:
    topic = isolated_settings.kafka.raw_topic("email")
    producer = KafkaProducer(bootstrap_servers=isolated_settings.kafka_bootstrap, acks="all")
    sent: dict[str, list[int]] = defaultdict(list)
    for i in range(100):
        key = f"key-{i % 7}"
        producer.send(topic, key=key.encode(), value=json.dumps({"seq": i}).encode())
        sent[key].append(i)
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(
        bootstrap_servers=isolated_settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    partitions = consumer.partitions_for_topic(topic)
    assert partitions is not None and len(partitions) == isolated_settings.kafka.raw_partitions
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    received: dict[str, list[int]] = defaultdict(list)
    count = 0
    for msg in consumer:
        received[msg.key.decode()].append(json.loads(msg.value)["seq"])
        count += 1
        if count == 100:
            break
    consumer.close()
    assert count == 100
    assert received == sent  # every key's messages, in the order they were sent


def test_bulk_index_hundred_documents_and_find_them(settings: Settings, unique: str) -> None:
    es = Elasticsearch(settings.es_url)
    index = f"t{unique}-stack"
    try:
        actions = (
            {"_index": index, "_id": f"doc-{i}", "_source": {"n": i, "text": f"parcel {i} arrived late"}}
            for i in range(100)
        )
        ok, errors = helpers.bulk(es, actions, refresh="wait_for")
        assert ok == 100 and errors == []
        assert es.count(index=index)["count"] == 100
        hits = es.search(index=index, query={"match": {"text": "late"}}, size=0)
        assert hits["hits"]["total"]["value"] == 100
        one = es.search(index=index, query={"term": {"n": 42}})
        assert [h["_id"] for h in one["hits"]["hits"]] == ["doc-42"]
    finally:
        es.options(ignore_status=404).indices.delete(index=index)
        es.close()


def test_status_json_says_up(settings: Settings) -> None:
    done = _cli("status", "--json")
    assert done.returncode == 0, done.stderr
    st = json.loads(done.stdout)
    assert st["kafka"]["state"] == "up"
    assert st["kafka"]["endpoint"] == settings.kafka_bootstrap
    assert st["elasticsearch"]["state"] == "up"
    assert st["elasticsearch"]["endpoint"] == settings.es_url
    assert st["elasticsearch"]["version"]


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
    down = _cli("down")
    assert down.returncode == 0, down.stderr
    st = json.loads(_cli("status", "--json").stdout)
    assert st["kafka"]["state"] == "down" and st["elasticsearch"]["state"] == "down"

    first = _cli("up", "--json")
    assert first.returncode == 0, first.stderr
    assert sorted(json.loads(first.stdout)["started"]) == ["elasticsearch", "kafka"]
    second = _cli("up", "--json")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["started"] == [] and sorted(report["already_running"]) == ["elasticsearch", "kafka"]
    st = json.loads(_cli("status", "--json").stdout)
    assert st["kafka"]["state"] == "up" and st["elasticsearch"]["state"] == "up"
