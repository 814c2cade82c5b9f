"""`up`, `down` and `status` for the pair of services the pipeline needs."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from typing import Literal

from elasticsearch import ApiError, TransportError
from pydantic import BaseModel

from feedback.errors import ServiceError
from feedback.es_access import USERNAMES
from feedback.services.elasticsearch import LocalElasticsearch, admin_client, es_version
from feedback.services.kafka import LocalKafka, create_topics, kafka_reachable
from feedback.services.process import stop_pid
from feedback.settings import Settings

__all__ = ["EsSecurity", "ServiceState", "StackStatus", "UpReport", "down", "status", "up"]

log = logging.getLogger(__name__)


class ServiceState(BaseModel):
    state: Literal["up", "down"]
    endpoint: str
    version: str | None
    managed: bool
    pid: int | None = None


class EsSecurity(BaseModel):
    """How clients reach Elasticsearch: TLS, whether it demands credentials, as whom (never passwords)."""

    tls: bool
    security: Literal["on", "off", "unknown"]
    users: list[str]
    ca_certs: str | None = None
    credentials_file: str | None = None


class StackStatus(BaseModel):
    kafka: ServiceState
    elasticsearch: ServiceState
    es_security: EsSecurity | None = None


class UpReport(BaseModel):
    es_roles: list[str] = []  # the file roles on the local node
    started: list[str]
    already_running: list[str]
    external: list[str]
    topics_created: list[str]
    seconds: float
    status: StackStatus


def status(settings: Settings) -> StackStatus:
    """Whether each service answers, where, and which version it runs."""
    kafka_up = kafka_reachable(settings.kafka_bootstrap)
    es_v = es_version(settings)
    local_kafka = LocalKafka(settings)
    local_es = LocalElasticsearch(settings)
    return StackStatus(
        kafka=ServiceState(
            state="up" if kafka_up else "down",
            endpoint=settings.kafka_bootstrap,
            version=(local_kafka.version if settings.manages_kafka else _kafka_version(settings)) if kafka_up else None,
            managed=settings.manages_kafka,
            pid=local_kafka.pid() if settings.manages_kafka else None,
        ),
        elasticsearch=ServiceState(
            state="up" if es_v else "down",
            endpoint=settings.es_url,
            version=es_v,
            managed=settings.manages_es,
            pid=local_es.pid() if settings.manages_es else None,
        ),
        es_security=_es_security(settings) if es_v else None,
    )


def _es_security(settings: Settings) -> EsSecurity:
    """TLS from the URL; security on when an anonymous request is refused; the users clients log in as."""
    es = settings.es
    security: Literal["on", "off", "unknown"] = "unknown"
    try:
        with admin_client(settings.model_copy(update={"es": es.model_copy(update={
                "username": None, "password": None, "api_key": None, "credentials_file": None})})) as anon:
            anon.info()
        security = "off"
    except ApiError as e:
        security = "on" if e.meta.status == 401 else "unknown"
    except TransportError:
        security = "unknown"
    if es.api_key is not None:
        users = ["(api key)"]
    elif es.username:
        users = [es.username]
    elif settings.manages_es and es.credentials_file is not None and es.credentials_file.is_file():
        users = list(USERNAMES.values())
    else:
        users = []
    return EsSecurity(tls=settings.es_url.startswith("https://"), security=security, users=users,
                      ca_certs=str(es.ca_certs) if es.ca_certs else None,
                      credentials_file=str(es.credentials_file) if settings.manages_es and es.credentials_file else None)


def _kafka_version(settings: Settings) -> str | None:
    """The newest protocol generation an external broker speaks, e.g. '4.0' (kafka-python's probe)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        return ".".join(str(p) for p in admin._client.check_version())
    finally:
        admin.close()


def up(settings: Settings, *, departments: Iterable[str] = ()) -> UpReport:
    """Start what is managed and not running, check what is external, create topics.

    On the local node it also creates (or updates) the least-privilege roles and users,
    including a read role for each of ``departments`` (index suffixes from the routing).
    Idempotent: services that already answer are left alone.
    """
    t0 = time.monotonic()
    started: list[str] = []
    running: list[str] = []
    external: list[str] = []
    local_kafka = LocalKafka(settings)
    local_es = LocalElasticsearch(settings)
    settings.services.home.mkdir(parents=True, exist_ok=True)

    if settings.manages_kafka:
        if local_kafka.ready():
            running.append("kafka")
        else:
            local_kafka.start()
            started.append("kafka")
    else:
        if not kafka_reachable(settings.kafka_bootstrap):
            raise ServiceError(f"Kafka at {settings.kafka_bootstrap} (FEEDBACK_KAFKA_BOOTSTRAP) does not answer")
        external.append("kafka")

    if settings.manages_es:
        if local_es.ready():
            running.append("elasticsearch")
        else:
            local_es.start()
            started.append("elasticsearch")
        roles = local_es.ensure_roles(departments)
    else:
        if es_version(settings) is None:
            raise ServiceError(f"Elasticsearch at {settings.es_url} (FEEDBACK_ES_URL) does not answer with yellow/green health")
        external.append("elasticsearch")
        roles = []

    topics = create_topics(settings)
    return UpReport(
        es_roles=roles,
        started=started,
        already_running=running,
        external=external,
        topics_created=topics,
        seconds=round(time.monotonic() - t0, 2),
        status=status(settings),
    )


def down(settings: Settings) -> list[str]:
    """Stop what `up` started (by PID file, gracefully, then forcefully); returns what stopped."""
    stopped: list[str] = []
    # With the separator: home /x/feedback must not claim the processes of /x/feedback-tests.
    home = os.path.join(settings.services.home, "")
    timeout = settings.services.stop_timeout
    if settings.manages_es:
        es = LocalElasticsearch(settings)
        if stop_pid(es.pid_file, marker=home, timeout=timeout, name="Elasticsearch"):
            stopped.append("elasticsearch")
    if settings.manages_kafka:
        kafka = LocalKafka(settings)
        if stop_pid(kafka.pid_file, marker=home, timeout=timeout, name="Kafka"):
            stopped.append("kafka")
    return stopped
