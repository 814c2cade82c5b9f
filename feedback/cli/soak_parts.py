"""The moving parts of the fault soak: a lag sampler, a producer that outlives broker
restarts, and a supervised worker whose child can be killed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from feedback.cli.wiring import worker_environment
from feedback.errors import ServiceError
from feedback.settings import Settings

__all__ = ["Producer", "Sampler", "SupervisedWorker"]

log = logging.getLogger(__name__)


@dataclass
class Sampler:
    """Every second: the group's committed total and lag; the longest lag without progress."""

    settings: Settings
    group: str
    topics: list[str]
    longest: float = 0.0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _look(self, admin: KafkaAdminClient, consumer: KafkaConsumer) -> tuple[int, int]:
        offsets = admin.list_group_offsets(self.group).get(self.group, {})
        tps = [TopicPartition(t, p) for t in self.topics for p in (consumer.partitions_for_topic(t) or [])]
        ends = consumer.end_offsets(tps)
        committed = {tp: om.offset for tp, om in offsets.items() if om.offset >= 0}
        lag = sum(max(0, ends[tp] - committed.get(tp, 0)) for tp in tps)
        return sum(committed.values()), lag

    def _run(self) -> None:
        admin = consumer = None
        last_committed, since = -1, time.monotonic()
        while not self._stop.wait(1.0):
            now = time.monotonic()
            try:
                if admin is None or consumer is None:
                    admin = KafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap, request_timeout_ms=5000)
                    consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, group_id=None,
                                             enable_auto_commit=False, request_timeout_ms=5000)
                committed, lag = self._look(admin, consumer)
            except Exception as e:  # the broker may be restarting: the clock keeps running
                log.info("sampler: no look (%s)", e)
                for c in (admin, consumer):
                    if c is not None:
                        try:
                            c.close()
                        except Exception as close_error:
                            log.info("sampler: close failed (%s)", close_error)
                admin = consumer = None
                self.longest = max(self.longest, now - since)
                continue
            self.samples += 1
            if committed != last_committed or lag == 0:
                last_committed, since = committed, now
            self.longest = max(self.longest, now - since)
        for c in (admin, consumer):
            if c is not None:
                c.close()


class Producer:
    """Sends (key, value) records with retries across a broker restart; counts what was acknowledged."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: KafkaProducer | None = None

    def _client(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all",
                                           retries=10, max_block_ms=120_000, request_timeout_ms=30_000,
                                           max_request_size=8 * 1024 * 1024, linger_ms=20)
        return self._producer

    def send(self, topic_of: Callable[[int], str], records: Sequence[tuple[bytes, bytes]]) -> None:
        """Send until every record was acknowledged (a record sent twice is harmless: same id)."""
        pending = list(enumerate(records))
        for attempt in range(30):
            futures = []
            try:
                p = self._client()
                futures = [(i, p.send(topic_of(i), key=k, value=v)) for i, (k, v) in pending]
                p.flush(timeout=120)
            except KafkaError as e:
                log.warning("soak producer: %s; retrying", e)
            failed = []
            for i, f in futures or [(i, None) for i, _ in pending]:
                try:
                    if f is None:
                        raise KafkaError("not sent")
                    f.get(timeout=1)
                except KafkaError:
                    failed.append(i)
            pending = [(i, records[i]) for i in failed]
            if not pending:
                return
            log.warning("soak producer: %d records not acknowledged (attempt %d); retrying", len(pending), attempt + 1)
            self.close()
            time.sleep(2.0)
        raise ServiceError(f"{len(pending)} records were never acknowledged by Kafka")

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except KafkaError as e:
                log.info("soak producer close: %s", e)
            self._producer = None


class SupervisedWorker:
    """`feedback worker --supervise` for the soak's prefixes, logging to one file."""

    def __init__(self, settings: Settings, *, log_path: Path, extra_env: dict[str, str]) -> None:
        self.settings, self.log_path, self.extra_env = settings, log_path, extra_env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "feedback", "worker", "--supervise", "--backoff-cap", "8"],
                env=worker_environment(self.settings, self.extra_env), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        self.starts += 1

    def child_pid(self) -> int | None:
        if self.proc is None:
            return None
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def kill_child(self) -> bool:
        pid = self.child_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        return True

    def stop(self, *, timeout: float = 120.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pid = self.child_pid()
            if pid is not None:
                        os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait()
