"""`feedback ingest CHANNEL PATH...` and `feedback ingest email --imap`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from feedback.cli.app import app, settings_from_context
from feedback.errors import InvalidInput, ServiceError
from feedback.schema import CHANNELS
from producers import IngestReport, expand_paths, ingest_imap, ingest_paths

__all__: list[str] = []

err = Console(stderr=True)


def _summary(report: IngestReport) -> None:
    err.print(
        f"[bold]{report.channel}[/bold] → {report.topic}: files={report.files} read={report.read} "
        f"produced=[green]{report.produced}[/green] rejected=[yellow]{report.rejected}[/yellow] "
        f"failed=[red]{report.failed}[/red] in {report.elapsed_s:.2f}s ({report.events_per_s:.0f} events/s)"
    )
    if report.rejects_file:
        err.print(f"rejects: {report.rejects_file}")


@app.command("ingest")
def ingest_command(
    ctx: typer.Context,
    channel: str = typer.Argument(..., help=f"One of: {', '.join(CHANNELS)}."),
    paths: list[Path] = typer.Argument(None, help="Files or folders (Maildir folders for email)."),
    imap: bool = typer.Option(False, "--imap", help="email only: ingest the unseen mail of the IMAP mailbox."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON document on stdout."),
    with_ids: bool = typer.Option(False, "--ids", help="Include every produced event id in the --json summary."),
) -> None:
    """Read feedback files in their real formats and produce them to <prefix>.raw.CHANNEL.

    email: .eml, mbox, Maildir folders, or --imap. chat: transcript JSON/JSONL, Intercom JSON.

    app_review: Play Console CSV, App Store Connect JSON. social: X API v2, Mastodon, plain JSONL.

    Rejected records go to a rejects JSONL file (path printed) and to the DLQ. See docs/ingest.md.
    """
    settings = settings_from_context(ctx)
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}: expected one of {', '.join(CHANNELS)}")
    if imap:
        if channel != "email":
            raise InvalidInput(f"--imap reads mail, so the channel must be email, found {channel!r}")
        if paths:
            raise InvalidInput("--imap reads the mailbox in the settings; give either --imap or PATHs, not both")
        report = ingest_imap(settings)
    else:
        if not paths:
            raise InvalidInput("no PATH given: pass files or folders to ingest, or --imap for email")
        files = list(expand_paths(channel, paths))
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("read={task.fields[read]} produced={task.fields[produced]} rejected={task.fields[rejected]}"),
            TimeElapsedColumn(),
            console=err,
            transient=as_json,
        ) as progress:
            task = progress.add_task(f"ingest {channel}", total=len(files), read=0, produced=0, rejected=0)

            def on_progress(current: IngestReport, _path: Path) -> None:
                progress.update(
                    task,
                    completed=current.files,
                    read=current.read,
                    produced=current.produced,
                    rejected=current.rejected,
                )

            report = ingest_paths(channel, files, settings, on_progress=on_progress)
            progress.update(task, completed=report.files, read=report.read, produced=report.produced,
                            rejected=report.rejected)
    if as_json:
        print(report.model_dump_json(exclude=None if with_ids else {"event_ids"}))
    else:
        _summary(report)
    if not report.ok:
        raise ServiceError(
            f"Kafka did not acknowledge {report.failed} event(s) and {report.dlq_failed} dead letter(s) after "
            f"retries; they are kept in {report.rejects_file}; check the broker and ingest those files again"
        )
