"""The liveness rule (unit) and the watchdog and supervisor of real workers (integration)."""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from feedback.cli.wiring import department_aliases
from feedback.progress import consumer_progress
from feedback.schema import Channel, FeedbackEvent, make_event_id, utcnow
from feedback.settings import Settings
from feedback.supervisor import RestartPolicy
from stream.liveness import EXIT_STALLED, PartitionState, ProgressTracker
from tests.stream.helpers import indexed_docs, log_tail, produce_raw, start_worker, stop_worker, wait_for


def _p(committed: int | None, end: int, partition: int = 0) -> PartitionState:
    return PartitionState("feedback.raw.chat", partition, committed, committed, end)


def test_a_partition_without_lag_never_stalls() -> None:
    t = ProgressTracker(timeout=10)
    assert t.update([_p(5, 5)], now=0) == []
    assert t.update([_p(5, 5)], now=1000) == []


def test_lag_without_progress_for_the_timeout_is_a_stall() -> None:
    t = ProgressTracker(timeout=10)
    t.update([_p(5, 5)], now=0)
    assert t.update([_p(5, 9)], now=100) == []  # the clock starts when the lag appears
    assert t.update([_p(5, 9)], now=109) == []
    [stall] = t.update([_p(5, 9)], now=110)
    assert stall.state.lag == 4 and stall.seconds == 10


def test_progress_on_the_partition_restarts_its_clock() -> None:
    t = ProgressTracker(timeout=10)
    t.update([_p(5, 50)], now=0)
    t.update([_p(9, 50)], now=8)
    assert t.update([_p(9, 50)], now=17) == []
    assert [s.state.partition for s in t.update([_p(9, 50), _p(0, 0, partition=1)], now=18)] == [0]


def test_one_stuck_partition_is_found_while_others_progress() -> None:
    # The faust-streaming recovery stall: one partition's committed offset never moves.
    t = ProgressTracker(timeout=10)
    for now in range(0, 12):
        stalls = t.update([_p(111, 212, partition=2), _p(now * 10, 500, partition=0)], now=float(now))
    assert [s.state.partition for s in stalls] == [2]


def test_unreadable_offsets_restart_the_clock() -> None:
    t = ProgressTracker(timeout=10)
    t.update([_p(5, 9)], now=0)
    t.restart_clock(9)
    assert t.update([_p(5, 9)], now=15) == []


def test_restart_backoff_is_capped() -> None:
    assert [RestartPolicy(initial=1, cap=5).delay(n) for n in range(5)] == [1, 2, 4, 5, 5]


def _events(n: int) -> list[FeedbackEvent]:
    run = uuid.uuid4().hex[:8]
    return [FeedbackEvent(id=make_event_id("chat", "tests", f"{run}-{i}"), channel=Channel.chat, source="tests",
                          external_id=f"{run}-{i}", received_at=utcnow(), text=f"My parcel {i} never arrived")
            for i in range(n)]


def _produce(settings: Settings, events: list[FeedbackEvent]) -> None:
    produce_raw(settings, "chat", [(e.id.encode(), e.model_dump_json().encode()) for e in events])


@pytest.mark.integration
def test_a_stalled_worker_logs_the_partition_and_exits_3(isolated_settings: Settings, tmp_path: Path) -> None:
    # Fault injection: after one batch the raw partitions are paused, so the records
    # produced after that wait behind a committed offset that never moves — what the
    # recovery bug did to the records it dropped.
    worker = start_worker(isolated_settings, tmp_path, "--timeout", "300", FEEDBACK_STREAM_BATCH_SIZE="4",
                          FEEDBACK_STREAM_FAULT_PAUSE_AFTER="1", FEEDBACK_STREAM_STALL_TIMEOUT="10",
                          FEEDBACK_STREAM_METRICS_PORT="0")
    _produce(isolated_settings, _events(4))
    wait_for(lambda: "fault injection: pausing" in log_tail(tmp_path), timeout=240, what="the pause")
    _produce(isolated_settings, _events(20))
    try:
        code = worker.wait(timeout=120)
    except subprocess.TimeoutExpired:
        stop_worker(worker)
        raise AssertionError(f"the stalled worker did not exit\n{log_tail(tmp_path)}") from None
    log = log_tail(tmp_path, lines=80)
    assert code == EXIT_STALLED, log
    assert "STALLED topic=" in log and "committed=" in log and "end=" in log and "stage=" in log, log


@pytest.mark.integration
def test_the_supervisor_restarts_a_stalled_worker_until_everything_is_indexed(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    first, events = _events(8), _events(40)
    worker = start_worker(isolated_settings, tmp_path, "--supervise", "--backoff-cap", "2", "--idle", "20",
                          "--timeout", "400", FEEDBACK_STREAM_BATCH_SIZE="8", FEEDBACK_STREAM_FAULT_PAUSE_AFTER="1",
                          FEEDBACK_STREAM_STALL_TIMEOUT="10", FEEDBACK_STREAM_SESSION_TIMEOUT="10",
                          FEEDBACK_STREAM_METRICS_PORT="0")
    aliases = department_aliases(isolated_settings)
    try:
        _produce(isolated_settings, first)
        wait_for(lambda: "fault injection: pausing" in log_tail(tmp_path), timeout=240, what="the pause")
        _produce(isolated_settings, events)
        events += first
        wait_for(lambda: len(indexed_docs(isolated_settings, aliases)) >= len(events), timeout=400,
                 what=f"all events through restarts\n{log_tail(tmp_path, lines=60)}")
        code = worker.wait(timeout=120)
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=90)
    log = log_tail(tmp_path, lines=400)
    assert code == 0, log
    assert "restart 1 in" in log, log
    counts = {d["_id"] for d in indexed_docs(isolated_settings, aliases)}
    assert counts == {e.id for e in events}
    # What `feedback status` shows: per group and topic, the lag and the last progress.
    by_topic = {(p.group, p.topic): p for p in consumer_progress(isolated_settings)}
    raw = by_topic[(f"{isolated_settings.kafka.topic_prefix}-pipeline", isolated_settings.kafka.raw_topic("chat"))]
    assert raw.lag == 0 and raw.committed == len(events) and raw.last_progress_at is not None, by_topic
