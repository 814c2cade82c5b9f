"""`feedback soak`: real sample events through supervised workers while faults are injected."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from feedback.cli.app import app, settings_from_context
from feedback.errors import FeedbackError

__all__: list[str] = []

err = Console(stderr=True)
out = Console()


@app.command("soak")
def soak_command(
    ctx: typer.Context,
    events: int = typer.Option(2000, "--events", min=1, help="Sample events to produce."),
    faults: str = typer.Option("kill,restart,es,broker,poison", "--faults",
                               help="Comma-separated, in order, repeats allowed: kill, restart, es, broker, poison; "
                               "'restart*10' repeats one."),
    es_outage: float = typer.Option(60.0, "--es-outage", help="Seconds Elasticsearch stays stopped (fault es)."),
    max_stall: float | None = typer.Option(None, "--max-stall",
                                           help="Fail when lag had no progress for longer (default: stream.stall_timeout "
                                           "plus the Elasticsearch outage)."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds to wait for the last events after the faults."),
    keep: bool = typer.Option(False, "--keep", help="Keep the soak's topics and indexes."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON document."),
) -> None:
    """Fault soak: produced / indexed / dead-lettered / lost / doubled / restarts / stalls / throughput.

    Exits 1 when any event was lost or doubled, or lag went without progress for longer
    than --max-stall.
    """
    from feedback.cli.soak_run import run_soak

    settings = settings_from_context(ctx)
    plan: list[str] = []
    for item in (f.strip() for f in faults.split(",") if f.strip()):
        name, _, times = item.partition("*")
        plan += [name] * (int(times) if times else 1)
    report = run_soak(settings, events=events, faults=plan, es_outage=es_outage, timeout=timeout, keep=keep,
                      on_step=lambda step: err.print(f"[dim]soak:[/dim] {step}"))
    limit = max_stall if max_stall is not None else settings.stream.stall_timeout + es_outage
    stalled = report.longest_no_progress_s > limit
    if as_json:
        print(report.model_dump_json())
    else:
        table = Table("measure", "value", title=f"Soak: {events} events, faults {', '.join(plan) or 'none'}")
        for name, value in (
            ("produced (of which poison)", f"{report.produced} ({report.poison})"),
            ("indexed", report.indexed), ("dead-lettered", report.dead_lettered),
            ("lost", report.lost), ("doubled", report.doubled),
            ("restarts (watchdog exits)", f"{report.restarts} ({report.watchdog_exits})"),
            ("longest lag without progress, s", report.longest_no_progress_s),
            ("throughput, events/s", report.throughput_eps), ("duration, s", report.seconds),
        ):
            table.add_row(name, str(value))
        out.print(table)
        err.print(f"worker log: {report.log}")
    if not report.ok or stalled:
        raise FeedbackError(f"soak failed: lost={report.lost} doubled={report.doubled} "
                            f"longest_no_progress={report.longest_no_progress_s}s (limit {limit:.0f}s); "
                            f"see {report.log}")
