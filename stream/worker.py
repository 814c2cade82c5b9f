"""Run the Faust app as one worker process, with stop conditions so tests end on their own."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass

import faust

from stream.app import PipelineCounters

__all__ = ["StopConditions", "run_worker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StopConditions:
    """When a worker stops by itself (None: never). SIGTERM / SIGINT always stop it."""

    max_events: int | None = None
    timeout: float | None = None
    idle: float | None = None


def run_worker(
    app: faust.App,
    counters: PipelineCounters,
    *,
    stop: StopConditions,
    loglevel: str = "WARNING",
    metrics_address: tuple[str, int] | None = None,
) -> None:
    """Run until a stop condition holds or a signal arrives; blocks the calling thread.

    ``metrics_address`` (host, port) serves the Prometheus metrics there (port 0: off).
    A stop condition sends this process SIGTERM, so every way of stopping takes the same
    path: the batch in hand is finished and acknowledged, offsets are committed.
    """
    if metrics_address is not None and counters.metrics is not None:
        counters.metrics.serve(host=metrics_address[0], port=metrics_address[1])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def watch() -> None:
        start = loop.time()
        counters.last_activity = start
        while True:
            await asyncio.sleep(0.5)
            now = loop.time()
            reason = None
            if stop.max_events is not None and counters.finished >= stop.max_events:
                reason = f"max_events={stop.max_events} reached"
            elif stop.timeout is not None and now - start >= stop.timeout:
                reason = f"timeout={stop.timeout}s reached"
            elif stop.idle is not None and counters.batches and now - counters.last_activity >= stop.idle:
                reason = f"idle for {stop.idle}s"
            if reason:
                log.warning("worker stopping: %s (indexed=%d dead_lettered=%d)", reason,
                            counters.indexed, counters.dead_lettered)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    if stop.max_events is not None or stop.timeout is not None or stop.idle is not None:
        app.task(watch)
    worker = faust.Worker(app, loop=loop, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
