"""Integration: ingest every sample file into the real Kafka; nothing dropped, ids stable."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from feedback.errors import ServiceError
from feedback.schema import DeadLetter, FeedbackEvent
from feedback.settings import Settings
from producers import EventProducer, ParseOptions, ingest_paths, parse_path
from tests.producers.helpers import SAMPLES, read_topic

MANIFEST: dict[str, dict[str, int]] = json.loads((SAMPLES / "MANIFEST.json").read_text())
CHANNELS = ("email", "chat", "app_review", "social")

pytestmark = pytest.mark.integration


def _expected(channel: str) -> tuple[int, int]:
    entries = [v for k, v in MANIFEST.items() if k.startswith(channel + "/")]
    return sum(e["valid"] for e in entries), sum(e["rejected"] for e in entries)


def test_every_sample_lands_on_its_raw_topic_or_in_rejects_and_dlq(ingest_settings: Settings) -> None:
    s = ingest_settings
    all_letters: list[DeadLetter] = []
    for channel in CHANNELS:
        valid, rejected = _expected(channel)
        report = ingest_paths(channel, [SAMPLES / channel], s)
        assert report.ok
        assert (report.produced, report.rejected, report.failed) == (valid, rejected, 0)
        assert report.read == valid + rejected
        records = read_topic(s, s.kafka.raw_topic(channel))
        assert len(records) == valid
        events = [FeedbackEvent.model_validate_json(r.value) for r in records]
        assert {r.key.decode() for r in records} == {e.id for e in events} == set(report.event_ids)
        assert all(e.channel.value == channel for e in events)
        assert report.rejects_file is not None
        lines = Path(report.rejects_file).read_text(encoding="utf-8").splitlines()
        letters = [DeadLetter.model_validate_json(line) for line in lines]
        assert len(letters) == rejected
        assert all(letter.stage == "ingest" and letter.reason for letter in letters)
        all_letters.extend(letters)
    dlq = [DeadLetter.model_validate_json(r.value) for r in read_topic(s, s.kafka.dlq_topic)]
    assert Counter((d.source, d.reason, d.payload) for d in dlq) == Counter(
        (d.source, d.reason, d.payload) for d in all_letters
    )
    reasons = " | ".join(d.reason for d in dlq)
    for expected in ("invalid JSON", "empty text", "bad encoding", "no customer turn", "less than or equal to 5"):
        assert expected in reasons


def test_reingesting_a_file_yields_the_same_ids(ingest_settings: Settings) -> None:
    path = SAMPLES / "social" / "posts.jsonl"
    first = ingest_paths("social", [path], ingest_settings)
    second = ingest_paths("social", [path], ingest_settings)
    assert first.event_ids == second.event_ids and len(first.event_ids) == 81
    records = read_topic(ingest_settings, ingest_settings.kafka.raw_topic("social"))
    assert Counter(r.key.decode() for r in records) == Counter({i: 2 for i in first.event_ids})


def test_missing_topic_fails_loudly_and_creates_nothing(ingest_settings: Settings) -> None:
    prefix = f"{ingest_settings.kafka.topic_prefix}-missing"
    s = ingest_settings.model_copy(update={"kafka": ingest_settings.kafka.model_copy(update={"topic_prefix": prefix})})
    with pytest.raises(ServiceError, match=f"topic {prefix}.raw.chat does not exist"):
        ingest_paths("chat", [SAMPLES / "chat" / "intercom_conversations.json"], s)
    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    try:
        assert not [t for t in admin.list_topics() if t.startswith(prefix)]
    finally:
        admin.close()


def test_events_kafka_refuses_are_reported_and_kept_not_dropped(ingest_settings: Settings) -> None:
    # Fault injection on the real client: records above 700 bytes are refused by the
    # producer itself (MessageSizeTooLargeError), the rest are acknowledged.
    path = SAMPLES / "chat" / "intercom_conversations.json"
    events = parse_path("chat", path, options=ParseOptions.from_settings(ingest_settings)).events
    with EventProducer(ingest_settings) as producer:
        client = producer._producer
        client.config["max_request_size"] = 700
        too_big = {
            e.id for e in events
            if client._estimate_size_in_bytes(e.id.encode(), e.model_dump_json().encode(), []) > 700
        }
        report = ingest_paths("chat", [path], ingest_settings, producer=producer)
    assert too_big and len(too_big) < len(events)
    assert not report.ok
    assert report.failed == len(too_big) and report.produced == len(events) - len(too_big)
    assert report.rejects_file is not None
    kept = [DeadLetter.model_validate_json(line) for line in Path(report.rejects_file).read_text().splitlines()]
    assert {k.event_id for k in kept} == too_big
    assert all(k.reason.startswith("Kafka did not acknowledge") for k in kept)
    assert {r.key.decode() for r in read_topic(ingest_settings, ingest_settings.kafka.raw_topic("chat"))} == (
        {e.id for e in events} - too_big
    )


def test_records_over_the_brokers_max_message_bytes_are_reported_and_kept(
    ingest_settings: Settings, tmp_path: Path
) -> None:
    # The broker refuses them (the topic's max.message.bytes), not the producer's own limit.
    from kafka.admin import ConfigResource, ConfigResourceType

    topic = ingest_settings.kafka.raw_topic("chat")
    admin = KafkaAdminClient(bootstrap_servers=ingest_settings.kafka_bootstrap)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": "8000"})])
    finally:
        admin.close()
    noise = base64.b64encode(os.urandom(11_000)).decode()  # ~15k characters that gzip cannot shrink below 8000 bytes
    rows = [{"conversation_id": f"small-{i}", "customer_id": f"c-{i}", "messages": [
        {"role": "customer", "text": f"order {i} arrived late", "timestamp": "2026-11-02T09:00:00Z"}]} for i in range(12)]
    rows.insert(6, {"conversation_id": "huge", "customer_id": "c-huge", "messages": [
        {"role": "customer", "text": f"attachment pasted: {noise}", "timestamp": "2026-11-02T09:00:00Z"}]})
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    events = parse_path("chat", path, options=ParseOptions.from_settings(ingest_settings)).events
    [huge] = [e.id for e in events if e.external_id == "huge"]

    report = ingest_paths("chat", [path], ingest_settings)
    assert not report.ok and report.rejects_file is not None
    kept = [DeadLetter.model_validate_json(line) for line in Path(report.rejects_file).read_text().splitlines()]
    kept_ids = {k.event_id for k in kept}
    on_topic = {r.key.decode() for r in read_topic(ingest_settings, topic)}
    assert huge in kept_ids and huge not in on_topic
    assert all(k.reason.startswith("Kafka did not acknowledge") for k in kept)
    # Every event is on the topic or kept with its reason, never both, never neither.
    assert kept_ids | on_topic == {e.id for e in events} and not kept_ids & on_topic
    assert report.failed == len(kept_ids) and report.produced == len(on_topic) > 0


def test_cli_ingest_prints_one_json_summary_and_the_rejects_path(ingest_settings: Settings, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FEEDBACK_KAFKA_BOOTSTRAP": ingest_settings.kafka_bootstrap,
        "FEEDBACK_KAFKA_TOPIC_PREFIX": ingest_settings.kafka.topic_prefix,
        "FEEDBACK_INGEST_REJECTS_DIR": str(tmp_path / "cli-rejects"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "feedback", "ingest", "app_review", str(SAMPLES / "app_review"), "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["produced"], summary["rejected"], summary["failed"]) == (340, 2, 0)
    assert "event_ids" not in summary
    assert Path(summary["rejects_file"]).parent == tmp_path / "cli-rejects"
    assert len(Path(summary["rejects_file"]).read_text().splitlines()) == 2


def test_cli_ingest_of_a_missing_path_exits_1_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "feedback", "ingest", "chat", str(tmp_path / "nope.jsonl")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: no such file or folder")
