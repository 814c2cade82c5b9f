"""Consumer progress for `feedback status`: lag per consumer group and topic, and when
each last made progress.

Lag is the end offsets minus the group's committed offsets (read with the admin client,
without joining the group). The time of the last progress comes from the compacted
progress topic, where every worker's watchdog writes, per partition, the time its
committed offset last moved.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pydantic import BaseModel, ConfigDict

from feedback.errors import ServiceError
from feedback.settings import Settings
from feedback.topics import read_topic

__all__ = ["TopicProgress", "consumer_progress"]

log = logging.getLogger(__name__)


class TopicProgress(BaseModel):
    model_config = ConfigDict(frozen=True)

    group: str
    topic: str
    partitions: int
    committed: int
    end: int
    lag: int
    last_progress_at: datetime | None = None


def _last_progress(settings: Settings) -> dict[tuple[str, str], datetime]:
    latest: dict[tuple[str, str], datetime] = {}
    try:
        records = list(read_topic(settings.kafka_bootstrap, settings.kafka.progress_topic, timeout=5.0))
    except ServiceError as e:  # an older setup without the topic: lag only
        log.info("no progress records: %s", e)
        return latest
    for r in records:
        if r.value is None:
            continue
        try:
            p = json.loads(r.value)
            key, at = (p["group"], p["topic"]), datetime.fromisoformat(p["progress_at"])
        except (ValueError, KeyError, TypeError):
            continue
        if key not in latest or at > latest[key]:
            latest[key] = at
    return latest


def consumer_progress(settings: Settings) -> list[TopicProgress]:
    """Every consumer group that reads this deployment's topics, per topic."""
    prefix = f"{settings.kafka.topic_prefix}."
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id=settings.kafka.client_id,
                                 request_timeout_ms=10_000)
    except KafkaError as e:
        raise ServiceError(f"cannot reach Kafka at {settings.kafka_bootstrap} for consumer lag: {e}") from e
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    try:
        committed: dict[str, dict[TopicPartition, int]] = {}
        for g in admin.list_groups():
            group = g["group_id"]
            offsets = admin.list_group_offsets(group).get(group, {})
            ours = {tp: om.offset for tp, om in offsets.items()
                    if tp.topic.startswith(prefix) and tp.topic != settings.kafka.progress_topic and om.offset >= 0}
            if ours:
                committed[group] = ours
        all_tps = sorted({tp for offs in committed.values() for tp in offs})
        ends = consumer.end_offsets(all_tps) if all_tps else {}
    except KafkaError as e:
        raise ServiceError(f"reading consumer groups from Kafka at {settings.kafka_bootstrap} failed: {e}") from e
    finally:
        consumer.close()
        admin.close()
    progress = _last_progress(settings)
    out: list[TopicProgress] = []
    for group, offsets in sorted(committed.items()):
        by_topic: dict[str, list[TopicPartition]] = {}
        for tp in offsets:
            by_topic.setdefault(tp.topic, []).append(tp)
        for topic, tps in sorted(by_topic.items()):
            c = sum(offsets[tp] for tp in tps)
            e = sum(ends.get(tp, 0) for tp in tps)
            out.append(TopicProgress(group=group, topic=topic, partitions=len(tps), committed=c, end=e,
                                     lag=sum(max(0, ends.get(tp, 0) - offsets[tp]) for tp in tps),
                                     last_progress_at=progress.get((group, topic))))
    return out
