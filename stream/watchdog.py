"""The worker side of liveness: look at the consumer, publish progress, exit on a stall.

See :mod:`stream.liveness` for the rule. Every ``check`` seconds this reads, for each
assigned input partition, the committed offset (Faust's), the read offset and the end
offset (asked of the broker), updates the lag gauges, writes the partition's last progress
to the compacted progress topic (what ``feedback status`` shows), and on a stall logs
what the agents are doing and ends the process with :data:`EXIT_STALLED`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import faust

from feedback.settings import Settings
from stream.liveness import EXIT_STALLED, PartitionState, ProgressTracker, Stall

if TYPE_CHECKING:
    from stream.app import PipelineCounters

__all__ = ["agent_stacks", "install_watchdog"]

log = logging.getLogger(__name__)


def _await_chain(coro: Any) -> list[str]:
    """The frames of a coroutine and of everything it awaits, outermost first."""
    frames: list[str] = []
    while coro is not None and len(frames) < 40:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append(f"{frame.f_code.co_name} ({os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno})")
        nxt = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None) or getattr(coro, "gi_yieldfrom", None)
        if isinstance(nxt, asyncio.Task):
            nxt = nxt.get_coro()  # an awaited task: follow into its coroutine
        elif isinstance(nxt, asyncio.Future):
            frames.append("a future")
            break
        coro = nxt
    return frames


def agent_stacks(app: faust.App) -> dict[str, str]:
    """Where each agent's task waits right now: the innermost frames of its await chain."""
    out: dict[str, str] = {}
    for agent in app.agents.values():
        name = agent.name.rsplit(".", 1)[-1]
        for actor in list(getattr(agent, "_actors", [])):
            task = getattr(actor, "actor_task", None)
            if task is None:
                continue
            if task.done():
                out[name] = "task finished"
                continue
            chain = _await_chain(task.get_coro())
            out[name] = " -> ".join(chain[-4:]) or "not started"
    return out


def _agent_of(topic: str, settings: Settings) -> str:
    return "index" if topic == settings.kafka.classified_topic else "classify"


def install_watchdog(app: faust.App, settings: Settings, *, counters: PipelineCounters,
                     progress_topic: faust.TopicT) -> None:
    """Add the watchdog timer to ``app``."""
    k, st = settings.kafka, settings.stream
    inputs = set(k.raw_topics) | {k.classified_topic}
    tracker = ProgressTracker(timeout=st.stall_timeout)
    published: dict[tuple[str, int], int | None] = {}
    worker = f"{socket.gethostname()}:{os.getpid()}"
    interval = max(0.5, min(5.0, st.stall_timeout / 4))

    async def states() -> list[PartitionState]:
        consumer = app.consumer
        tps = [tp for tp in consumer.assignment() if tp.topic in inputs]
        if not tps:
            return []
        ends = await asyncio.wait_for(consumer.highwaters(*tps), timeout=10.0)
        committed = consumer._committed_offset  # Faust 0.15: the next offset to read, per partition
        read = consumer._read_offset
        return [PartitionState(tp.topic, tp.partition, committed.get(tp), read.get(tp), int(ends.get(tp) or 0))
                for tp in sorted(tps)]

    async def publish(now_states: list[PartitionState]) -> None:
        sends = []
        for s in now_states:
            key = (s.topic, s.partition)
            # Progress is a committed offset that moved while watched, or, when this worker's
            # batches all finished between two looks, any committed offset once it acked a batch.
            moved = tracker.last_progress.get(key) is not None or counters.batches > 0
            if published.get(key, -1) == s.committed or s.committed is None or not moved:
                continue
            published[key] = s.committed
            value = {"group": st.app_id, "topic": s.topic, "partition": s.partition, "committed": s.committed,
                     "end": s.end, "progress_at": datetime.now(UTC).isoformat(), "worker": worker}
            sends.append(progress_topic.send(key=f"{st.app_id}|{s.topic}|{s.partition}".encode(),
                                             value=json.dumps(value).encode()))
        if sends:
            await asyncio.gather(*sends)

    def fetch_state(topic: str, partition: int) -> str:
        # Faust 0.15 internals, for the diagnosis only: is the partition still fetched, or
        # was it taken out by stream-buffer flow control (or paused)?
        consumer = app.consumer
        tp = next((t for t in consumer.assignment() if t.topic == topic and t.partition == partition), None)
        if tp is None:
            return "unassigned"
        active = getattr(consumer, "_active_partitions", None)
        flags = ["fetching" if active is None or tp in active else "not-fetching"]
        if tp in getattr(consumer, "_buffered_partitions", set()):
            flags.append("buffer-full")
        if tp in getattr(consumer, "_paused_partitions", set()):
            flags.append("paused")
        return ",".join(flags)

    def die(stalls: list[Stall]) -> None:
        stacks = agent_stacks(app)
        for s in stalls:
            agent = _agent_of(s.state.topic, settings)
            log.error(
                "STALLED topic=%s partition=%d committed=%s read=%s end=%d lag=%d no_progress_for=%.0fs fetch=%s "
                "agent=%s stage=%r task=%s",
                s.state.topic, s.state.partition, s.state.committed, s.state.read, s.state.end, s.state.lag,
                s.seconds, fetch_state(s.state.topic, s.state.partition), agent,
                counters.stage.get(agent, "not started"), stacks.get(agent, "no task"))
        log.error("worker exits with code %d after a stall of more than %.0fs (stream.stall_timeout); "
                  "a supervisor restarts it and the uncommitted records are read again", EXIT_STALLED, st.stall_timeout)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(EXIT_STALLED)  # a stalled event loop may not shut down cleanly; nothing acked is lost

    @app.timer(interval=interval)
    async def watchdog() -> None:
        now = time.monotonic()

        try:
            now_states = await states()
        except Exception as e:  # the broker may be restarting: no judgement without a look
            log.warning("watchdog could not read offsets (%s: %s); the stall clock restarts", type(e).__name__, e)
            tracker.restart_clock(now)
            return
        for s in now_states:
            if counters.metrics is not None:
                counters.metrics.set_lag(s.topic, s.partition, s.lag)
        stalls = tracker.update(now_states, now=now)
        if stalls:
            die(stalls)
        try:
            await publish(now_states)
        except Exception as e:
            log.info("progress not published (%s: %s)", type(e).__name__, e)
