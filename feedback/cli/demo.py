"""`feedback demo`: the main job end to end on the bundled samples of all four channels."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from feedback.cli.app import app, settings_from_context
from feedback.cli.wiring import (
    REPO,
    department_aliases,
    es_client,
    load_routing_config,
    start_worker_process,
    stop_worker_process,
)
from feedback.errors import FeedbackError, ServiceError
from feedback.schema import CHANNELS, utcnow
from feedback.services import up
from feedback.settings import Settings
from feedback.topics import TopicTail

__all__: list[str] = []

err = Console(stderr=True)
out = Console()


def _indexed_ids(settings: Settings, ids: list[str], since: str) -> set[str]:
    """Ids indexed since ``since``."""
    es = es_client(settings)
    indexed: set[str] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        res = es.search(
            index=department_aliases(settings), size=len(chunk), source=False, ignore_unavailable=True,
            query={"bool": {"filter": [{"ids": {"values": chunk}}, {"range": {"classified_at": {"gte": since}}}]}},
        )
        indexed.update(h["_id"] for h in res["hits"]["hits"])
    return indexed


def _new_dead_ids(dlq: TopicTail) -> set[str]:
    """Events the pipeline dead-lettered since the last look (only the new DLQ records are read)."""
    return {d.event_id for d in dlq.dead_letters() if d.event_id and d.stage != "ingest"}


def _summary(settings: Settings, ids: list[str]) -> dict[str, Any]:
    es = es_client(settings)
    res = es.search(
        index=department_aliases(settings), size=0, ignore_unavailable=True,
        query={"ids": {"values": ids}},
        aggs={
            "department": {
                "terms": {"field": "department", "size": 50},
                "aggs": {
                    "channel": {"terms": {"field": "channel", "size": 10}},
                    "topic": {"terms": {"field": "topic.label", "size": 3}},
                },
            },
            "sentiment": {"terms": {"field": "sentiment.label", "size": 5}},
            "language": {"terms": {"field": "language", "size": 10}},
            "urgency": {"terms": {"field": "urgency", "size": 5}},
        },
    )
    aggs = res["aggregations"]
    return {
        "indexed": res["hits"]["total"]["value"],
        "departments": {
            b["key"]: {
                "total": b["doc_count"],
                "channels": {c["key"]: c["doc_count"] for c in b["channel"]["buckets"]},
                "top_topics": {t["key"]: t["doc_count"] for t in b["topic"]["buckets"]},
            }
            for b in aggs["department"]["buckets"]
        },
        "sentiment": {b["key"]: b["doc_count"] for b in aggs["sentiment"]["buckets"]},
        "language": {b["key"]: b["doc_count"] for b in aggs["language"]["buckets"]},
        "urgency": {b["key"]: b["doc_count"] for b in aggs["urgency"]["buckets"]},
    }


def _search_examples(settings: Settings, ids: list[str]) -> list[dict[str, Any]]:
    es = es_client(settings)
    examples = []
    for query in ("refund", "delayed flight", "تاخیر ارسال", "کیفیت"):
        res = es.search(
            index=department_aliases(settings), size=2, ignore_unavailable=True,
            query={"bool": {"must": {"match": {"text": query}}, "filter": {"ids": {"values": ids}}}},
            highlight={"fields": {"text": {"fragment_size": 90, "number_of_fragments": 1}}},
        )
        for h in res["hits"]["hits"]:
            frag = (h.get("highlight", {}).get("text") or [h["_source"].get("text", "")[:90]])[0]
            examples.append({"query": query, "id": h["_id"], "department": h["_source"].get("department"),
                             "fragment": frag})
    return examples


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    samples: Path = typer.Option(REPO / "samples", "--samples", help="Folder with email/, chat/, app_review/, social/."),
    wait: float = typer.Option(900.0, "--wait", help="Seconds to wait for every event to be indexed or dead-lettered."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON document."),
) -> None:
    """Start the services and a worker, ingest the bundled samples, wait, then summarise."""
    from producers import ingest_paths

    settings = settings_from_context(ctx)
    if not samples.is_dir():
        raise FeedbackError(f"sample folder {samples} not found; pass --samples PATH (a checkout has samples/)")
    started = utcnow().isoformat()
    err.print("[bold]1/4[/bold] starting Kafka and Elasticsearch ...")
    up(settings)
    load_routing_config(settings)  # fail early on a bad routing file
    err.print("[bold]2/4[/bold] starting a pipeline worker (the first start prepares the models) ...")
    worker_log = settings.services.home / "logs" / "demo-worker.log"
    dlq = TopicTail(settings.kafka_bootstrap, settings.kafka.dlq_topic)  # from its end: this run's letters only
    dead: set[str] = set()
    worker = start_worker_process(settings, log_path=worker_log)
    try:
        err.print("[bold]3/4[/bold] ingesting the samples ...")
        reports = {}
        for channel in CHANNELS:
            folder = samples / channel
            if folder.is_dir():
                reports[channel] = ingest_paths(channel, [folder], settings)
        ids = sorted({i for r in reports.values() for i in r.event_ids})
        err.print(f"[bold]4/4[/bold] waiting until all {len(ids)} events are indexed or dead-lettered ...")
        deadline = time.monotonic() + wait
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err) as progress:
            task = progress.add_task("indexed or in DLQ", total=len(ids))
            while True:
                if worker.poll() is not None:
                    raise ServiceError(f"the worker exited with code {worker.returncode}; see {worker_log}")
                indexed = _indexed_ids(settings, ids, started)
                dead |= _new_dead_ids(dlq)
                done = len((indexed | dead) & set(ids))
                progress.update(task, completed=done)
                if done >= len(ids):
                    break
                if time.monotonic() > deadline:
                    raise ServiceError(f"only {done} of {len(ids)} events finished within {wait:.0f}s; see {worker_log}")
                time.sleep(2.0)
    finally:
        dlq.close()
        stop_worker_process(worker)
    summary = _summary(settings, ids)
    summary["ingest"] = {c: {"produced": r.produced, "rejected": r.rejected, "rejects_file": r.rejects_file}
                         for c, r in reports.items()}
    summary["dead_lettered"] = len(dead & set(ids))
    summary["search_examples"] = _search_examples(settings, ids)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
        return
    _print_summary(summary)


def _print_summary(s: dict[str, Any]) -> None:
    channels = list(CHANNELS)
    table = Table(title="Routed: department × channel", show_footer=False)
    table.add_column("department")
    for c in channels:
        table.add_column(c, justify="right")
    table.add_column("total", justify="right")
    table.add_column("top topics")
    for dept, d in sorted(s["departments"].items(), key=lambda kv: -kv[1]["total"]):
        table.add_row(dept, *[str(d["channels"].get(c, 0)) for c in channels], str(d["total"]),
                      ", ".join(f"{t} ({n})" for t, n in d["top_topics"].items()))
    out.print(table)
    out.print("sentiment: " + ", ".join(f"{k} {v}" for k, v in s["sentiment"].items()))
    out.print("language:  " + ", ".join(f"{k} {v}" for k, v in s["language"].items()))
    out.print("urgency:   " + ", ".join(f"{k} {v}" for k, v in s["urgency"].items()))
    rejected = sum(r["rejected"] for r in s["ingest"].values())
    out.print(f"indexed {s['indexed']}; dead-lettered in the pipeline {s['dead_lettered']}; "
              f"rejected at ingest {rejected} (kept in rejects/ and feedback.dlq)")
    hits = Table(title="A few search hits")
    for col in ("query", "department", "match"):
        hits.add_column(col)
    for h in s["search_examples"]:
        hits.add_row(h["query"], h["department"] or "-", h["fragment"].replace("<em>", "[bold]").replace("</em>", "[/bold]"))
    out.print(hits)
    out.print("Explore further: feedback search \"refund\" --department billing · feedback trends --since 1d · "
              "feedback keys create --role ops, then feedback serve (web page on http://127.0.0.1:8000) · "
              "feedback replay --help")
