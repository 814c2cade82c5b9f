"""`feedback demo` and `feedback bench` themselves, end to end on small inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from feedback.cli.wiring import department_aliases, worker_environment
from feedback.settings import Settings
from producers import ParseOptions, parse_path
from tests.stream.helpers import REPO, indexed_docs

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SAMPLES = REPO / "samples"


def test_demo_ingests_every_channel_and_summarises_what_was_routed_where(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    samples = tmp_path / "samples"
    files = {"chat": "intercom_conversations.json", "social": "mastodon_statuses.json"}
    for channel, name in files.items():
        (samples / channel).mkdir(parents=True)
        shutil.copy(SAMPLES / channel / name, samples / channel / name)
    expected = sum(len(parse_path(c, samples / c / n, options=ParseOptions.from_settings(isolated_settings)).events)
                   for c, n in files.items())
    assert expected > 0
    env = worker_environment(isolated_settings, {"FEEDBACK_STREAM_DATA_DIR": str(tmp_path / "faust"),
                                                 "FEEDBACK_STREAM_APP_ID": f"{isolated_settings.kafka.topic_prefix}-demo"})
    done = subprocess.run([sys.executable, "-m", "feedback", "demo", "--samples", str(samples), "--wait", "400", "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert set(summary["ingest"]) == {"chat", "social"}
    assert sum(c["produced"] for c in summary["ingest"].values()) == expected
    assert summary["indexed"] + summary["dead_lettered"] == expected
    docs = indexed_docs(isolated_settings, department_aliases(isolated_settings))
    assert summary["indexed"] == len(docs)
    # department × channel: the table equals what the indexes hold
    by_dept: dict[str, dict[str, int]] = {}
    for d in docs:
        by_dept.setdefault(d["department"], {}).setdefault(d["channel"], 0)
        by_dept[d["department"]][d["channel"]] += 1
    assert {k: {c: n for c, n in v["channels"].items() if n} for k, v in summary["departments"].items()} == by_dept
    assert sum(summary["sentiment"].values()) == len(docs)


def test_bench_reports_throughput_where_the_cpu_went_and_latency_in_both_modes(settings: Settings) -> None:
    env = worker_environment(settings)
    done = subprocess.run([sys.executable, "-m", "feedback", "bench", "--events", "24", "--latency-events", "8",
                           "--rate", "8", "--json"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["classifier_alone"]["events_per_s"] > 0 and result["pipeline"]["events_per_s"] > 0
    assert result["pipeline_vs_classifier"] == pytest.approx(
        result["pipeline"]["events_per_s"] / result["classifier_alone"]["events_per_s"], rel=0.01)
    # Replay of exactly the throughput run's range: every one of its events, nothing else.
    assert result["replay"]["events"] == 24 and result["replay"]["events_per_s"] > 0
    assert result["replay_vs_classifier"] == pytest.approx(
        result["replay"]["events_per_s"] / result["classifier_alone"]["events_per_s"], rel=0.01)
    # Where the time went: CPU of the worker and of the local services, the worker's own steps.
    cpu = result["cpu_during_pipeline"]
    assert {"worker", "kafka", "elasticsearch"} <= set(cpu["processes"])
    assert cpu["processes"]["worker"]["cpu_s"] > 0 and cpu["processes"]["elasticsearch"]["cpu_s"] > 0
    steps = result["worker_steps_s"]
    assert steps["classify.model"] > 0 and steps["index.write"] > 0
    assert result["worker_batches"]["classify"] >= 1 and result["worker_batches"]["index"] >= 1
    assert result["memory"]["worker_peak_rss_mib"] >= result["memory"]["worker_rss_mib"] > 100
    lat = result["latency_produce_to_searchable_s"]
    assert set(lat) == {"default", "latency_mode"}
    for mode in lat.values():
        assert mode["events"] == 8 and 0 < mode["p50"] <= mode["p95"] <= mode["p99"]
    assert lat["latency_mode"]["settings"]["FEEDBACK_STREAM_BATCH_WITHIN"] == "0.1"
    assert lat["latency_mode"]["throughput_events_per_s"] > 0
    assert result["prefix"].startswith("bench")
