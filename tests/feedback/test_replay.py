"""`feedback replay` against the real stack: new version, atomic switch, rollback, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from feedback.cli.replay_run import load_state, state_path
from feedback.cli.wiring import (
    department_aliases,
    load_routing_config,
    worker_environment,
)
from feedback.schema import Channel, FeedbackEvent, make_event_id, utcnow
from feedback.settings import Settings
from producers import ingest_paths
from sinks import make_client
from tests.stream.helpers import (
    id_counts,
    indexed_docs,
    log_tail,
    produce_raw,
    start_worker,
    stop_worker,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _replay(settings: Settings, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "feedback", "replay", *args, "--json"], capture_output=True,
                          text=True, env=env or worker_environment(settings), timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _aliases(settings: Settings) -> dict[str, list[str]]:
    es = make_client(settings.es_url, settings=settings.es, principal="api")
    try:
        found = es.indices.get_alias(name=department_aliases(settings))
    finally:
        es.close()
    out: dict[str, list[str]] = {}
    for index, body in found.items():
        for alias in body["aliases"]:
            out.setdefault(alias, []).append(index)
    return out


def _indexed_pipeline(settings: Settings, tmp: Path, files: dict[str, list[Path]]) -> list[str]:
    ids: list[str] = []
    for channel, paths in files.items():
        ids += ingest_paths(channel, paths, settings).event_ids
    worker = start_worker(settings, tmp, "--idle", "10", "--timeout", "600")
    aliases = department_aliases(settings)
    try:
        wait_for(lambda: set(ids) <= {d["_id"] for d in indexed_docs(settings, aliases)}, timeout=600,
                 what=f"indexing\n{log_tail(tmp)}")
    finally:
        stop_worker(worker)
    return ids


def test_replay_builds_a_new_version_switches_atomically_and_rolls_back(isolated_settings: Settings, tmp_path: Path) -> None:
    start = (utcnow() - timedelta(seconds=5)).isoformat()
    ids = _indexed_pipeline(isolated_settings, tmp_path, {"social": [SAMPLES / "social" / "posts.jsonl"],
                                                          "chat": [SAMPLES / "chat" / "intercom_conversations.json"]})
    before = _aliases(isolated_settings)
    assert all(len(v) == 1 and v[0].endswith("-v1") for v in before.values())

    report = _replay(isolated_settings, "--from", start)
    assert report["read"] == len(ids)
    assert sum(report["indexed"].values()) + report["dead_lettered"] == len(ids)
    assert report["changed_department"] == 0  # same models, same rules: same routing
    after = _aliases(isolated_settings)
    assert set(after) == set(before)
    assert all(len(v) == 1 and v[0].endswith("-v2") for v in after.values()), after
    docs = indexed_docs(isolated_settings, department_aliases(isolated_settings))
    assert all(d["_index"].endswith("-v2") for d in docs)
    counts = id_counts(docs)
    assert set(counts) == set(ids) and all(n == 1 for n in counts.values())

    rolled = _replay(isolated_settings, "--rollback")
    assert all(index.endswith("-v1") for index in rolled["rolled_back_to"].values())
    assert all(v[0].endswith("-v1") for v in _aliases(isolated_settings).values())


def test_dry_run_reports_and_writes_nothing(isolated_settings: Settings, tmp_path: Path) -> None:
    start = (utcnow() - timedelta(seconds=5)).isoformat()
    ids = _indexed_pipeline(isolated_settings, tmp_path, {"chat": [SAMPLES / "chat" / "intercom_conversations.json"]})
    before = _aliases(isolated_settings)
    report = _replay(isolated_settings, "--from", start, "--dry-run")
    assert report["read"] == len(ids) and report["new_items"] == 0
    assert _aliases(isolated_settings) == before
    assert not state_path(isolated_settings).exists()


def test_killed_replay_resumes_with_no_duplicates(isolated_settings: Settings, tmp_path: Path) -> None:
    start = (utcnow() - timedelta(seconds=5)).isoformat()
    ids = _indexed_pipeline(isolated_settings, tmp_path, {"app_review": [SAMPLES / "app_review" / "reviews_com.acme.shop_202611.csv"]})
    env = worker_environment(isolated_settings, {"FEEDBACK_STREAM_BATCH_SIZE": "4"})
    path = state_path(isolated_settings)
    proc = subprocess.Popen([sys.executable, "-m", "feedback", "replay", "--from", start, "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "replay.log", "wb"))
    try:
        def halfway() -> bool:
            state = load_state(path) if path.exists() else None
            return state is not None and 0 < state.done_count < state.total
        wait_for(halfway, timeout=300, what="a replay checkpoint", interval=0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    interrupted = load_state(path)
    assert interrupted is not None and not interrupted.finished and interrupted.done_count < len(ids)

    refused = subprocess.run([sys.executable, "-m", "feedback", "replay", "--from", start], capture_output=True,
                             text=True, env=env, timeout=120)
    assert refused.returncode == 1 and "--resume" in refused.stderr

    report = _replay(isolated_settings, "--resume", env=env)
    assert report["run_id"] == interrupted.run_id
    docs = indexed_docs(isolated_settings, department_aliases(isolated_settings))
    counts = id_counts(docs)
    assert set(counts) == set(ids) and all(n == 1 for n in counts.values())
    assert all(d["_index"].endswith("-v2") for d in docs)
    routing = load_routing_config(isolated_settings)
    assert {d["department"] for d in docs} <= {dep.name for dep in routing.departments}


def _produce(settings: Settings, channel: str, texts: list[str]) -> list[str]:
    events = [FeedbackEvent(id=make_event_id(channel, "tests", f"{channel}-{uuid.uuid4().hex[:8]}"), channel=Channel(channel),
                            source="tests", external_id=f"x-{i}", received_at=utcnow(), text=t)
              for i, t in enumerate(texts)]
    produce_raw(settings, channel, [(e.id.encode(), e.model_dump_json().encode()) for e in events])
    return [e.id for e in events]


TEXTS = ["my parcel is two weeks late", "I was charged twice for one order", "the app crashes when I log in",
         "great service, thank you", "please cancel my order", "the product broke after one day"]


@pytest.fixture
def three_batches(isolated_settings: Settings, tmp_path: Path) -> dict[str, Any]:
    """Social events before ``mid``; social and chat events after it; all indexed into -v1."""
    start = (utcnow() - timedelta(seconds=5)).isoformat()
    early = _produce(isolated_settings, "social", TEXTS)
    time.sleep(2)  # Kafka timestamps are in ms: keep the batches apart
    mid = utcnow().isoformat()
    time.sleep(1)
    late_social = _produce(isolated_settings, "social", TEXTS[:4])
    late_chat = _produce(isolated_settings, "chat", TEXTS[2:])
    ids = early + late_social + late_chat
    worker = start_worker(isolated_settings, tmp_path, "--idle", "10", "--timeout", "400")
    try:
        wait_for(lambda: set(ids) <= {d["_id"] for d in indexed_docs(isolated_settings, department_aliases(isolated_settings))},
                 timeout=400, what=f"indexing\n{log_tail(tmp_path)}")
    finally:
        stop_worker(worker)
    return {"start": start, "mid": mid, "early": early, "late_social": late_social, "late_chat": late_chat, "ids": ids}


def test_replay_of_a_range_and_a_channel_carries_every_other_document_into_the_new_version(
    isolated_settings: Settings, three_batches: dict[str, Any]
) -> None:
    b = three_batches
    report = _replay(isolated_settings, "--from", b["mid"], "--channel", "social")
    assert report["read"] == len(b["late_social"])  # neither the early events nor the chat channel
    assert report["copied_unchanged"] == len(b["early"]) + len(b["late_chat"])
    docs = indexed_docs(isolated_settings, department_aliases(isolated_settings))
    assert all(d["_index"].endswith("-v2") for d in docs)
    counts = id_counts(docs)
    assert set(counts) == set(b["ids"]) and all(n == 1 for n in counts.values())
    replayed = {d["_id"]: d["classified_at"] for d in docs}
    # The carried documents are the -v1 ones, untouched; the replayed ones were classified again.
    v1 = {d["_id"]: d["classified_at"] for d in indexed_docs(isolated_settings, ",".join(
        f"{isolated_settings.es.index_prefix}-{dep.index}-v1" for dep in load_routing_config(isolated_settings).departments))}
    assert all(replayed[i] == v1[i] for i in b["early"] + b["late_chat"])
    assert all(replayed[i] > v1[i] for i in b["late_social"])

    second = _replay(isolated_settings, "--from", b["start"], "--channel", "chat")
    assert second["read"] == len(b["late_chat"]) and second["copied_unchanged"] == len(b["early"] + b["late_social"])
    assert all(v.endswith("-v3") for v in second["targets"].values())


def test_into_live_rewrites_the_live_indexes_in_place(isolated_settings: Settings, three_batches: dict[str, Any]) -> None:
    b = three_batches
    aliases = department_aliases(isolated_settings)
    lost = indexed_docs(isolated_settings, aliases)[0]
    es = make_client(isolated_settings.es_url, settings=isolated_settings.es, principal="ops")
    try:
        es.delete(index=lost["_index"], id=lost["_id"], refresh=True)  # an outage lost this document
    finally:
        es.close()
    before = _aliases(isolated_settings)
    report = _replay(isolated_settings, "--from", b["start"], "--into-live")
    assert report["mode"] == "live" and report["read"] == len(b["ids"])
    assert report["targets"] == report["previous"]
    assert _aliases(isolated_settings) == before  # no new version, no switch
    docs = indexed_docs(isolated_settings, aliases)
    assert all(d["_index"].endswith("-v1") for d in docs)
    counts = id_counts(docs)
    assert set(counts) == set(b["ids"]) and all(n == 1 for n in counts.values())
    [back] = [d for d in docs if d["_id"] == lost["_id"]]
    assert back["_index"] == lost["_index"]


def test_counts_that_do_not_check_out_leave_the_aliases_alone(
    isolated_settings: Settings, three_batches: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from feedback.cli import app
    from feedback.cli.wiring import EsIndexSide

    # A fault in the carry-over (wrapping the real index side): documents outside the range
    # are not copied, so the new version holds fewer documents than the live one.
    monkeypatch.setattr(EsIndexSide, "copy_missing", lambda self, previous, targets: 0)
    for key, value in worker_environment(isolated_settings).items():
        if key.startswith("FEEDBACK_"):
            monkeypatch.setenv(key, value)
    before = _aliases(isolated_settings)
    result = CliRunner().invoke(app, ["replay", "--from", three_batches["mid"], "--json"])
    assert result.exit_code == 1
    assert "counts do not check out" in str(result.exception) + result.output
    assert "aliases NOT switched" in str(result.exception) + result.output
    assert _aliases(isolated_settings) == before
    docs = indexed_docs(isolated_settings, department_aliases(isolated_settings))
    assert set(id_counts(docs)) == set(three_batches["ids"])
    assert all(d["_index"].endswith("-v1") for d in docs)


def test_replay_batches_are_filled_across_partitions_and_cover_each_offset_once(isolated_settings: Settings) -> None:
    from feedback.cli.replay_run import ReplayState, plan_ranges, read_batches

    start = utcnow() - timedelta(seconds=5)
    # 40 events per channel, keyed so they spread over the raw topics' partitions.
    for channel in ("email", "chat", "social"):
        produce_raw(isolated_settings, channel, [(f"k{i}".encode(), f'{{"n": {i}}}'.encode()) for i in range(40)])
    channels = ["email", "chat", "social", "app_review"]
    ranges = plan_ranges(isolated_settings, channels=channels, from_ts=start, to_ts=utcnow() + timedelta(seconds=5))
    assert sum(r.total for r in ranges) == 120 and sum(r.total > 0 for r in ranges) > 3
    state = ReplayState(mode="dry-run", from_ts=start, to_ts=utcnow(), channels=channels, ranges=ranges)
    batches = list(read_batches(isolated_settings, state, batch_size=32))
    sizes = [sum(len(msgs) for _, msgs, _ in segments) for segments in batches]
    # Full batches although no partition holds 32 events; only the last is partial.
    assert sizes == [32, 32, 32, 24]
    seen = [(m.topic, m.partition, m.offset) for segments in batches for _, msgs, _ in segments for m in msgs]
    assert len(seen) == len(set(seen)) == 120
    for segments in batches:
        for rng, msgs, position in segments:
            assert all(rng.start <= m.offset < position <= rng.end for m in msgs)
    # Every segment's position, applied as run_replay applies it, completes its range.
    for segments in batches:
        for rng, _, position in segments:
            rng.next = max(rng.next, position)
    assert all(r.done for r in state.ranges)
