"""The whole pipeline with real Kafka, real Elasticsearch and the real default models.

Each test runs `feedback worker` processes under its own topic/index prefix and checks
the guarantees: every event indexed exactly once, in the department its rules give, or
in the DLQ with a reason — across poison messages, worker crashes and ES outages.
"""

from __future__ import annotations

import csv
import json
import signal
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from feedback.cli.bench_probe import scrape_worker
from feedback.cli.wiring import department_aliases, load_routing_config
from feedback.schema import (
    Alert,
    Channel,
    Classification,
    FeedbackEvent,
    Label,
    make_event_id,
    utcnow,
)
from feedback.services.process import free_port
from feedback.settings import Settings
from producers import ingest_paths
from sinks import is_transient_error, make_client
from stream.metrics import STEPS
from stream.routing import route
from tests.feedback.test_alert_webhook import Receiver
from tests.stream.helpers import (
    REPO,
    alerts,
    dead_letters,
    id_counts,
    indexed_docs,
    log_tail,
    produce_raw,
    start_worker,
    stop_worker,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SAMPLES = REPO / "samples"
MIXED = {
    "social": [SAMPLES / "social" / "posts.jsonl", SAMPLES / "social" / "mastodon_statuses.json"],
    "chat": [SAMPLES / "chat" / "intercom_conversations.json"],
    "app_review": [SAMPLES / "app_review" / "app_store_customer_reviews.json"],
    "email": [SAMPLES / "email" / "Maildir", SAMPLES / "email" / "hostile"],
}


def _ingest(settings: Settings, files: dict[str, list[Path]]) -> list[str]:
    ids: list[str] = []
    for channel, paths in files.items():
        report = ingest_paths(channel, paths, settings)
        assert report.ok, report
        ids += report.event_ids
    return ids


def _event(text: str, *, n: int, channel: str = "social") -> FeedbackEvent:
    ext = f"synthetic-{uuid.uuid4().hex[:8]}-{n}"
    return FeedbackEvent(id=make_event_id(channel, "tests", ext), channel=Channel(channel), source="tests",
                         external_id=ext, received_at=utcnow(), text=text)


def _dead_ids(settings: Settings) -> set[str]:
    """Events the pipeline dead-lettered (ingest rejects never became events)."""
    return {d.event_id for d in dead_letters(settings) if d.event_id and d.stage != "ingest"}


def _finished(settings: Settings, ids: list[str]) -> bool:
    docs = indexed_docs(settings, department_aliases(settings))
    dead = _dead_ids(settings)
    return set(ids) <= ({d["_id"] for d in docs} | dead)


def _finished_after_restart(settings: Settings, ids: list[str]) -> bool:
    """:func:`_finished`, where a transient error (a 503 from the restarted node) means "not yet".

    A search soon after the restart answered 503 once in CI and the error escaped `wait_for`
    (the node's start had waited for yellow health); the worker retries such errors itself,
    and so does this check.
    """
    try:
        return _finished(settings, ids)
    except Exception as e:  # noqa: BLE001 - anything not transient is re-raised
        if is_transient_error(e):
            return False
        raise


def test_every_event_is_indexed_once_in_the_department_its_rules_give(isolated_settings: Settings, tmp_path: Path) -> None:
    ids = _ingest(isolated_settings, MIXED)
    assert len(ids) >= 300
    worker = start_worker(isolated_settings, tmp_path, "--idle", "20", "--timeout", "600")
    try:
        wait_for(lambda: _finished(isolated_settings, ids), timeout=600, what=f"{len(ids)} events\n{log_tail(tmp_path)}")
    finally:
        assert stop_worker(worker) == 0, log_tail(tmp_path)
    docs = indexed_docs(isolated_settings, department_aliases(isolated_settings))
    counts = id_counts(docs)
    dead = _dead_ids(isolated_settings)
    assert all(n == 1 for n in counts.values()), [i for i, n in counts.items() if n > 1]
    # every ingested event is valid (rejects never became events): all indexed, none dead-lettered
    assert set(counts) == set(ids) and not dead, sorted(dead)[:5]
    routing = load_routing_config(isolated_settings)
    prefix = isolated_settings.es.index_prefix
    routed: Counter[str] = Counter()
    for d in docs:
        decision = route(
            channel=d["channel"],
            classification=Classification(
                language=d["language"], sentiment=Label(**d["sentiment"]), topic=Label(**d["topic"]),
                urgency=d["urgency"], model_version=d["model_version"],
            ),
            rules=routing,
        )
        assert d["department"] == decision.department
        suffix = routing.department(decision.department).index
        assert d["_index"].startswith(f"{prefix}-{suffix}-v"), (d["_index"], decision)
        routed[decision.department] += 1
    # Each department's alias holds exactly the documents its rules route there, as classified.
    es = make_client(isolated_settings.es_url, settings=isolated_settings.es, principal="api")
    try:
        held = {dep.name: int(es.count(index=f"{prefix}-{dep.index}")["count"]) for dep in routing.departments}
    finally:
        es.close()
    assert {k: n for k, n in held.items() if n} == dict(routed)
    assert len(routed) >= 3


def test_poison_messages_go_to_the_dlq_and_the_stream_goes_on(isolated_settings: Settings, tmp_path: Path) -> None:
    good_before = [_event("The courier never came and my parcel is lost", n=i) for i in range(5)]
    invalid = json.dumps({"id": "x", "channel": "pigeon", "text": "hi"}).encode()
    huge = _event("a" * (5 * 1024 * 1024), n=99)
    good_after = [_event("Great app, love the new dark mode", n=i) for i in range(5)]
    produce_raw(isolated_settings, "social",
                [(e.id.encode(), e.model_dump_json().encode()) for e in good_before]
                + [(b"p1", b"this is not json {"), (b"p2", invalid), (huge.id.encode(), huge.model_dump_json().encode())]
                + [(e.id.encode(), e.model_dump_json().encode()) for e in good_after])
    ids = [e.id for e in good_before + good_after]
    worker = start_worker(isolated_settings, tmp_path, "--idle", "15", "--timeout", "300")
    try:
        wait_for(lambda: _finished(isolated_settings, ids) and len(dead_letters(isolated_settings)) >= 3,
                 timeout=300, what=f"poison handling\n{log_tail(tmp_path)}")
    finally:
        stop_worker(worker)
    letters = dead_letters(isolated_settings)
    reasons = " | ".join(d.reason for d in letters)
    assert any(d.reason.startswith("not JSON") and d.payload == "this is not json {" for d in letters), reasons
    assert any("schema violation" in d.reason and "channel" in d.reason for d in letters), reasons
    assert any(d.event_id == huge.id and "over the limit" in d.reason for d in letters), reasons
    assert all(d.stage == "classify" and d.offset is not None for d in letters)
    docs = indexed_docs(isolated_settings, department_aliases(isolated_settings))
    assert sorted(d["_id"] for d in docs) == sorted(ids)


def test_worker_killed_mid_batch_loses_and_doubles_nothing(isolated_settings: Settings, tmp_path: Path) -> None:
    ids = _ingest(isolated_settings, {"chat": [SAMPLES / "chat" / "transcripts.jsonl"]})
    first = start_worker(isolated_settings, tmp_path, name="first", FEEDBACK_STREAM_BATCH_SIZE="16")
    aliases = department_aliases(isolated_settings)
    try:
        wait_for(lambda: len(indexed_docs(isolated_settings, aliases)) >= 20, timeout=300,
                 what=f"the first documents\n{log_tail(tmp_path, 'first')}", interval=0.3)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    partial = len(indexed_docs(isolated_settings, aliases))
    assert partial < len(ids), "the worker finished before it was killed; the test proves nothing"
    # No idle stop here: the group waits for the killed member's session to expire first.
    second = start_worker(isolated_settings, tmp_path, "--timeout", "400", name="second")
    try:
        wait_for(lambda: _finished(isolated_settings, ids), timeout=300, what=f"recovery\n{log_tail(tmp_path, 'second')}")
    finally:
        stop_worker(second)
    counts = id_counts(indexed_docs(isolated_settings, aliases))
    dead = _dead_ids(isolated_settings)
    assert all(n == 1 for n in counts.values())
    assert set(counts) == set(ids) and not dead, sorted(dead)[:5]  # valid events: none may be dead-lettered


def test_two_workers_share_the_partitions(isolated_settings: Settings, tmp_path: Path) -> None:
    group = f"{isolated_settings.kafka.topic_prefix}-pipeline"
    workers = [start_worker(isolated_settings, tmp_path, "--timeout", "400", name=f"w{i}") for i in range(2)]
    admin = KafkaAdminClient(bootstrap_servers=isolated_settings.kafka_bootstrap)
    try:
        def two_members_with_partitions() -> bool:
            desc = admin.describe_groups([group]).get(group) or {}
            members = desc.get("members") or []
            return desc.get("group_state") == "Stable" and len(members) == 2 and all(
                m.get("member_assignment") for m in members)
        wait_for(two_members_with_partitions, timeout=300, what=f"two members\n{log_tail(tmp_path, 'w0')}")
        # Events arrive only once both workers are in the group, so both take a share.
        ids = _ingest(isolated_settings, {"app_review": [SAMPLES / "app_review" / "reviews_com.acme.shop_202611.csv"]})
        wait_for(lambda: _finished(isolated_settings, ids), timeout=400, what=f"all events\n{log_tail(tmp_path, 'w1')}")
        assert all(w.poll() is None for w in workers), "a worker died"
    finally:
        admin.close()
        for w in workers:
            stop_worker(w)
    counts = id_counts(indexed_docs(isolated_settings, department_aliases(isolated_settings)))
    assert all(n == 1 for n in counts.values())
    assert set(counts) == set(ids) and not _dead_ids(isolated_settings)


def _sample_texts(n: int) -> list[str]:
    from producers import ParseOptions, parse_path

    events = parse_path("chat", SAMPLES / "chat" / "transcripts.jsonl", options=ParseOptions(author_secret=b"t")).events
    return [e.text for e in events[:n]]


def _at(texts: list[str], when: datetime, tag: str) -> list[FeedbackEvent]:
    out = []
    for i, text in enumerate(texts):
        ext = f"{tag}-{uuid.uuid4().hex[:8]}-{i}"
        out.append(FeedbackEvent(id=make_event_id("chat", "tests", ext), channel=Channel.chat, source="tests",
                                 external_id=ext, received_at=when, text=text))
    return out


def _annotated(row_id: str) -> tuple[str, str]:
    with (REPO / "classifiers" / "topic_annotations" / "dev.csv").open(encoding="utf-8", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["id"] == row_id)
    return row["text"], row["topic"]


def test_spikes_are_judged_on_topic_share_per_department_on_event_time(isolated_settings: Settings, tmp_path: Path) -> None:
    size, now = 300, utcnow()
    mix = _sample_texts(60)
    # Baseline: the same mix in each of the three windows before this one; a backfill of one
    # text 30 times two hours back (outside every evaluated window); then the mix again now
    # (a uniform burst: every share as before).
    baseline = [e for w in (1, 2, 3) for e in _at(mix, now - timedelta(seconds=w * size), f"base{w}")]
    backfill = _at([mix[0]] * 30, now - timedelta(hours=2), "backfill")
    uniform = _at(mix, now, "uniform")
    phase1 = baseline + backfill + uniform
    produce_raw(isolated_settings, "chat", [(e.id.encode(), e.model_dump_json().encode()) for e in phase1])
    receiver = Receiver()  # the worker also POSTs every alert to FEEDBACK_STREAM_ALERT_WEBHOOK
    worker = start_worker(isolated_settings, tmp_path, "--timeout", "500", FEEDBACK_STREAM_ALERT_WINDOW=str(size),
                          FEEDBACK_STREAM_ALERT_HISTORY="3", FEEDBACK_STREAM_ALERT_INTERVAL="2",
                          FEEDBACK_STREAM_ALERT_MIN_BASELINE="20", FEEDBACK_STREAM_METRICS_PORT="0",
                          FEEDBACK_STREAM_ALERT_WEBHOOK=receiver.url)
    try:
        wait_for(lambda: _finished(isolated_settings, [e.id for e in phase1]), timeout=400,
                 what=f"phase 1\n{log_tail(tmp_path)}")
        time.sleep(8)  # several evaluations over the complete counts
        assert alerts(isolated_settings) == [], "a uniform burst or a backfill raised an alert"
        # A burst of one topic: thirty copies of a message whose topic two annotators agreed on
        # (classifiers/topic_annotations), rare in the mix; expected from that label and the routing
        # config, not from the model's own labels.
        text, topic = _annotated("bitext20k-12934")
        dept = load_routing_config(isolated_settings).topics[topic]
        burst = _at([text] * 30, now, "burst")
        produce_raw(isolated_settings, "chat", [(e.id.encode(), e.model_dump_json().encode()) for e in burst])
        wait_for(lambda: _finished(isolated_settings, [e.id for e in burst]), timeout=200, what="the burst")
        wait_for(lambda: bool(alerts(isolated_settings)), timeout=60, what=f"an alert\n{log_tail(tmp_path)}")
        wait_for(lambda: bool(receiver.bodies), timeout=60, what=f"the alert POST\n{log_tail(tmp_path)}")
        time.sleep(8)  # any second alert (or second delivery) would arrive in this time
    finally:
        stop_worker(worker)
        receiver.close()
    raised = alerts(isolated_settings)
    posted = [Alert.model_validate_json(b) for b in receiver.bodies]
    assert posted == raised and receiver.headers[0]["content-type"] == "application/json"
    assert [(a.department, a.topic) for a in raised] == [(dept, topic)], raised
    assert raised[0].window_seconds == size and raised[0].share is not None and raised[0].share > raised[0].baseline_share


@pytest.mark.restarts_services
def test_elasticsearch_outage_while_events_flow_indexes_everything_once(isolated_settings: Settings, tmp_path: Path) -> None:
    from feedback.services.elasticsearch import LocalElasticsearch
    from feedback.services.process import stop_pid

    if not isolated_settings.manages_es:
        pytest.skip("Elasticsearch is external (FEEDBACK_ES_URL); the test only stops the local node")
    node = LocalElasticsearch(isolated_settings)
    aliases = department_aliases(isolated_settings)
    first = _ingest(isolated_settings, {"social": [SAMPLES / "social" / "posts.jsonl"]})
    worker = start_worker(isolated_settings, tmp_path, "--timeout", "600")
    try:
        wait_for(lambda: len(indexed_docs(isolated_settings, aliases)) >= 10, timeout=300,
                 what=f"the first documents\n{log_tail(tmp_path)}")
        assert stop_pid(node.pid_file, marker=str(isolated_settings.services.home), timeout=60, name="Elasticsearch")
        second = _ingest(isolated_settings, {"social": [SAMPLES / "social" / "mastodon_statuses.json"]})
        time.sleep(15)  # the worker meets the outage and must wait, not drop
        assert worker.poll() is None, f"the worker died during the outage\n{log_tail(tmp_path)}"
        node.start()
        ids = first + second
        wait_for(lambda: _finished_after_restart(isolated_settings, ids), timeout=300,
                 what=f"recovery\n{log_tail(tmp_path)}")
    finally:
        stop_worker(worker)
        if not node.ready():
            node.start()
    counts = id_counts(indexed_docs(isolated_settings, aliases))
    assert all(n == 1 for n in counts.values())
    dead = _dead_ids(isolated_settings)
    assert set(counts) == set(ids)
    assert not dead, "events met the outage and were dead-lettered instead of waiting"


def _worker_counts(port: int) -> tuple[float, float] | None:
    """(classified, indexed) from the worker's Prometheus endpoint, None while it is not up."""
    import httpx

    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line.startswith(("feedback_events_classified_total ", "feedback_events_indexed_total "))}
    if len(values) < 2:
        return None
    return values["feedback_events_classified_total"], values["feedback_events_indexed_total"]


def test_indexing_keeps_pace_with_classification_through_a_raw_backlog(isolated_settings: Settings, tmp_path: Path) -> None:
    # Issue #12, the second stall shape (seen in the 20,000-event soak): with a raw backlog
    # larger than the classify agent's buffer, one poll handed the worker thousands of raw
    # records; delivering them blocked on the full buffer at classification speed, and the
    # index agent got no record of `classified` until the whole poll was delivered (minutes,
    # then a watchdog exit). Polls are now bounded (stream.max_poll_records, default one batch):
    # indexing stays within a few batches of classification (measured: at most 2 batches; the
    # unbounded poll fell 21 batches behind on this backlog).
    batch, backlog = isolated_settings.stream.batch_size, 1500
    texts = _sample_texts(60)
    events = _at([texts[i % len(texts)] for i in range(backlog)], utcnow(), "backlog")
    produce_raw(isolated_settings, "chat", [(e.id.encode(), e.model_dump_json().encode()) for e in events])
    port = free_port()
    worker = start_worker(isolated_settings, tmp_path, "--timeout", "600", FEEDBACK_STREAM_METRICS_PORT=str(port),
                          FEEDBACK_STREAM_BUFFER_SIZE=str(2 * batch))
    gaps: list[float] = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            counts = _worker_counts(port)
            if counts is not None:
                gaps.append(counts[0] - counts[1])
                if counts[1] >= backlog:
                    break
            assert worker.poll() is None, f"the worker exited\n{log_tail(tmp_path)}"
            time.sleep(0.5)
        steps = scrape_worker(f"http://127.0.0.1:{port}/metrics")
    finally:
        stop_worker(worker)
    # Where a batch's time went (what `feedback bench` reports): every step was timed.
    assert set(steps["steps"]) == set(STEPS)
    assert steps["steps"]["classify.model"] > 0 and steps["steps"]["index.write"] > 0
    assert steps["batches"]["classify"] >= backlog / batch
    assert gaps and gaps[-1] == 0, f"not everything was indexed: last gap {gaps[-1:]}\n{log_tail(tmp_path)}"
    assert max(gaps) <= 8 * batch, f"indexing fell {max(gaps):.0f} events behind classification"
