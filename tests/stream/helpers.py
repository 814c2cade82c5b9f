"""Running real worker processes against the real stack, and reading what they produced."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from feedback.cli.wiring import start_worker_process, stop_worker_process
from feedback.schema import Alert, DeadLetter
from feedback.settings import Settings
from feedback.topics import read_dead_letters, read_topic
from sinks import make_client

REPO = Path(__file__).resolve().parents[2]


def start_worker(settings: Settings, tmp: Path, *args: str, name: str = "worker", **extra: str) -> subprocess.Popen[bytes]:
    """A `feedback worker` process for this test's prefixes (consumer group = prefix-pipeline)."""
    s = settings.model_copy(update={"stream": settings.stream.model_copy(update={
        "app_id": f"{settings.kafka.topic_prefix}-pipeline", "data_dir": tmp / "faust"})})
    return start_worker_process(s, log_path=tmp / f"{name}.log", args=args, extra_env={"HF_HUB_OFFLINE": "1", **extra})


def stop_worker(proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    return stop_worker_process(proc, sig=sig, timeout=timeout)


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def indexed_docs(settings: Settings, aliases: str) -> list[dict[str, Any]]:
    """Every document behind the department aliases, as (_id, _index, _source) dicts."""
    es = make_client(settings.es_url, settings=settings.es, principal="ops")
    try:
        es.indices.refresh(index=aliases, ignore_unavailable=True)
        res = es.search(index=aliases, size=10_000, ignore_unavailable=True, query={"match_all": {}})
        return [{"_id": h["_id"], "_index": h["_index"], **h["_source"]} for h in res["hits"]["hits"]]
    finally:
        es.close()


def id_counts(docs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(d["_id"] for d in docs)


def dead_letters(settings: Settings) -> list[DeadLetter]:
    return read_dead_letters(settings.kafka_bootstrap, settings.kafka.dlq_topic)


def alerts(settings: Settings) -> list[Alert]:
    return [Alert.model_validate_json(r.value) for r in read_topic(settings.kafka_bootstrap, settings.kafka.alerts_topic)
            if r.value is not None]


def produce_raw(settings: Settings, channel: str, values: list[tuple[bytes, bytes]]) -> None:
    """Send (key, value) byte pairs straight to a raw topic (for poison messages)."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                             max_request_size=8 * 1024 * 1024)
    try:
        for key, value in values:
            producer.send(settings.kafka.raw_topic(channel), key=key, value=value)
        producer.flush()
    finally:
        producer.close()


def log_tail(tmp: Path, name: str = "worker", lines: int = 40) -> str:
    path = tmp / f"{name}.log"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
