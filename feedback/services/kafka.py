"""A single-node KRaft Kafka broker (combined broker + controller) on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import subprocess
import uuid
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from feedback.errors import ServiceError
from feedback.services.process import port_in_use, read_pid, wait_until
from feedback.services.provision import fetch_kafka, find_java
from feedback.settings import Settings

__all__ = ["LocalKafka", "create_topics", "kafka_reachable", "topic_specs"]

log = logging.getLogger(__name__)

_LOG4J2 = """\
status = error
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.filePattern = {log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


def kafka_reachable(bootstrap: str, *, timeout: float = 5.0) -> bool:
    """True when a metadata round trip to ``bootstrap`` succeeds.

    A plain TCP connect comes first: kafka-python retries a refused bootstrap with long
    backoffs, which would make every probe of a stopped broker take half a minute.
    """
    if not any(port_in_use(*_host_port(server)) for server in bootstrap.split(",")):
        return False
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="feedback-probe",
            request_timeout_ms=int(timeout * 1000),
        )
    except KafkaError:
        return False
    try:
        admin.describe_cluster()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def _host_port(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port or 9092)


def topic_specs(settings: Settings) -> list[NewTopic]:
    """The topics of the architecture page with partitions and retention from settings."""
    k = settings.kafka
    raw = [
        NewTopic(t, k.raw_partitions, 1, topic_configs={"retention.ms": str(k.raw_retention_ms)})
        for t in k.raw_topics
    ]
    others = [
        NewTopic(t, k.partitions, 1, topic_configs={"retention.ms": str(k.retention_ms)})
        for t in (k.classified_topic, k.alerts_topic, k.dlq_topic)
    ]
    progress = NewTopic(k.progress_topic, 1, 1, topic_configs={"cleanup.policy": "compact"})
    return raw + others + [progress]


def create_topics(settings: Settings) -> list[str]:
    """Create the missing topics; returns the names created (existing ones are kept)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id=settings.kafka.client_id)
    created: list[str] = []
    try:
        existing = set(admin.list_topics())
        for spec in topic_specs(settings):
            if spec.name in existing:
                continue
            try:
                admin.create_topics([spec])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                log.info("topic=%s created concurrently", spec.name)
    except KafkaError as e:
        raise ServiceError(f"cannot create topics on Kafka at {settings.kafka_bootstrap}: {e}") from e
    finally:
        admin.close()
    return created


class LocalKafka:
    """The broker that `feedback up` provisions under ``<home>/kafka``."""

    name = "Kafka"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        s = settings.services
        self.dist = s.home / f"kafka-{s.kafka_version}"
        self.state = s.home / "kafka"
        self.pid_file = self.state / "kafka.pid"
        self.log_file = self.state / "logs" / "server.log"
        self.stdout_file = self.state / "logs" / "stdout.log"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.settings.services.kafka_port}"

    @property
    def version(self) -> str:
        return self.settings.services.kafka_version

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def ready(self) -> bool:
        return kafka_reachable(self.endpoint)

    def start(self) -> None:
        """Download once, format storage once, start, and wait for a metadata round trip."""
        s = self.settings.services
        for port in (s.kafka_port, s.controller_port):
            if port_in_use("127.0.0.1", port):
                raise ServiceError(
                    f"port {port} on 127.0.0.1 is taken by another process, so Kafka cannot start; "
                    "stop it or set FEEDBACK_SERVICES_KAFKA_PORT / FEEDBACK_SERVICES_CONTROLLER_PORT"
                )
        java = find_java(17, configured=s.kafka_java_home, purpose="Kafka")
        fetch_kafka(s.home, s.kafka_version)
        (self.state / "logs").mkdir(parents=True, exist_ok=True)
        props = self._write_config()
        if not (self.state / "data" / "meta.properties").is_file():
            self._format(java, props)
        cmd = [
            str(java / "bin" / "java"),
            f"-Xms{s.kafka_heap}",
            f"-Xmx{s.kafka_heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.state / 'log4j2.properties'}",
            "-cp",
            f"{self.dist / 'libs'}/*",
            "kafka.Kafka",
            str(props),
        ]
        with open(self.stdout_file, "ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        self.pid_file.write_text(str(proc.pid))
        log.info("kafka started pid=%d", proc.pid)

        def alive_and_ready() -> bool:
            if proc.poll() is not None:
                raise ServiceError(
                    f"Kafka exited with code {proc.returncode} while starting; see {self.stdout_file} and {self.log_file}"
                )
            return self.ready()

        if not wait_until(alive_and_ready, timeout=s.start_timeout, interval=1.0):
            raise ServiceError(
                f"Kafka did not become ready within {s.start_timeout:.0f}s; see {self.log_file}"
            )

    def _write_config(self) -> Path:
        s = self.settings.services
        data = self.state / "data"
        props = self.state / "server.properties"
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{s.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{s.kafka_port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={data}",
                    f"num.partitions={self.settings.kafka.partitions}",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "delete.topic.enable=true",
                    "message.max.bytes=10485760",
                    "",
                ]
            )
        )
        (self.state / "log4j2.properties").write_text(_LOG4J2.format(log=self.log_file))
        return props

    def _format(self, java: Path, props: Path) -> None:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        done = subprocess.run(
            [
                str(java / "bin" / "java"),
                f"-Dlog4j2.configurationFile={self.state / 'log4j2.properties'}",
                "-cp",
                f"{self.dist / 'libs'}/*",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(props),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise ServiceError(f"formatting KRaft storage failed: {(done.stderr or done.stdout).strip()[:300]}")
        log.info("kafka storage formatted cluster_id=%s", cluster_id)
