"""`feedback bench`: classifier alone vs the whole pipeline, and produce→searchable latency.

Everything runs in one invocation on one machine, so the ratio between the pipeline and
its classifier baseline is meaningful; absolute numbers depend on the machine.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import typer
from elasticsearch import ApiError
from rich.console import Console
from rich.table import Table

from feedback.cli.app import app, settings_from_context
from feedback.cli.bench_probe import CpuMeter, peak_rss_mb, rss_mb, scrape_worker
from feedback.cli.replay_run import ReplayState, plan_ranges, run_replay, state_path
from feedback.cli.wiring import (
    REPO,
    build_classifier,
    build_index_side,
    covering,
    department_aliases,
    es_client,
    load_routing_config,
    start_worker_process,
    stop_worker_process,
)
from feedback.errors import ServiceError
from feedback.schema import CHANNELS, FeedbackEvent, make_event_id
from feedback.services import create_topics, up
from feedback.services.process import free_port
from feedback.settings import Settings

__all__: list[str] = []

err = Console(stderr=True)

# The latency mode (docs/latency.md): batches close after 0.1 s instead of 1 s and documents
# become searchable after 200 ms instead of 1 s, at the cost of smaller batches and more
# Elasticsearch refreshes. Same settings a user sets in the worker's environment.
LATENCY_MODE_ENV = {"FEEDBACK_STREAM_BATCH_WITHIN": "0.1", "FEEDBACK_ES_REFRESH_INTERVAL": "200ms"}
# Seconds between two looks for the latency runs' documents (adds at most this to a latency).
LOOK_INTERVAL = 0.1
# Events per producer request in the throughput run (what `feedback ingest` does with a file).
SEND_CHUNK = 100


def _sample_events(limit: int) -> list[FeedbackEvent]:
    from producers import ParseOptions, expand_paths, parse_path
    from feedback.settings import get_settings

    options = ParseOptions.from_settings(get_settings())
    events: list[FeedbackEvent] = []
    for channel in ("social", "app_review", "chat", "email"):
        for path in expand_paths(channel, [REPO / "samples" / channel]):
            events += parse_path(channel, path, options=options).events
    if not events:
        raise ServiceError("no sample events found under samples/; run from a checkout")
    out = []
    run = uuid.uuid4().hex[:8]
    while len(out) < limit:  # repeat the samples with fresh ids to reach the size asked for
        for e in events:
            if len(out) == limit:
                break
            ext = f"bench-{run}-{len(out)}"
            out.append(e.model_copy(update={"id": make_event_id(e.channel.value, e.source, ext), "external_id": ext}))
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _bench_classifier(settings: Settings, events: list[FeedbackEvent]) -> dict[str, float | str]:
    classifier = build_classifier(settings)
    classifier.classify_batch([events[0].text])  # warm-up: load and first call
    size = settings.stream.batch_size
    t0 = time.perf_counter()
    for start in range(0, len(events), size):
        chunk = events[start:start + size]
        classifier.classify_batch([e.text for e in chunk], ratings=[e.rating for e in chunk])
    elapsed = time.perf_counter() - t0
    return {"events": len(events), "seconds": round(elapsed, 2), "events_per_s": round(len(events) / elapsed, 1),
            "runtime": classifier.runtime}


def _bench_replay(settings: Settings, *, since: float, until: float) -> dict[str, float]:
    """Replay the throughput run's time range into new index versions, as `feedback replay` does.

    Same classifier instance as the classifier-alone run (loaded once per process), same
    driver (:func:`run_replay`: read the raw topics, classify, route, bulk-write, checkpoint);
    the aliases are not switched, so the latency runs that follow still write to the live
    indexes. Timed from the first read to the last write.
    """
    routing = load_routing_config(settings)
    index = build_index_side(settings, routing)
    channels = list(CHANNELS)
    from_ts, to_ts = datetime.fromtimestamp(since, timezone.utc), datetime.fromtimestamp(until, timezone.utc)
    state = ReplayState(mode="version", from_ts=from_ts, to_ts=to_ts, channels=channels,
                        ranges=plan_ranges(settings, channels=channels, from_ts=from_ts, to_ts=to_ts),
                        previous=index.aliases())
    state.targets = index.create_versions()
    classifier = build_classifier(settings)
    t0 = time.perf_counter()
    state = run_replay(settings, state, path=state_path(settings), classifier=classifier, routing=routing,
                       index=index, save=False)
    elapsed = time.perf_counter() - t0
    written = sum(state.report.indexed.values())
    if state.report.read != written + state.report.dead_lettered:
        raise ServiceError(f"the bench replay read {state.report.read} events but wrote {written} and "
                           f"dead-lettered {state.report.dead_lettered}")
    return {"events": state.report.read, "seconds": round(elapsed, 2),
            "events_per_s": round(state.report.read / elapsed, 1) if elapsed > 0 else 0.0}


def _first_seen(es: Any, settings: Settings, ids: set[str], seen: dict[str, float]) -> None:
    pending = sorted(ids - seen.keys())
    for start in range(0, len(pending), 1000):
        chunk = pending[start:start + 1000]
        try:
            res = es.search(index=department_aliases(settings), size=len(chunk), source=False,
                            query={"ids": {"values": chunk}}, ignore_unavailable=True)
        except ApiError as e:
            # The worker has just created the indexes and their shards are not started yet.
            if e.meta.status != 503:
                raise
            return
        now = time.time()
        for h in res["hits"]["hits"]:
            seen.setdefault(h["_id"], now)


def _service_pids(settings: Settings) -> dict[str, int | None]:
    """The local Kafka and Elasticsearch processes (None for a remote cluster).

    Local means managed by `feedback up` or pointed at its loopback port (a worker's
    environment names the local broker explicitly).
    """
    from feedback.services.elasticsearch import LocalElasticsearch
    from feedback.services.kafka import LocalKafka

    s = settings.services
    kafka_local = settings.manages_kafka or settings.kafka_bootstrap in (f"127.0.0.1:{s.kafka_port}", f"localhost:{s.kafka_port}")
    es_local = settings.manages_es or settings.es_url in (f"https://127.0.0.1:{s.es_port}", f"https://localhost:{s.es_port}")
    return {
        "kafka": LocalKafka(settings).pid() if kafka_local else None,
        "elasticsearch": LocalElasticsearch(settings).pid() if es_local else None,
    }


def _send_chunks(producer: Any, settings: Settings, events: list[FeedbackEvent]) -> None:
    """Send in requests of SEND_CHUNK events per raw topic, waiting for each request's acks."""
    by_topic: dict[str, list[FeedbackEvent]] = {}
    for e in events:
        by_topic.setdefault(settings.kafka.raw_topic(e.channel.value), []).append(e)
    for topic, group in by_topic.items():
        for start in range(0, len(group), SEND_CHUNK):
            producer.send_events(group[start:start + SEND_CHUNK], topic=topic)


class _Worker:
    """A bench worker process with its own metrics port."""

    def __init__(self, settings: Settings, log_path: Path, env: Mapping[str, str]) -> None:
        self.port = free_port()
        self.proc = start_worker_process(settings, log_path=log_path,
                                         extra_env={**env, "FEEDBACK_STREAM_METRICS_PORT": str(self.port)})

    def scrape(self) -> dict[str, dict[str, float]]:
        return scrape_worker(f"http://127.0.0.1:{self.port}/metrics")

    def stop(self) -> None:
        stop_worker_process(self.proc)


def _latency(es: Any, settings: Settings, producer: Any, worker: _Worker, log_path: Path, seen: dict[str, float], *,
             rate: float, events: int) -> dict[str, float]:
    """Produce → searchable seconds of events sent one by one at ``rate`` per second."""
    paced = _sample_events(events)
    sent_at: dict[str, float] = {}
    interval = 1.0 / rate
    next_send = time.time()
    last_look = 0.0
    for e in paced:
        time.sleep(max(0.0, next_send - time.time()))
        producer.send_events([e], topic=settings.kafka.raw_topic(e.channel.value))
        sent_at[e.id] = time.time()
        next_send += interval
        # Look every LOOK_INTERVAL while sending: a document is "searchable" when a look first
        # finds it, so the interval bounds how much the measurement itself adds to a latency.
        if sent_at[e.id] - last_look >= LOOK_INTERVAL:
            _first_seen(es, settings, set(sent_at), seen)
            last_look = time.time()
    _wait_all(es, settings, set(sent_at), seen, worker.proc, log_path, timeout=300, interval=LOOK_INTERVAL)
    lat = [seen[i] - sent_at[i] for i in sent_at]
    return {
        "offered_events_per_s": rate,
        "events": len(lat),
        "p50": round(_percentile(lat, 0.50), 3),
        "p95": round(_percentile(lat, 0.95), 3),
        "p99": round(_percentile(lat, 0.99), 3),
        "mean": round(statistics.fmean(lat), 3),
    }


def _warm(es: Any, settings: Settings, producer: Any, worker: _Worker, log_path: Path, seen: dict[str, float]) -> None:
    """A few events through a fresh worker: models loaded, partitions assigned, indexes ready."""
    warm = _sample_events(10)
    producer.send_events(warm, topic=settings.kafka.raw_topic(warm[0].channel.value))
    _wait_all(es, settings, {e.id for e in warm}, seen, worker.proc, log_path, timeout=300)


def _bench_pipeline(settings: Settings, events: list[FeedbackEvent], *, rate: float | None, latency_events: int,
                    latency_mode: bool) -> dict[str, Any]:
    from producers import EventProducer

    producer = EventProducer(settings)
    log_path = settings.services.home / "logs" / f"{settings.kafka.topic_prefix}-worker.log"
    seen: dict[str, float] = {}
    es = es_client(settings)  # one client (one TLS session) for all the bench's polling
    worker = _Worker(settings, log_path, {})
    try:
        _warm(es, settings, producer, worker, log_path, seen)
        # Throughput: everything at once, from the first send to the last document searchable,
        # with the CPU each process used meanwhile and the worker's step seconds.
        before = worker.scrape()
        meter = CpuMeter({"worker": worker.proc.pid, "bench (producer + polling)": os.getpid(),
                          **_service_pids(settings)})
        meter.start()
        t0, t_end = _burst(es, settings, producer, worker, log_path, events)
        elapsed = t_end - t0
        cpu = meter.stop()
        after = worker.scrape()
        throughput = {"events": len(events), "seconds": round(elapsed, 2), "events_per_s": round(len(events) / elapsed, 1)}
        # Replay of exactly that range (the worker sits idle meanwhile: nothing new arrives).
        replay = _bench_replay(settings, since=t0, until=t_end)
        steps = {k: round(v - before["steps"].get(k, 0.0), 2) for k, v in after["steps"].items()}
        batches = {k: int(v - before["batches"].get(k, 0.0)) for k, v in after["batches"].items()}
        # Offered load of the latency runs: by default half the throughput just measured.
        rate = rate or max(1.0, round(throughput["events_per_s"] / 2, 1))
        latency = {"default": _latency(es, settings, producer, worker, log_path, seen, rate=rate, events=latency_events)}
        memory = {"worker_rss_mib": rss_mb(worker.proc.pid), "worker_peak_rss_mib": peak_rss_mb(worker.proc.pid)}
        worker.stop()
        if latency_mode:
            worker = _Worker(settings, log_path, LATENCY_MODE_ENV)
            _warm(es, settings, producer, worker, log_path, seen)
            latency["latency_mode"] = {
                "settings": LATENCY_MODE_ENV,
                **_latency(es, settings, producer, worker, log_path, seen, rate=rate, events=latency_events),
            }
            # What the latency mode costs under load: the same burst as the throughput run.
            burst = _sample_events(len(events))
            t1, t1_end = _burst(es, settings, producer, worker, log_path, burst)
            latency["latency_mode"]["throughput_events_per_s"] = round(len(burst) / (t1_end - t1), 1)
    finally:
        producer.close()
        worker.stop()
        es.close()
    return {"throughput": throughput, "replay": replay, "cpu": cpu, "worker_steps_s": steps,
            "worker_batches": batches, "memory": memory, "latency_s": latency}


def _burst(es: Any, settings: Settings, producer: Any, worker: _Worker, log_path: Path,
           events: list[FeedbackEvent]) -> tuple[float, float]:
    """Send ``events`` all at once; (first send, all of them searchable) as epoch seconds."""
    total = _count(es, settings) + len(events)
    started = time.time()
    _send_chunks(producer, settings, events)
    return started, _wait_count(es, settings, total, worker.proc, log_path, timeout=900)


def _count(es: Any, settings: Settings) -> int:
    """Documents the bench's department aliases serve now (0 while their shards start)."""
    try:
        return int(es.count(index=department_aliases(settings), ignore_unavailable=True)["count"])
    except ApiError as e:
        if e.meta.status != 503:
            raise
        return 0


def _wait_count(es: Any, settings: Settings, total: int, worker: Any, log_path: Path, *, timeout: float,
                interval: float = 0.25) -> float:
    """Wait until the bench's indexes hold ``total`` documents; the time they did.

    A count per poll costs Elasticsearch far less than looking up every pending id, so the
    throughput run's own polling takes little from the pipeline it measures.
    """
    deadline = time.monotonic() + timeout
    while True:
        if worker.poll() is not None:
            raise ServiceError(f"the bench worker exited with code {worker.returncode}; see {log_path}")
        count = _count(es, settings)
        if count >= total:
            return time.time()
        if time.monotonic() > deadline:
            raise ServiceError(f"{total - count} events not searchable after {timeout:.0f}s; see {log_path}")
        time.sleep(interval)


def _wait_all(es: Any, settings: Settings, ids: set[str], seen: dict[str, float], worker: Any, log_path: Path,
              *, timeout: float, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not ids <= seen.keys():
        if worker.poll() is not None:
            raise ServiceError(f"the bench worker exited with code {worker.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            raise ServiceError(f"{len(ids - seen.keys())} events not searchable after {timeout:.0f}s; see {log_path}")
        _first_seen(es, settings, ids, seen)
        time.sleep(interval)


@app.command("bench")
def bench_command(
    ctx: typer.Context,
    events: int = typer.Option(1000, "--events", help="Events for the throughput runs."),
    rate: float | None = typer.Option(None, "--rate", help="Offered load (events/s) of the latency runs; "
                                      "default: half the pipeline throughput just measured."),
    latency_events: int = typer.Option(300, "--latency-events", help="Events sent at --rate for each latency run."),
    latency_mode: bool = typer.Option(True, "--latency-mode/--no-latency-mode",
                                      help="Also measure latency with the latency mode's settings (docs/latency.md)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON document."),
) -> None:
    """Classifier alone vs producer→searchable pipeline throughput (with where the CPU went),
    and latency percentiles in the default and the latency mode."""
    # The bench indexes under its own prefix bench<hex>: the roles must cover it.
    base = covering(settings_from_context(ctx), "bench*")
    up(base)
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = base.model_copy(update={
        "kafka": base.kafka.model_copy(update={"topic_prefix": prefix}),
        "es": base.es.model_copy(update={"index_prefix": prefix}),
        "stream": base.stream.model_copy(update={"app_id": f"{prefix}-pipeline"}),
    })
    create_topics(settings)
    sample = _sample_events(events)
    err.print(f"classifier alone on {len(sample)} events ...")
    classifier = _bench_classifier(settings, sample)
    err.print("whole pipeline (a worker process; first start prepares the models) ...")
    pipeline = _bench_pipeline(settings, sample, rate=rate, latency_events=latency_events, latency_mode=latency_mode)
    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "batch_size": settings.stream.batch_size,
        "runtime": classifier["runtime"],
        "classifier_alone": classifier,
        "pipeline": pipeline["throughput"],
        "pipeline_vs_classifier": round(pipeline["throughput"]["events_per_s"] / float(classifier["events_per_s"]), 3),
        "replay": pipeline["replay"],
        "replay_vs_classifier": round(pipeline["replay"]["events_per_s"] / float(classifier["events_per_s"]), 3),
        "cpu_during_pipeline": pipeline["cpu"],
        "worker_steps_s": pipeline["worker_steps_s"],
        "worker_batches": pipeline["worker_batches"],
        "memory": pipeline["memory"],
        "latency_produce_to_searchable_s": pipeline["latency_s"],
        "prefix": prefix,
    }
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title="feedback bench (same run, same machine)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("encoder runtime", str(classifier["runtime"]))
    table.add_row("classifier alone, events/s", str(classifier["events_per_s"]))
    table.add_row("pipeline producer→searchable, events/s", str(pipeline["throughput"]["events_per_s"]))
    table.add_row("pipeline / classifier", f"{result['pipeline_vs_classifier']:.2f}")
    table.add_row("replay of that range, events/s", str(pipeline["replay"]["events_per_s"]))
    table.add_row("replay / classifier", f"{result['replay_vs_classifier']:.2f}")
    cpu = pipeline["cpu"]
    for name, used in cpu["processes"].items():
        table.add_row(f"CPU during the pipeline run: {name}", f"{used['cpu_s']} s ({used['cores']} cores)")
    table.add_row("CPU during the pipeline run: everything else", f"{cpu['other_cpu_s']} s")
    for step, seconds in pipeline["worker_steps_s"].items():
        table.add_row(f"worker step {step}", f"{seconds} s")
    table.add_row("worker RSS now / peak", f"{pipeline['memory']['worker_rss_mib']} / {pipeline['memory']['worker_peak_rss_mib']} MiB")
    for mode, lat in pipeline["latency_s"].items():
        table.add_row(f"latency ({mode}) p50 / p95 / p99 at {lat['offered_events_per_s']:g} ev/s",
                      f"{lat['p50']} / {lat['p95']} / {lat['p99']} s")
        if "throughput_events_per_s" in lat:
            table.add_row(f"pipeline throughput in the {mode}, events/s", str(lat["throughput_events_per_s"]))
    Console().print(table)
