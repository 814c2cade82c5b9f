"""Provision, start, stop and inspect the local Kafka and Elasticsearch (no Docker needed)."""

from feedback.services.kafka import create_topics, kafka_reachable
from feedback.services.stack import ServiceState, StackStatus, UpReport, down, status, up

__all__ = ["ServiceState", "StackStatus", "UpReport", "create_topics", "down", "kafka_reachable", "status", "up"]
