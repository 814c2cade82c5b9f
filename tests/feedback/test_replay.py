"""`feedback replay` against the real stack: new version, atomic switch, rollback, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from feedback.cli.replay_run import load_state, state_path
from feedback.cli.wiring import (
    department_aliases,
    load_routing_config,
    worker_environment,
)
from feedback.schema import utcnow
from feedback.settings import Settings
from producers import ingest_paths
from tests.stream.helpers import (
    id_counts,
    indexed_docs,
    log_tail,
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
    es = Elasticsearch(settings.es_url)
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
