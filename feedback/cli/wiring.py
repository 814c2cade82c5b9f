"""Builds the stages from settings and hands them to each other (the only wiring besides the API)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from elasticsearch import Elasticsearch

from feedback.es_access import Principal
from feedback.settings import Settings

if TYPE_CHECKING:
    import faust

    from feedback.protocols import Classifier, IndexFailure
    from feedback.schema import Alert, ClassifiedFeedback
    from stream.app import PipelineCounters
    from stream.routing import RoutingConfig

__all__ = [
    "REPO",
    "start_worker_process",
    "stop_worker_process",
    "EsIndexSide",
    "build_classifier",
    "build_index_side",
    "build_pipeline",
    "covering",
    "department_aliases",
    "ensure_indexes",
    "es_client",
    "load_routing_config",
]


REPO = Path(__file__).resolve().parents[2]


def worker_environment(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment that gives a `feedback worker` child these settings' endpoints and names."""
    env = dict(os.environ)
    env.update(
        FEEDBACK_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        FEEDBACK_SERVICES_HOME=str(settings.services.home),
        FEEDBACK_KAFKA_TOPIC_PREFIX=settings.kafka.topic_prefix,
        FEEDBACK_ES_INDEX_PREFIX=settings.es.index_prefix,
        FEEDBACK_STREAM_APP_ID=settings.stream.app_id,
        PYTHONUNBUFFERED="1",
    )
    # The local node stays "local" in the child (unset URL), so it logs in with the local users.
    if settings.es.url is not None:
        env["FEEDBACK_ES_URL"] = settings.es.url
    for name, path in (("CA_CERTS", settings.es.ca_certs), ("CREDENTIALS_FILE", settings.es.credentials_file)):
        if path is not None:
            env[f"FEEDBACK_ES_{name}"] = str(path)
    if settings.stream.data_dir is not None:
        env["FEEDBACK_STREAM_DATA_DIR"] = str(settings.stream.data_dir)
    env.update(extra or {})
    return env


def start_worker_process(
    settings: Settings, *, log_path: Path, args: Sequence[str] = (), extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `feedback worker` as a child process logging to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "feedback", "worker", *args],
            env=worker_environment(settings, extra_env),
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )


def stop_worker_process(proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
    """Signal the worker (SIGTERM: finish the batch in hand) and wait; SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def es_client(settings: Settings, *, principal: Principal = "api") -> Elasticsearch:
    """A synchronous Elasticsearch client for the configured node, acting as ``principal``."""
    from sinks import make_client

    return make_client(settings.es_url, settings=settings.es, principal=principal)


def covering(settings: Settings, pattern: str) -> Settings:
    """``settings`` whose roles (written by `up`) also cover the index prefix ``pattern``, e.g. ``bench*``."""
    if pattern in settings.es.access_prefixes:
        return settings
    prefixes = (*settings.es.access_prefixes, pattern)
    return settings.model_copy(update={"es": settings.es.model_copy(update={"access_prefixes": prefixes})})


def load_routing_config(settings: Settings) -> RoutingConfig:
    """The validated routing (settings.stream.routing, or the shipped default)."""
    from stream.routing import load_routing

    return load_routing(settings.stream.routing)


def department_aliases(settings: Settings) -> str:
    """The comma-separated aliases of every department (what search and the demo read)."""
    routing = load_routing_config(settings)
    return ",".join(f"{settings.es.index_prefix}-{d.index}" for d in routing.departments)


def ensure_indexes(settings: Settings, routing: RoutingConfig) -> None:
    """Template, ``-v1`` indexes and aliases for every department (idempotent)."""
    from sinks import ensure_department_indexes

    es = es_client(settings, principal="worker")
    try:
        ensure_department_indexes(es, prefix=settings.es.index_prefix, departments=[d.index for d in routing.departments],
                                  refresh_interval=settings.es.refresh_interval)
    finally:
        es.close()


def build_classifier(settings: Settings) -> Classifier:
    """The classifier, loaded once per process and settings (``load_classifier`` caches it)."""
    from classifiers import load_classifier

    return load_classifier(settings.classifier, home=settings.services.home)


def build_pipeline(settings: Settings) -> tuple[faust.App, PipelineCounters]:
    """The Faust app with its classifier, routing, Elasticsearch sink and alert delivery."""
    from sinks import AsyncIndexWriter, AsyncTopicVolumes
    from stream.app import build_app

    routing = load_routing_config(settings)
    ensure_indexes(settings, routing)
    classifier = build_classifier(settings)
    sink = AsyncIndexWriter(settings.es_url, settings=settings.es, prefix=settings.es.index_prefix,
                            index_of_department={d.name: d.index for d in routing.departments})
    volumes = AsyncTopicVolumes(settings.es_url, settings=settings.es, prefix=settings.es.index_prefix,
                                aliases=[f"{settings.es.index_prefix}-{d.index}" for d in routing.departments])
    webhook = settings.stream.alert_webhook

    async def on_alert(alert: Alert) -> None:
        from feedback.alerts import deliver_alert

        await deliver_alert(alert, url=webhook)  # type: ignore[arg-type]

    return build_app(settings, classifier=classifier, sink=sink, routing=routing, volumes=volumes,
                     on_alert=on_alert if webhook else None)


class EsIndexSide:
    """The index side of `feedback replay`, over ``sinks`` (see ``replay_run.IndexSide``)."""

    def __init__(self, settings: Settings, routing: RoutingConfig) -> None:
        from sinks import IndexWriter

        self.es = es_client(settings, principal="ops")
        self.prefix = settings.es.index_prefix
        self.refresh_interval = settings.es.refresh_interval
        self.suffix = {d.name: d.index for d in routing.departments}
        self.writer = IndexWriter(settings.es_url, settings=settings.es, client=self.es, principal="ops")

    def aliases(self) -> dict[str, str]:
        from sinks import ensure_department_indexes

        by_suffix = ensure_department_indexes(self.es, prefix=self.prefix, departments=list(self.suffix.values()),
                                              refresh_interval=self.refresh_interval)
        return {name: by_suffix[suffix] for name, suffix in self.suffix.items() if suffix in by_suffix}

    def create_versions(self) -> dict[str, str]:
        from sinks import create_next_versions

        by_suffix = create_next_versions(self.es, prefix=self.prefix, departments=list(self.suffix.values()),
                                         refresh_interval=self.refresh_interval)
        return {name: by_suffix[suffix] for name, suffix in self.suffix.items()}

    def previous_labels(self, ids: list[str]) -> dict[str, dict[str, str]]:
        from sinks import alias_name, labels_of

        return labels_of(self.es, indexes=[alias_name(self.prefix, s) for s in self.suffix.values()], ids=ids)

    def write(self, docs: list[ClassifiedFeedback], targets: dict[str, str]) -> list[IndexFailure]:
        return self.writer.write(docs, index_for=lambda d: targets[d.department])

    def copy_missing(self, previous: dict[str, str], targets: dict[str, str]) -> int:
        from sinks import copy_missing

        return copy_missing(self.es, previous=previous, targets=targets)

    def count(self, indexes: list[str]) -> int:
        from sinks import count_documents

        return count_documents(self.es, indexes)

    def switch(self, targets: dict[str, str]) -> None:
        from sinks import switch_aliases

        switch_aliases(self.es, prefix=self.prefix, targets={self.suffix[d]: i for d, i in targets.items()})


def build_index_side(settings: Settings, routing: RoutingConfig) -> EsIndexSide:
    """The Elasticsearch side of a replay for these settings and departments."""
    return EsIndexSide(settings, routing)
