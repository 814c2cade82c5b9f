"""`feedback worker`: one Faust worker process (classify, route, index, spike alerts)."""

from __future__ import annotations

import sys

import typer

from feedback.cli.app import app, settings_from_context
from feedback.cli.wiring import build_pipeline, worker_environment

__all__: list[str] = []


@app.command("worker")
def worker_command(
    ctx: typer.Context,
    max_events: int | None = typer.Option(None, "--max-events", help="Stop after this many events were indexed or dead-lettered."),
    timeout: float | None = typer.Option(None, "--timeout", help="Stop after this many seconds."),
    idle: float | None = typer.Option(None, "--idle", help="Stop after this many seconds without a batch (once one was seen)."),
    loglevel: str = typer.Option("WARNING", "--loglevel", help="Faust's log level."),
    supervise: bool = typer.Option(False, "--supervise", help="Run the worker as a child and restart it when it "
                                   "exits non-zero (stall, crash, kill), with capped backoff."),
    backoff_cap: float = typer.Option(60.0, "--backoff-cap", help="With --supervise: longest wait between restarts, s."),
    max_restarts: int | None = typer.Option(None, "--max-restarts", help="With --supervise: give up after this many."),
) -> None:
    """Run one pipeline worker; several can run at once and share the partitions.

    SIGTERM stops it cleanly: the batch in hand is finished and acknowledged first. When
    an input partition has lag and no progress for stream.stall_timeout seconds, the
    worker logs why and exits with code 3; --supervise (or compose's restart policy)
    starts it again.
    """
    settings = settings_from_context(ctx)
    if supervise:
        from feedback.supervisor import RestartPolicy, supervise as run_supervised

        args = [a for a in sys.argv[1:] if a != "--supervise"]
        code = run_supervised([sys.executable, "-m", "feedback", *args],
                              policy=RestartPolicy(cap=backoff_cap, max_restarts=max_restarts),
                              env=worker_environment(settings))
        sys.exit(code)

    from stream.worker import StopConditions, run_worker

    faust_app, counters = build_pipeline(settings)
    run_worker(faust_app, counters, stop=StopConditions(max_events=max_events, timeout=timeout, idle=idle),
               loglevel=loglevel, metrics_address=(settings.stream.metrics_host, settings.stream.metrics_port))


@app.command("worker-health")
def worker_health_command(ctx: typer.Context) -> None:
    """Exit 0 when the local worker answers on its metrics port and no input partition has
    had lag without progress for longer than stream.stall_timeout (compose's health check)."""
    import time
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from feedback.errors import ServiceError

    st = settings_from_context(ctx).stream
    url = f"http://{st.metrics_host}:{st.metrics_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError as e:
        raise ServiceError(f"the worker does not answer on {url} ({e}); is it running?") from e
    values: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values.setdefault(sample.name, []).append(sample.value)
    lag = sum(values.get("feedback_consumer_lag", []))
    started = max(values.get("feedback_worker_start_timestamp_seconds", [time.time()]))
    last = max(values.get("feedback_last_progress_timestamp_seconds", []) or [started])
    if lag > 0 and time.time() - last > st.stall_timeout:
        raise ServiceError(f"lag {lag:.0f} and no progress for {time.time() - last:.0f}s (stream.stall_timeout "
                           f"{st.stall_timeout:.0f}s)")
    print(f"ok: lag {lag:.0f}, last progress {time.time() - last:.0f}s ago")
