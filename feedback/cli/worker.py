"""`feedback worker`: one Faust worker process (classify, route, index, trends, alerts)."""

from __future__ import annotations

import typer

from feedback.cli.app import app, settings_from_context
from feedback.cli.wiring import build_pipeline

__all__: list[str] = []


@app.command("worker")
def worker_command(
    ctx: typer.Context,
    max_events: int | None = typer.Option(None, "--max-events", help="Stop after this many events were indexed or dead-lettered."),
    timeout: float | None = typer.Option(None, "--timeout", help="Stop after this many seconds."),
    idle: float | None = typer.Option(None, "--idle", help="Stop after this many seconds without a batch (once one was seen)."),
    loglevel: str = typer.Option("WARNING", "--loglevel", help="Faust's log level."),
) -> None:
    """Run one pipeline worker; several can run at once and share the partitions.

    SIGTERM stops it cleanly: the batch in hand is finished and acknowledged first.
    """
    from stream.worker import StopConditions, run_worker

    settings = settings_from_context(ctx)
    faust_app, counters = build_pipeline(settings)
    run_worker(faust_app, counters, stop=StopConditions(max_events=max_events, timeout=timeout, idle=idle),
               loglevel=loglevel)
