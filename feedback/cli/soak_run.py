"""The fault soak behind `feedback soak`: real sample events through supervised workers
while faults are injected, then an account of every event.

Runs under its own topic/index prefix (``soak<hex>``) and consumer group, on the local
services of `feedback up` (the Elasticsearch and broker faults stop and start those).
Faults, in the order given, each while events flow:

``kill``     SIGKILL the worker child mid-batch; the supervisor starts a new one.
``restart``  stop the worker cleanly, let a backlog build while no worker runs, start a
             new one on a broker that holds changelog topics for this app id (seeded the
             way the old table-based app left them) — the case that stalled (issue #12).
``es``       stop Elasticsearch for ``es_outage`` seconds.
``broker``   restart the Kafka broker.
``poison``   records that are not JSON, violate the schema or are too long.

A sampler records the group's committed offsets and lag every second; the longest time
with lag and no committed progress is reported. At the end every produced id must be in
Elasticsearch exactly once or in the DLQ (never both): ``lost`` and ``doubled`` must be 0.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from pydantic import BaseModel

from feedback.cli.soak_parts import Producer, Sampler, SupervisedWorker
from feedback.cli.wiring import REPO, covering, department_aliases, ensure_indexes, es_client, load_routing_config
from feedback.errors import FeedbackError, ServiceError
from feedback.schema import CHANNELS, FeedbackEvent, make_event_id
from feedback.settings import Settings
from feedback.topics import TopicTail, read_dead_letters

__all__ = ["FAULTS", "SoakReport", "run_soak"]

log = logging.getLogger(__name__)

FAULTS = ("kill", "restart", "es", "broker", "poison")


class SoakReport(BaseModel):
    events: int
    faults: list[str]
    produced: int
    poison: int
    indexed: int
    dead_lettered: int
    lost: int
    doubled: int
    restarts: int
    watchdog_exits: int
    longest_no_progress_s: float
    seconds: float
    throughput_eps: float
    lost_ids: list[str] = []
    doubled_ids: list[str] = []
    log: str

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.doubled == 0


def sample_events(n: int, *, settings: Settings, run: str) -> list[FeedbackEvent]:
    """``n`` events cycling over the bundled samples' real texts, each with its own id."""
    from producers import ParseOptions, parse_path

    options = ParseOptions.from_settings(settings)
    base: list[FeedbackEvent] = []
    for channel in CHANNELS:
        folder = REPO / "samples" / channel
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and "hostile" not in path.parts:
                try:
                    base += parse_path(channel, path, options=options).events
                except FeedbackError:
                    continue
    if not base:
        raise ServiceError(f"no sample events found under {REPO / 'samples'}; a checkout has samples/")
    out = []
    for i, e in zip(range(n), itertools.cycle(base)):
        ext = f"{e.external_id}#soak-{run}-{i}"
        out.append(e.model_copy(update={"id": make_event_id(e.channel.value, e.source, ext), "external_id": ext}))
    return out


def poison_records(run: str, *, max_chars: int) -> list[tuple[bytes, bytes]]:
    """Records the classify stage must dead-letter: (key, value)."""
    big = {"id": f"poison-big-{run}", "channel": "chat", "source": "soak", "external_id": f"big-{run}",
           "received_at": "2026-11-27T10:00:00Z", "text": "x" * (max_chars + 10)}
    big["id"] = make_event_id("chat", "soak", str(big["external_id"]))
    return [
        (f"poison-json-{run}".encode(), b"this is not json {"),
        (f"poison-schema-{run}".encode(), json.dumps({"id": "x", "channel": "pigeon", "text": "hi"}).encode()),
        (str(big["id"]).encode(), json.dumps(big).encode()),
    ]


def _chunks(items: Sequence[FeedbackEvent], n: int) -> Iterator[Sequence[FeedbackEvent]]:
    size = -(-len(items) // n)
    for i in range(n):
        yield items[i * size:(i + 1) * size]


def _soak_settings(settings: Settings, prefix: str) -> Settings:
    return settings.model_copy(update={
        "kafka": settings.kafka.model_copy(update={"topic_prefix": prefix}),
        "es": settings.es.model_copy(update={"index_prefix": prefix}),
        "stream": settings.stream.model_copy(update={"app_id": f"{prefix}-pipeline",
                                                     "data_dir": settings.services.home / "soak" / prefix}),
    })


def _seed_changelogs(s: Settings, producer: Producer) -> list[str]:
    """Changelog topics of this app id, filled the way the table-based worker left them."""
    from kafka.admin import NewTopic

    names = [f"{s.stream.app_id}-{t}-changelog" for t in ("trends-300s", "trends-3600s", "alerts-raised")]
    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(n, s.kafka.partitions, 1, topic_configs={"cleanup.policy": "compact,delete"})
                             for n in names])
    finally:
        admin.close()
    for name in names:
        producer.send(lambda i, n=name: n, [(f"topic{i % 12}|{i}".encode(), str(i).encode()) for i in range(1000)])
    return names


def _indexed_counts(s: Settings) -> Counter[str]:
    from elasticsearch import helpers

    es = es_client(s, principal="ops")  # the final accounting refreshes the indexes first (ops' privilege)
    try:
        aliases = department_aliases(s)
        es.indices.refresh(index=aliases, ignore_unavailable=True)
        return Counter(h["_id"] for h in helpers.scan(es, index=aliases, query={"query": {"match_all": {}}},
                                                     _source=False, ignore_unavailable=True, size=2000))
    finally:
        es.close()


def _finished(s: Settings) -> int:
    es = es_client(s)
    try:
        return int(es.count(index=department_aliases(s), ignore_unavailable=True)["count"])
    except Exception as e:  # Elasticsearch may be the fault under way
        log.info("count unavailable: %s", e)
        return -1
    finally:
        es.close()


def _cleanup(s: Settings, extra_topics: list[str]) -> None:
    from feedback.services.kafka import topic_specs

    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    try:
        existing = set(admin.list_topics())
        doomed = [t for t in [spec.name for spec in topic_specs(s)] + extra_topics if t in existing]
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()
    es = es_client(s, principal="ops")
    try:
        names = list(es.indices.get(index=f"{s.es.index_prefix}-*", expand_wildcards="all", ignore_unavailable=True))
        if names:
            es.indices.delete(index=",".join(names))
    finally:
        es.close()


def run_soak(
    settings: Settings,
    *,
    events: int,
    faults: Sequence[str],
    es_outage: float = 60.0,
    timeout: float | None = None,
    keep: bool = False,
    on_step: Callable[[str], None] = lambda _: None,
) -> SoakReport:
    """Run the soak; see the module docstring."""
    from feedback.services import create_topics, up
    from feedback.services.elasticsearch import LocalElasticsearch
    from feedback.services.kafka import LocalKafka
    from feedback.services.process import stop_pid

    unknown = sorted(set(faults) - set(FAULTS))
    if unknown:
        raise FeedbackError(f"unknown fault(s) {unknown}; choose from {', '.join(FAULTS)}")
    if ("es" in faults and not settings.manages_es) or ("broker" in faults and not settings.manages_kafka):
        raise FeedbackError("the es and broker faults stop the local services of `feedback up`; these settings "
                            "point at external ones (FEEDBACK_ES_URL / FEEDBACK_KAFKA_BOOTSTRAP)")
    # The soak indexes under its own prefix soak<hex>: the roles (written by `up`) must cover it.
    settings = covering(settings, "soak*")
    up(settings)
    run = uuid.uuid4().hex[:8]
    s = _soak_settings(settings, f"soak{run}")
    routing = load_routing_config(s)
    create_topics(s)
    ensure_indexes(s, routing)
    dlq = TopicTail(s.kafka_bootstrap, s.kafka.dlq_topic)  # a new topic: its end is its beginning
    log_path = settings.services.home / "logs" / f"soak-{run}.log"
    good = sample_events(events, settings=s, run=run)
    poison = poison_records(run, max_chars=s.ingest.max_text_chars) if "poison" in faults else []
    producer = Producer(s)
    extra_topics = _seed_changelogs(s, producer) if "restart" in faults else []
    sampler = Sampler(s, s.stream.app_id, [*s.kafka.raw_topics, s.kafka.classified_topic])
    worker = SupervisedWorker(s, log_path=log_path, extra_env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                                               "FEEDBACK_STREAM_METRICS_PORT": "0"})
    es_node, broker = LocalElasticsearch(s), LocalKafka(s)
    channels = {e.id: e.channel.value for e in good}
    started = time.monotonic()
    clean_restarts = 0

    def produce(chunk: Sequence[FeedbackEvent]) -> None:
        records = [(e.id.encode(), e.model_dump_json().encode()) for e in chunk]
        producer.send(lambda i: s.kafka.raw_topic(channels[chunk[i].id]), records)

    def progressed(by: int, *, within: float = 300.0) -> None:
        start = max(_finished(s), 0)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and _finished(s) < start + by:
            time.sleep(1.0)

    try:
        worker.start()
        sampler.start()
        chunks = list(_chunks(good, len(faults) + 1))
        on_step(f"producing {len(chunks[0])} events")
        produce(chunks[0])
        for fault, chunk in zip(faults, chunks[1:]):
            progressed(10)
            on_step(f"fault {fault} with {len(chunk)} more events")
            if fault == "kill":
                produce(chunk)
                progressed(1, within=60)
                worker.kill_child()
            elif fault == "restart":
                worker.stop()
                produce(chunk)  # the backlog: written while no worker runs
                worker.start()
                clean_restarts += 1
            elif fault == "es":
                t0 = time.monotonic()
                stop_pid(es_node.pid_file, marker=str(s.services.home), timeout=60, name="Elasticsearch")
                produce(chunk)
                time.sleep(max(0.0, es_outage - (time.monotonic() - t0)))
                es_node.start()
            elif fault == "broker":
                stop_pid(broker.pid_file, marker=str(s.services.home), timeout=60, name="Kafka")
                time.sleep(5)
                broker.start()
                produce(chunk)
            elif fault == "poison":
                producer.send(lambda i: s.kafka.raw_topic("chat"), poison)
                produce(chunk)
        on_step("waiting until every event is indexed or dead-lettered")
        wait = timeout if timeout is not None else max(600.0, events / 4)
        deadline = time.monotonic() + wait
        good_ids = {e.id for e in good}
        dead_seen: set[str] = set()
        while time.monotonic() < deadline:
            try:
                dead_seen |= {d.event_id for d in dlq.dead_letters() if d.event_id}
            except (KafkaError, ServiceError) as e:
                log.info("dlq not read: %s", e)
            done = _finished(s)
            if done >= 0 and done + len(dead_seen & good_ids) >= len(good):
                break
            time.sleep(5.0)
        seconds = time.monotonic() - started
    finally:
        sampler.stop()
        worker.stop()
        producer.close()
        dlq.close()
        if not es_node.ready() and s.manages_es:
            es_node.start()
    counts = _indexed_counts(s)
    letters = read_dead_letters(s.kafka_bootstrap, s.kafka.dlq_topic, timeout=60.0)
    dead = {d.event_id for d in letters if d.event_id}
    good_ids = {e.id for e in good}
    indexed_ids = set(counts)
    poison_seen = sum(1 for d in letters if d.stage == "classify" and (
        (d.event_id or "").startswith("poison") or d.reason.startswith(("not JSON", "schema violation"))
        or "over the limit" in d.reason))
    lost_ids = sorted(good_ids - indexed_ids - dead)
    doubled_ids = sorted({i for i, n in counts.items() if n > 1} | (indexed_ids & dead & good_ids))
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    restarts = len(re.findall(r"feedback\.supervisor: worker exited code=-?\d+ after \d+s; restart \d+ in", text))
    restarts += clean_restarts
    finished = len(indexed_ids & good_ids) + len((dead - indexed_ids) & good_ids)
    report = SoakReport(
        events=events, faults=list(faults), produced=len(good) + len(poison), poison=len(poison),
        indexed=len(indexed_ids & good_ids), dead_lettered=len(letters), lost=len(lost_ids) + max(0, len(poison) - poison_seen),
        doubled=len(doubled_ids), restarts=restarts, watchdog_exits=text.count("worker exits with code 3"),
        longest_no_progress_s=round(sampler.longest, 1), seconds=round(seconds, 1),
        throughput_eps=round(finished / seconds, 2) if seconds else 0.0,
        lost_ids=lost_ids[:20], doubled_ids=doubled_ids[:20], log=str(log_path))
    if not keep:
        _cleanup(s, extra_topics)
    return report
