"""`feedback bench`: classifier alone vs the whole pipeline, and produce→searchable latency.

Everything runs in one invocation on one machine, so the ratio between the pipeline and
its classifier baseline is meaningful; absolute numbers depend on the machine.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import typer
from elasticsearch import ApiError
from rich.console import Console
from rich.table import Table

from feedback.cli.app import app, settings_from_context
from feedback.cli.wiring import (
    REPO,
    build_classifier,
    covering,
    department_aliases,
    es_client,
    start_worker_process,
    stop_worker_process,
)
from feedback.errors import ServiceError
from feedback.schema import FeedbackEvent, make_event_id
from feedback.services import create_topics, up
from feedback.settings import Settings

__all__: list[str] = []

err = Console(stderr=True)


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


def _first_seen(settings: Settings, ids: set[str], seen: dict[str, float]) -> None:
    es = es_client(settings)
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


def _bench_pipeline(settings: Settings, events: list[FeedbackEvent], *, rate: float, latency_events: int) -> dict[str, Any]:
    from producers import EventProducer

    producer = EventProducer(settings)
    log_path = settings.services.home / "logs" / f"{settings.kafka.topic_prefix}-worker.log"
    worker = start_worker_process(settings, log_path=log_path)
    try:
        # Throughput: everything at once, from the first send to the last document searchable.
        warm = events[:10]
        producer.send_events(warm, topic=settings.kafka.raw_topic(warm[0].channel.value))
        seen: dict[str, float] = {}
        _wait_all(settings, {e.id for e in warm}, seen, worker, log_path, timeout=300)
        bulk = events[10:]
        t0 = time.time()
        for e in bulk:
            producer.send_events([e], topic=settings.kafka.raw_topic(e.channel.value))
        _wait_all(settings, {e.id for e in bulk}, seen, worker, log_path, timeout=900)
        elapsed = max(seen[e.id] for e in bulk) - t0
        throughput = {"events": len(bulk), "seconds": round(elapsed, 2), "events_per_s": round(len(bulk) / elapsed, 1)}

        # Latency at a fixed offered load well below the throughput.
        paced = _sample_events(latency_events)
        sent_at: dict[str, float] = {}
        interval = 1.0 / rate
        next_send = time.time()
        for e in paced:
            time.sleep(max(0.0, next_send - time.time()))
            producer.send_events([e], topic=settings.kafka.raw_topic(e.channel.value))
            sent_at[e.id] = time.time()
            next_send += interval
            if len(sent_at) % max(1, int(rate)) == 0:  # look about once a second while sending
                _first_seen(settings, set(sent_at), seen)
        _wait_all(settings, set(sent_at), seen, worker, log_path, timeout=300, interval=0.1)
        lat = [seen[i] - sent_at[i] for i in sent_at]
    finally:
        producer.close()
        stop_worker_process(worker)
    return {
        "throughput": throughput,
        "latency_s": {
            "offered_events_per_s": rate,
            "events": len(lat),
            "p50": round(_percentile(lat, 0.50), 3),
            "p95": round(_percentile(lat, 0.95), 3),
            "p99": round(_percentile(lat, 0.99), 3),
            "mean": round(statistics.fmean(lat), 3),
        },
    }


def _wait_all(settings: Settings, ids: set[str], seen: dict[str, float], worker: Any, log_path: Path,
              *, timeout: float, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not ids <= seen.keys():
        if worker.poll() is not None:
            raise ServiceError(f"the bench worker exited with code {worker.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            raise ServiceError(f"{len(ids - seen.keys())} events not searchable after {timeout:.0f}s; see {log_path}")
        _first_seen(settings, ids, seen)
        time.sleep(interval)


@app.command("bench")
def bench_command(
    ctx: typer.Context,
    events: int = typer.Option(1000, "--events", help="Events for the throughput runs."),
    rate: float = typer.Option(20.0, "--rate", help="Offered load (events/s) for the latency run."),
    latency_events: int = typer.Option(300, "--latency-events", help="Events sent at --rate for the latency run."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON document."),
) -> None:
    """Classifier alone vs producer→indexed pipeline throughput, and latency percentiles."""
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
    pipeline = _bench_pipeline(settings, sample, rate=rate, latency_events=latency_events)
    result = {
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "batch_size": settings.stream.batch_size,
        "runtime": classifier["runtime"],
        "classifier_alone": classifier,
        "pipeline": pipeline["throughput"],
        "pipeline_vs_classifier": round(pipeline["throughput"]["events_per_s"] / float(classifier["events_per_s"]), 3),
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
    lat = pipeline["latency_s"]
    table.add_row(f"latency p50 / p95 / p99 at {rate:g} ev/s", f"{lat['p50']} / {lat['p95']} / {lat['p99']} s")
    Console().print(table)
